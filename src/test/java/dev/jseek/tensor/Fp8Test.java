package dev.jseek.tensor;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class Fp8Test {
    /** Independent decode from the format definition, in double. */
    static double e4m3Def(int code) {
        int s = (code >> 7) & 1, e = (code >> 3) & 15, m = code & 7;
        if (e == 15 && m == 7) return Double.NaN;
        double v = e == 0 ? Math.pow(2, -6) * (m / 8.0) : Math.pow(2, e - 7) * (1 + m / 8.0);
        return s == 1 ? -v : v;
    }

    static double e5m2Def(int code) {
        int s = (code >> 7) & 1, e = (code >> 2) & 31, m = code & 3;
        double v;
        if (e == 31) v = m == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
        else v = e == 0 ? Math.pow(2, -14) * (m / 4.0) : Math.pow(2, e - 15) * (1 + m / 4.0);
        return s == 1 ? -v : v;
    }

    @Test
    void all256E4m3CodesDecodeToTheFormatDefinition() {
        for (int c = 0; c < 256; c++) {
            double want = e4m3Def(c);
            float got = Fp8.e4m3ToFloat((byte) c);
            if (Double.isNaN(want)) assertTrue(Float.isNaN(got), "code " + c);
            else {
                assertEquals(want, got, 0.0, "code " + c);
                assertEquals((c & 0x80) != 0, (Float.floatToRawIntBits(got) & 0x80000000) != 0, "sign of code " + c);
            }
        }
        assertEquals(2, countNaN(true));
    }

    @Test
    void all256E5m2CodesDecodeToTheFormatDefinition() {
        for (int c = 0; c < 256; c++) {
            double want = e5m2Def(c);
            float got = Fp8.e5m2ToFloat((byte) c);
            if (Double.isNaN(want)) assertTrue(Float.isNaN(got), "code " + c);
            else {
                assertEquals(want, got, 0.0, "code " + c);
                assertEquals((c & 0x80) != 0, (Float.floatToRawIntBits(got) & 0x80000000) != 0, "sign of code " + c);
            }
        }
        assertEquals(6, countNaN(false));
    }

    private static int countNaN(boolean e4) {
        int n = 0;
        for (int c = 0; c < 256; c++) if (Float.isNaN(e4 ? Fp8.e4m3ToFloat((byte) c) : Fp8.e5m2ToFloat((byte) c))) n++;
        return n;
    }

    @Test
    void encodeOfDecodeIsIdentityForEveryNonNaNCode() {
        for (int c = 0; c < 256; c++) {
            float v = Fp8.e4m3ToFloat((byte) c);
            if (!Float.isNaN(v)) assertEquals(c, Fp8.floatToE4m3(v) & 0xFF, "e4m3 code " + c + " value " + v);
            float u = Fp8.e5m2ToFloat((byte) c);
            if (!Float.isNaN(u)) {
                assertEquals(c, Fp8.floatToE5m2(u) & 0xFF, "e5m2 code " + c + " value " + u);
                if (!Float.isInfinite(u)) assertEquals(c, Fp8.floatToE5m2Sat(u) & 0xFF, "e5m2 sat code " + c);
            }
        }
    }

    @Test
    void knownValues() {
        assertEquals(448f, Fp8.E4M3_MAX);
        assertEquals(0x7E, Fp8.floatToE4m3(448f) & 0xFF);
        assertEquals(0x01, Fp8.floatToE4m3(0x1p-9f) & 0xFF);          // smallest subnormal
        assertEquals(0x08, Fp8.floatToE4m3(0x1p-6f) & 0xFF);          // smallest normal
        assertEquals(0x38, Fp8.floatToE4m3(1f) & 0xFF);
        assertEquals(0xB8, Fp8.floatToE4m3(-1f) & 0xFF);
        assertEquals(0x80, Fp8.floatToE4m3(-0f) & 0xFF);
        assertEquals(0x00, Fp8.floatToE4m3(0f) & 0xFF);
        assertEquals(57344f, Fp8.e5m2ToFloat((byte) 0x7B));
        assertEquals(0x7B, Fp8.floatToE5m2(57344f) & 0xFF);
        assertEquals(0x01, Fp8.floatToE5m2(0x1p-16f) & 0xFF);
        assertEquals(0x3C, Fp8.floatToE5m2(1f) & 0xFF);
        assertEquals(Float.POSITIVE_INFINITY, Fp8.e5m2ToFloat((byte) 0x7C));
        assertEquals(Float.NEGATIVE_INFINITY, Fp8.e5m2ToFloat((byte) 0xFC));
    }

    @Test
    void e4m3RoundsToNearestEvenAtMidpoints() {
        // between 1 (m=0, even) and 1.125 (m=1): midpoint 1.0625 -> 1; between 1.125 and 1.25: 1.1875 -> 1.25 (m=2)
        assertEquals(1f, Fp8.e4m3ToFloat(Fp8.floatToE4m3(1.0625f)));
        assertEquals(1.25f, Fp8.e4m3ToFloat(Fp8.floatToE4m3(1.1875f)));
        assertEquals(1.125f, Fp8.e4m3ToFloat(Fp8.floatToE4m3(Math.nextUp(1.0625f))));
        assertEquals(1f, Fp8.e4m3ToFloat(Fp8.floatToE4m3(Math.nextDown(1.0625f))));
        // subnormal midpoints: 0.5*2^-9 -> 0 (even), 1.5*2^-9 -> 2*2^-9, 2.5*2^-9 -> 2*2^-9
        assertEquals(0x00, Fp8.floatToE4m3(0x1p-10f) & 0xFF);
        assertEquals(0x02, Fp8.floatToE4m3(1.5f * 0x1p-9f) & 0xFF);
        assertEquals(0x02, Fp8.floatToE4m3(2.5f * 0x1p-9f) & 0xFF);
        assertEquals(0x01, Fp8.floatToE4m3(Math.nextUp(0x1p-10f)) & 0xFF);
        // the subnormal/normal boundary: 7.5 * 2^-9 is halfway between 7*2^-9 (odd) and 8*2^-9 = 2^-6 -> 2^-6
        assertEquals(0x08, Fp8.floatToE4m3(7.5f * 0x1p-9f) & 0xFF);
        // every midpoint between consecutive positive finite codes rounds to the even code
        for (int c = 0; c < 0x7E; c++) {
            double lo = e4m3Def(c), hi = e4m3Def(c + 1), mid = (lo + hi) / 2;
            float f = (float) mid;
            assertEquals(mid, f, 0.0);                                   // exactly representable
            int want = (c & 1) == 0 ? c : c + 1;
            assertEquals(want, Fp8.floatToE4m3(f) & 0xFF, "midpoint after code " + c);
            assertEquals(want | 0x80, Fp8.floatToE4m3(-f) & 0xFF, "negative midpoint after code " + c);
        }
    }

    @Test
    void e5m2RoundsToNearestEvenAtMidpoints() {
        for (int c = 0; c < 0x7B; c++) {
            double mid = (e5m2Def(c) + e5m2Def(c + 1)) / 2;
            int want = (c & 1) == 0 ? c : c + 1;
            assertEquals(want, Fp8.floatToE5m2((float) mid) & 0xFF, "midpoint after code " + c);
        }
    }

    @Test
    void e4m3SaturatesAndKeepsNaN() {
        assertEquals(0x7E, Fp8.floatToE4m3(449f) & 0xFF);
        assertEquals(0x7E, Fp8.floatToE4m3(464f) & 0xFF);             // would round to 480 = the NaN code
        assertEquals(0x7E, Fp8.floatToE4m3(1e30f) & 0xFF);
        assertEquals(0x7E, Fp8.floatToE4m3(Float.POSITIVE_INFINITY) & 0xFF);
        assertEquals(0xFE, Fp8.floatToE4m3(Float.NEGATIVE_INFINITY) & 0xFF);
        assertEquals(0xFE, Fp8.floatToE4m3(-500f) & 0xFF);
        assertTrue(Float.isNaN(Fp8.e4m3ToFloat(Fp8.floatToE4m3(Float.NaN))));
        assertEquals(0x7F, Fp8.floatToE4m3(Float.NaN) & 0x7F);
        // tiny values flush to signed zero
        assertEquals(0x00, Fp8.floatToE4m3(1e-10f) & 0xFF);
        assertEquals(0x80, Fp8.floatToE4m3(-1e-10f) & 0xFF);
    }

    @Test
    void e5m2OverflowsToInfinityOrSaturates() {
        assertEquals(0x7B, Fp8.floatToE5m2(Math.nextDown(61440f)) & 0xFF);
        assertEquals(0x7C, Fp8.floatToE5m2(61440f) & 0xFF);             // midpoint, odd mantissa -> up = inf
        assertEquals(0x7C, Fp8.floatToE5m2(1e6f) & 0xFF);
        assertEquals(0xFC, Fp8.floatToE5m2(Float.NEGATIVE_INFINITY) & 0xFF);
        assertEquals(0x7B, Fp8.floatToE5m2Sat(61440f) & 0xFF);
        assertEquals(0x7B, Fp8.floatToE5m2Sat(Float.POSITIVE_INFINITY) & 0xFF);
        assertEquals(0xFB, Fp8.floatToE5m2Sat(-1e9f) & 0xFF);
        assertTrue(Float.isNaN(Fp8.e5m2ToFloat(Fp8.floatToE5m2(Float.NaN))));
        assertTrue(Float.isNaN(Fp8.e5m2ToFloat(Fp8.floatToE5m2Sat(Float.NaN))));
    }

    @Test
    void randomFloatsRoundToANearestCode() {
        java.util.Random r = new java.util.Random(7);
        for (int t = 0; t < 20000; t++) {
            float f = (float) (r.nextGaussian() * Math.pow(2, r.nextInt(30) - 15));
            for (boolean e4 : new boolean[] {true, false}) {
                int code = (e4 ? Fp8.floatToE4m3(f) : Fp8.floatToE5m2(f)) & 0xFF;
                double got = e4 ? e4m3Def(code) : e5m2Def(code);
                double max = e4 ? 448 : 57344;
                if (Math.abs(f) > max) continue;
                double best = Double.MAX_VALUE;
                for (int c = 0; c < 256; c++) {
                    double v = e4 ? e4m3Def(c) : e5m2Def(c);
                    if (!Double.isNaN(v) && !Double.isInfinite(v)) best = Math.min(best, Math.abs(v - f));
                }
                assertEquals(best, Math.abs(got - f), 0.0, (e4 ? "e4m3 " : "e5m2 ") + f);
            }
        }
    }
}
