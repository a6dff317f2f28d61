package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.parallel.ThreadRanks;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Data parallel with ZeRO-1 on thread ranks (tiny MoE + MTP model, 5 steps) against the 1-rank {@link Trainer} with
 * the same global batch. Not bitwise: the 1-rank step accumulates its second micro-batch's gradient into the first
 * inside the weight-gradient GEMMs (C += dY^T X), while each DP rank computes its gradient from zero and the ranks'
 * gradients are then added, a different FP32 rounding order. So the oracle's tolerance is 1e-6 relative: losses per
 * step, the first step's gradient norm, and the final weights (L2 of the difference over L2 of the weights, and the
 * largest difference over the largest weight; single near-zero weights can differ by more than 1e-6 of themselves,
 * since AdamW's first steps move every weight by about lr whatever the gradient's size). Bitwise where the order
 * allows: a 1-rank group equals the plain trainer, and a DP2 checkpoint resumed on 2 ranks continues bit for bit.
 */
class DataParallelTest {
    @TempDir Path tmp;
    static final int STEPS = 5;

    record Run(List<StepMetrics> steps, float[] params) {}

    static TrainerConfig cfg(int sequences, Path ck) { return cfg(sequences, ck, 3); }

    /** With checkpoints in {@code ck} (null: none) every {@code every} steps. */
    static TrainerConfig cfg(int sequences, Path ck, long every) {
        TrainerConfig.Builder b = TrainerConfig.builder(LrSchedule.parse("0; linear 2s 3e-3; constant 20t; cosine 300t 3e-4"))
                .batch(BatchRamp.fixed(sequences, TrainModelLoopTest.ROWS)).seed(5).gamma(LrSchedule.constant(0.01))
                .lambda(LrSchedule.constant(0.3)).configJson(Harness.tinyMoe().toJson()).warn(w -> { throw new AssertionError(w); });
        if (ck != null) b.checkpoints(ck, every, 5);
        return b.build();
    }

    static Run single(int sequences, Path ck, Path resume, long steps) {
        TrainModelTrainable m = TrainModelLoopTest.model(1);
        List<StepMetrics> l = new ArrayList<>();
        try (Trainer<TokenBatch> t = new Trainer<>(m, new TrainModelLoopTest.PatternSource(Harness.tinyMoe().vocabSize()), cfg(sequences, ck))) {
            if (resume != null) t.resume(resume);
            t.addListener(l::add);
            t.train(steps);
        }
        return new Run(l, m.params().clone());
    }

    static List<Run> parallel(int ranks, int sequences, Path ck, Path resume) {
        return ThreadRanks.run(ranks, TimeUnit.SECONDS.toNanos(120), c -> {
            TrainModelTrainable m = TrainModelLoopTest.model(1);
            List<StepMetrics> l = new ArrayList<>();
            try (Trainer<TokenBatch> t = new Trainer<>(m, new TrainModelLoopTest.PatternSource(Harness.tinyMoe().vocabSize()), cfg(sequences, ck), c)) {
                if (resume != null) t.resume(resume);
                t.addListener(l::add);
                t.train(STEPS);
            }
            return new Run(l, m.params().clone());
        });
    }

    static void assertClose(Run ref, Run dp) {
        assertEquals(ref.steps().size(), dp.steps().size());
        for (int s = 0; s < ref.steps().size(); s++) {
            StepLosses a = ref.steps().get(s).losses(), b = dp.steps().get(s).losses();
            assertEquals(a.total(), b.total(), 1e-6 * Math.abs(a.total()), "step " + (s + 1) + " loss");
            assertEquals(a.main(), b.main(), 1e-6 * Math.abs(a.main()), "step " + (s + 1) + " main CE");
            assertEquals(a.mtp(), b.mtp(), 1e-6 * Math.abs(a.mtp()), "step " + (s + 1) + " MTP CE");
        }
        double n0 = ref.steps().getFirst().gradNorm();
        assertEquals(n0, dp.steps().getFirst().gradNorm(), 1e-6 * n0, "first gradient norm");
        assertArrayEquals(ref.steps().getFirst().expertLoad(), dp.steps().getFirst().expertLoad(), "first step's expert loads, summed over ranks");
        float[] p = ref.params(), q = dp.params();
        double num = 0, den = 0, maxDiff = 0, maxW = 0;
        for (int i = 0; i < p.length; i++) {
            double d = (double) p[i] - q[i];
            num += d * d;
            den += (double) p[i] * p[i];
            maxDiff = Math.max(maxDiff, Math.abs(d));
            maxW = Math.max(maxW, Math.abs(p[i]));
        }
        assertTrue(Math.sqrt(num / den) <= 1e-6, "relative L2 difference of the weights " + Math.sqrt(num / den));
        assertTrue(maxDiff <= 1e-6 * maxW, "largest weight difference " + maxDiff + " of largest weight " + maxW);
    }

    static void assertBitwise(Run a, Run b) {
        assertEquals(a.steps().size(), b.steps().size());
        for (int s = 0; s < a.steps().size(); s++) {
            StepMetrics x = a.steps().get(s), y = b.steps().get(s);
            assertEquals(x.losses(), y.losses(), "step " + x.step());
            assertEquals(Double.doubleToRawLongBits(x.gradNorm()), Double.doubleToRawLongBits(y.gradNorm()), "step " + x.step() + " norm");
            assertArrayEquals(x.expertLoad(), y.expertLoad());
        }
        assertArrayEquals(a.params(), b.params());
    }

    @Test void dp2AndDp4EqualOneRankAndCheckpointsResumeOnAnyLayout() {
        Path ck = tmp.resolve("ck");
        List<Run> dp2 = parallel(2, 4, ck, null);
        assertArrayEquals(dp2.get(0).params(), dp2.get(1).params(), "ranks hold the same parameters");
        Run ref = single(4, null, null, STEPS);
        assertClose(ref, dp2.get(0));
        assertBitwise(ref, parallel(1, 4, null, null).getFirst());          // a 1-rank group is the plain trainer, bit for bit
        // the DP2 checkpoint of step 3 resumed on 2 ranks (bitwise) and on 1 rank (within tolerance)
        Path step3 = ck.resolve(TrainCheckpoint.dirName(3));
        Run tail = new Run(dp2.get(0).steps().subList(3, STEPS), dp2.get(0).params());
        assertBitwise(tail, parallel(2, 4, tmp.resolve("ck2"), step3).getFirst());
        Run one = single(4, tmp.resolve("ck1"), step3, STEPS);
        assertEquals(2, one.steps().size());
        assertClose(tail, one);
        List<Run> dp4 = parallel(4, 8, null, null);
        for (Run r : dp4) assertArrayEquals(dp4.get(0).params(), r.params());
        assertClose(single(8, null, null, STEPS), dp4.get(0));
    }

    @Test void optimizerShardsGatherOnRankZeroAndSliceBack() {
        List<TrainTensor> ts = List.of(TrainTensor.of("a", 0, new int[] {10}, true), TrainTensor.of("b", 10, new int[] {3, 10}, true),
                TrainTensor.of("c", 40, new int[] {20}, false), TrainTensor.of("d", 60, new int[] {4, 10}, true));
        for (boolean bf16 : new boolean[] {false, true}) {
            AdamW.Config cfg = AdamW.Config.deepseekV3().withBf16Moments(bf16);
            int eb = bf16 ? 2 : 4;
            ThreadRanks.run(3, TimeUnit.SECONDS.toNanos(60), c -> {
                ZeroShard z = new ZeroShard(c, ts, 100, cfg);
                var m = z.optimizer().firstMoment();
                var v = z.optimizer().secondMoment();
                for (long i = 0; i < m.byteSize(); i++) {                  // byte j of element (from + i / eb) of the arena
                    m.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) (z.from() * eb + i));
                    v.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) ~(z.from() * eb + i));
                }
                AdamW full = z.gatherOptimizer();
                if (c.rank() != 0) {
                    assertNull(full);
                    return null;
                }
                assertEquals(100L * eb, full.firstMoment().byteSize());
                for (long i = 0; i < 100L * eb; i++) {
                    assertEquals((byte) i, full.firstMoment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, i));
                    assertEquals((byte) ~i, full.secondMoment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, i));
                }
                return null;
            });
            ThreadRanks.run(3, TimeUnit.SECONDS.toNanos(60), c -> {      // a full optimizer sliced back into shards
                AdamW full = new AdamW(cfg, 100, ts);
                for (long i = 0; i < 100L * eb; i++) full.firstMoment().set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) (3 * i));
                full.setStep(7);
                ZeroShard z = new ZeroShard(c, ts, 100, cfg);
                z.loadFrom(full);
                assertEquals(7, z.optimizer().step());
                for (long i = 0; i < z.optimizer().firstMoment().byteSize(); i++)
                    assertEquals((byte) (3 * (z.from() * eb + i)), z.optimizer().firstMoment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, i));
                return null;
            });
        }
    }

    @Test void shardsCutAtTensorBoundaries() {
        List<TrainTensor> ts = List.of(TrainTensor.of("a", 0, new int[] {10}, true), TrainTensor.of("b", 10, new int[] {30}, true),
                TrainTensor.of("c", 40, new int[] {20}, true), TrainTensor.of("d", 60, new int[] {40}, true));
        assertArrayEquals(new int[] {0, 40, 100}, ZeroShard.boundaries(ts, 100, 2));
        assertArrayEquals(new int[] {0, 40, 60, 100}, ZeroShard.boundaries(ts, 100, 3));
        assertArrayEquals(new int[] {0, 10, 40, 60, 100}, ZeroShard.boundaries(ts, 100, 4));
        assertArrayEquals(new int[] {0, 100}, ZeroShard.boundaries(ts, 100, 1));
    }
}
