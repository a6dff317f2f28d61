package dev.jseek.io;

import dev.jseek.tensor.DType;

/**
 * 256-entry FP8 decode tables (spec A.3): E4M3FN (bias 7, no infinities, only S.1111.111 is NaN, max 448) and
 * E5M2 (bias 15, IEEE-like infinities and NaNs). Package-private; the lead may merge it with the tensor package's
 * conversions.
 */
final class Fp8Tables {
    private Fp8Tables() {}

    private static final float[] E4M3 = new float[256], E5M2 = new float[256];

    static {
        for (int v = 0; v < 256; v++) {
            float sign = (v & 0x80) != 0 ? -1f : 1f;
            int e = (v >> 3) & 0xF, m = v & 7;
            E4M3[v] = (e == 15 && m == 7) ? Float.NaN
                    : sign * (e == 0 ? Math.scalb(m / 8f, -6) : Math.scalb(1 + m / 8f, e - 7));
            int e5 = (v >> 2) & 0x1F, m5 = v & 3;
            E5M2[v] = e5 == 31 ? (m5 == 0 ? sign * Float.POSITIVE_INFINITY : Float.NaN)
                    : sign * (e5 == 0 ? Math.scalb(m5 / 4f, -14) : Math.scalb(1 + m5 / 4f, e5 - 15));
        }
    }

    /** The decode table of an FP8 dtype (do not modify). */
    static float[] decodeTable(DType d) {
        return switch (d) {
            case F8_E4M3 -> E4M3;
            case F8_E5M2 -> E5M2;
            default -> throw new IllegalArgumentException("not an FP8 dtype: " + d);
        };
    }
}
