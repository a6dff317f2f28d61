package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class ScheduleTest {
    static final long T = 1_000_000_000_000L; // 1T tokens

    @Test
    void deepseekV3LearningRateBreakpoints() {
        LrSchedule lr = LrSchedule.deepseekV3Lr();
        assertEquals(2.2e-4 / 2000, lr.at(1, 4096), 1e-20);
        assertEquals(1.1e-4, lr.at(1000, 1000L * 4096), 1e-19);
        assertEquals(2.2e-4, lr.at(2000, 2000L * 4096 * 3072));           // end of warmup: exact
        assertEquals(2.2e-4, lr.at(2001, 2001L * 4096 * 3072));
        assertEquals(2.2e-4, lr.at(500_000, 10 * T));                     // last step of the constant stage
        assertEquals(2.2e-4, lr.at(500_001, 10 * T + 1), 1e-16);          // cosine starts at the peak
        double mid = lr.at(600_000, 12_150_000_000_000L);                 // halfway through the cosine
        assertEquals((2.2e-4 + 2.2e-5) / 2, mid, 1e-18);
        double q = lr.at(600_000, 11_075_000_000_000L);                   // a quarter: cos(pi/4)
        assertEquals(2.2e-5 + (2.2e-4 - 2.2e-5) * 0.5 * (1 + Math.sqrt(0.5)), q, 1e-18);
        assertEquals(2.2e-5, lr.at(700_000, 14_300_000_000_000L));        // end of cosine: exact floor
        assertEquals(2.2e-5, lr.at(700_001, 14_300_000_000_001L));
        assertEquals(2.2e-5, lr.at(700_002, 14_633_000_000_000L));
        assertEquals(7.3e-6, lr.at(700_003, 14_633_000_000_001L));
        assertEquals(7.3e-6, lr.at(800_000, 14_800_000_000_000L));
        assertEquals(7.3e-6, lr.at(900_000, 20 * T), "after the last stage the last value holds");
    }

    @Test
    void scaledShapeForSmallRuns() {
        LrSchedule lr = LrSchedule.deepseekV3Lr(1e-3, 10, 14_800_000); // 14.8M tokens: boundaries / 1e6
        assertEquals(1e-4, lr.at(1, 100), 1e-18);
        assertEquals(1e-3, lr.at(10, 1000));
        assertEquals(1e-3, lr.at(11, 10_000_000));
        assertEquals(1e-4, lr.at(12, 14_300_000), 1e-18);
        assertEquals(7.3e-6 / 2.2e-4 * 1e-3, lr.at(13, 14_700_000), 1e-18);
    }

    @Test
    void gammaAndLambda() {
        LrSchedule g = LrSchedule.deepseekV3Gamma(LrSchedule.V3_TOKENS);
        assertEquals(0.001, g.at(1, 1));
        assertEquals(0.001, g.at(9, 14_300_000_000_000L));
        assertEquals(0.0, g.at(9, 14_300_000_000_001L));
        assertEquals(0.0, g.at(9, 15 * T));
        LrSchedule l = LrSchedule.deepseekV3Lambda(LrSchedule.V3_TOKENS);
        assertEquals(0.3, l.at(1, 1));
        assertEquals(0.3, l.at(1, 10 * T));
        assertEquals(0.1, l.at(1, 10 * T + 1));
        assertEquals(0.1, l.at(1, 14_800_000_000_000L));
    }

    @Test
    void stepUnitsPiecewiseConstantAndLinear() {
        LrSchedule s = LrSchedule.builder(0.5).constant(LrSchedule.Unit.STEPS, 3).linear(LrSchedule.Unit.STEPS, 7, 0.1)
                .cosine(LrSchedule.Unit.STEPS, 11, 0.0).build();
        assertEquals(0.5, s.at(0, 0));
        assertEquals(0.5, s.at(3, 0));
        assertEquals(0.4, s.at(4, 0), 1e-15);
        assertEquals(0.3, s.at(5, 0), 1e-15);
        assertEquals(0.1, s.at(7, 0));
        assertEquals(0.05, s.at(9, 0), 1e-15);
        assertEquals(0.0, s.at(11, 0));
        assertEquals(0.0, s.at(100, 0));
        assertEquals(0.25, LrSchedule.constant(0.25).at(12345, 678));
    }

    @Test
    void textFormRoundTripsAndRejectsMistakes() {
        String text = "0; linear 2000s 2.2e-4; constant 10e12t; cosine 14.3e12t 2.2e-5; constant 14.633e12t; constant 14.8e12t 7.3e-6";
        LrSchedule p = LrSchedule.parse(text);
        assertEquals(LrSchedule.deepseekV3Lr(), p);
        assertEquals(p, LrSchedule.parse(p.toString()));
        assertMessage("stage 1 end '2000x' must end in s (steps) or t (tokens)", () -> LrSchedule.parse("0; linear 2000x 1e-3"));
        assertMessage("shape 'ramp'", () -> LrSchedule.parse("0; ramp 20s 1e-3"));
        assertMessage("needs a target value", () -> LrSchedule.parse("0; cosine 20s"));
        assertMessage("not after the previous steps boundary", () -> LrSchedule.parse("0; linear 20s 1; constant 10s"));
        assertMessage("must start where the previous stage ends", () -> LrSchedule.parse("0; linear 20s 1; cosine 100t 0"));
        assertMessage("start value 'abc' is not a number", () -> LrSchedule.parse("abc; constant 1s"));
    }

    private static void assertMessage(String part, org.junit.jupiter.api.function.Executable ex) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, ex);
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }

    @Test
    void batchRampBreakpoints() {
        BatchRamp r = BatchRamp.deepseekV3(1);
        assertEquals(3072, r.sequences(0));
        assertEquals(3072 + 6144, r.sequences(234_500_000_000L));
        assertEquals(15359, r.sequences(468_999_999_999L));
        assertEquals(15360, r.sequences(469_000_000_000L));
        assertEquals(15360, r.sequences(14 * T));
        BatchRamp g = BatchRamp.deepseekV3(512);
        assertEquals(3072, g.sequences(0));
        assertEquals(3072, g.sequences(19_000_000_000L));           // +497 -> rounds down to +0
        assertEquals(3584, g.sequences(19_600_000_000L));           // +512.9 -> +512
        assertEquals(14848, g.sequences(468_999_999_999L));
        assertEquals(30, g.microBatches(469_000_000_000L));
        assertEquals(6, g.microBatches(0));
        BatchRamp f = BatchRamp.fixed(8, 2);
        assertEquals(8, f.sequences(0));
        assertEquals(4, f.microBatches(1L << 50));
        assertThrows(IllegalArgumentException.class, () -> new BatchRamp(3, 8, 10, 2));
        assertThrows(IllegalArgumentException.class, () -> new BatchRamp(8, 4, 10, 2));
    }
}
