package dev.jseek.kernels.scalar;

import dev.jseek.tensor.KQuantFit;

/**
 * Scalar twin (test oracle) of {@code dev.jseek.kernels.Q8K}: ggml's {@code quantize_row_q8_K_ref} written out
 * element by element (first value of largest magnitude, {@code iscale = -127 / max}, {@code q = min(127,
 * nearest_int(iscale * x))}, {@code d = 1 / iscale}), with the same rule for blocks that hold a NaN or an infinity
 * (d = NaN, zero codes) or whose scale {@code -127 / max} overflows (d = 0, zero codes), and code sums per 32 and
 * per 16 values.
 *
 * @param q      codes, one per element
 * @param d      scale per block of 256
 * @param bsum   code sums per 32 elements
 * @param bsum16 code sums per 16 elements
 */
public record ScalarQ8K(int[] q, float[] d, int[] bsum, int[] bsum16) {
    public static ScalarQ8K of(float[] x, int xo, int k) {
        int nb = k / 256;
        int[] q = new int[k], bsum = new int[k / 32], bsum16 = new int[k / 16];
        float[] d = new float[nb];
        for (int b = 0; b < nb; b++) {
            int o = xo + 256 * b;
            boolean finite = true;
            for (int j = 0; j < 256; j++) finite &= Float.isFinite(x[o + j]);
            if (!finite) {
                d[b] = Float.NaN;
                continue;
            }
            float max = 0, amax = 0;
            for (int j = 0; j < 256; j++) {
                float ax = Math.abs(x[o + j]);
                if (ax > amax) {
                    amax = ax;
                    max = x[o + j];
                }
            }
            float iscale = -127f / max;
            if (amax == 0 || Float.isInfinite(iscale)) continue;   // d = 0, zero codes
            for (int j = 0; j < 256; j++) q[256 * b + j] = Math.min(127, KQuantFit.nearestInt(iscale * x[o + j]));
            for (int g = 0; g < 8; g++) {
                int s = 0;
                for (int j = 0; j < 32; j++) s += q[256 * b + 32 * g + j];
                bsum[8 * b + g] = s;
            }
            for (int g = 0; g < 16; g++)
                for (int j = 0; j < 16; j++) bsum16[16 * b + g] += q[256 * b + 16 * g + j];
            d[b] = 1 / iscale;
        }
        return new ScalarQ8K(q, d, bsum, bsum16);
    }
}
