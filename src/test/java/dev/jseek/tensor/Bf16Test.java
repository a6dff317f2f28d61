package dev.jseek.tensor;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class Bf16Test {
    private static float bits(int b) { return Float.intBitsToFloat(b); }

    @Test
    void exactValuesRoundTrip() {
        for (int h = 0; h < 65536; h++) {
            float f = Bf16.toFloat((short) h);
            if (Float.isNaN(f)) assertTrue(Float.isNaN(Bf16.toFloat(Bf16.fromFloat(f))));
            else assertEquals(h, Bf16.fromFloat(f) & 0xFFFF, "bf16 " + h);
        }
    }

    @Test
    void roundsToNearestEvenAtMidpoints() {
        // 1.0 = 0x3F80_0000; next bf16 is 0x3F81. Midpoint 0x3F80_8000 -> even 0x3F80; 0x3F81_8000 -> 0x3F82
        assertEquals(0x3F80, Bf16.fromFloat(bits(0x3F808000)) & 0xFFFF);
        assertEquals(0x3F82, Bf16.fromFloat(bits(0x3F818000)) & 0xFFFF);
        assertEquals(0x3F81, Bf16.fromFloat(bits(0x3F808001)) & 0xFFFF);
        assertEquals(0x3F80, Bf16.fromFloat(bits(0x3F807FFF)) & 0xFFFF);
        assertEquals(0xBF80, Bf16.fromFloat(bits(0xBF808000)) & 0xFFFF);
        // overflow: the largest float rounds up to infinity
        assertEquals(0x7F80, Bf16.fromFloat(Float.MAX_VALUE) & 0xFFFF);
        assertEquals(0x7F7F, Bf16.fromFloat(bits(0x7F7F7FFF)) & 0xFFFF);
        // subnormals round the same way
        assertEquals(0x0000, Bf16.fromFloat(bits(0x00008000)) & 0xFFFF);
        assertEquals(0x0002, Bf16.fromFloat(bits(0x00018000)) & 0xFFFF);
    }

    @Test
    void randomMatchesDoubleRounding() {
        java.util.Random r = new java.util.Random(3);
        for (int t = 0; t < 100000; t++) {
            float f = Float.intBitsToFloat(r.nextInt());
            if (Float.isNaN(f) || Float.isInfinite(f)) continue;
            float g = Bf16.round(f);
            if (Float.isInfinite(g)) {                               // IEEE overflow: only beyond max + half ulp
                assertTrue(Math.abs((double) f) >= 0x1.FEp127 + 0x1p119, "overflow of " + f);
                continue;
            }
            // g is a bf16 value nearest to f: neighbours one bf16 ulp away are no closer
            int gb = Float.floatToRawIntBits(g) >>> 16;
            double err = Math.abs((double) g - f);
            for (int d = -1; d <= 1; d += 2) {
                float nb = Float.intBitsToFloat(((gb + d) & 0xFFFF) << 16);
                if (Float.isNaN(nb) || Float.isInfinite(nb) || Math.signum(nb) != Math.signum(g) && g != 0) continue;
                double e2 = Math.abs((double) nb - f);
                assertTrue(err < e2 || err == e2 && (gb & 1) == 0, "f=" + f + " g=" + g + " nb=" + nb);
            }
        }
    }

    @Test
    void nanIsPreserved() {
        assertTrue(Float.isNaN(Bf16.round(Float.NaN)));
        // payload only in the low 16 bits must not turn into infinity
        assertTrue(Float.isNaN(Bf16.round(bits(0x7F800001))));
        assertTrue(Float.isNaN(Bf16.round(bits(0xFF800001))));
        assertEquals(0x8000, Bf16.fromFloat(bits(0xFF800001)) & 0x8000);
        assertEquals(Float.POSITIVE_INFINITY, Bf16.round(Float.POSITIVE_INFINITY));
        assertEquals(Float.NEGATIVE_INFINITY, Bf16.round(Float.NEGATIVE_INFINITY));
    }

    @Test
    void fp16WrappersMatchJdk() {
        for (int h = 0; h < 65536; h++) {
            float f = Fp16.toFloat((short) h);
            assertEquals(Float.floatToRawIntBits(Float.float16ToFloat((short) h)), Float.floatToRawIntBits(f));
            if (!Float.isNaN(f)) assertEquals(h, Fp16.fromFloat(f) & 0xFFFF);
        }
    }
}
