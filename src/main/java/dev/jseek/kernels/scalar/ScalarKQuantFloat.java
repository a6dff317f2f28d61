package dev.jseek.kernels.scalar;

import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import dev.jseek.tensor.Q4_K;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Scalar twin (test oracle) of {@code dev.jseek.kernels.KQuantFloat}, the float Q4_K decode kernel: for a vector
 * width of {@code lanes} floats, lane l of each accumulator computed one element at a time with {@link Math#fma}, in
 * the kernel's order. Per super-block: the sums {@code xs_j} of x over each sub-block of 32 (float, index order);
 * {@code am_l = fma((float) m_(l % 8) * dmin, l < 8 ? xs_l : 0, am_l)}; per code group g (bytes 32 g .. 32 g + 31)
 * and lane l, {@code lo = c_l x_l}, then {@code lo = fma(c_(l + o), x_(l + o), lo)} for o = lanes, 2 lanes, .. < 32
 * (c the low nibbles, x from 64 g; {@code hi} the high nibbles, x from 64 g + 32), then {@code a0_l = fma(lo,
 * (float) sc_(2g) * d, a0_l)} and {@code a1_l = fma(hi, (float) sc_(2g+1) * d, a1_l)}. The row's value is the
 * pairwise tree (lane l += lane l + h for h = lanes / 2, .., 1) of {@code (a0_l + a1_l) - am_l}. The codes, scales
 * and mins are read one at a time through {@link Q4_K#scale} and {@link Q4_K#min}; nothing is shared with the
 * vector kernel.
 */
public final class ScalarKQuantFloat {
    private ScalarKQuantFloat() {}

    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Y[m, n] (=|+=) X[m, k] W^T for a Q4_K weight, each (row, token) by {@link #q4_k}. */
    public static void linear(float[] y, int yOff, float[] x, int xOff, int m, Matrix w, boolean accumulate, int lanes) {
        if (w.dtype() != DType.Q4_K) throw new IllegalArgumentException(w.dtype() + " is not Q4_K");
        int n = w.rows(), k = w.cols();
        for (int t = 0; t < m; t++)
            for (int r = 0; r < n; r++) {
                float v = q4_k(w.data(), r * w.rowBytes(), x, xOff + t * k, k / 256, lanes);
                int yi = yOff + t * n + r;
                y[yi] = accumulate ? y[yi] + v : v;
            }
    }

    /** The Q4_K row of nb super-blocks at byte p times x[xo ..], as the vector kernel computes it at {@code lanes} floats per vector. */
    public static float q4_k(MemorySegment s, long p, float[] x, int xo, int nb, int lanes) {
        float[] a0 = new float[lanes], a1 = new float[lanes], am = new float[lanes];
        for (int b = 0; b < nb; b++, p += Q4_K.BLOCK_BYTES, xo += 256) {
            float d = Float.float16ToFloat(s.get(I16, p)), dmin = Float.float16ToFloat(s.get(I16, p + 2));
            float[] xs = new float[8];
            for (int j = 0; j < 8; j++) {
                float t = 0f;
                for (int i = 0; i < 32; i++) t += x[xo + 32 * j + i];
                xs[j] = t;
            }
            for (int l = 0; l < lanes; l++)
                am[l] = Math.fma((float) Q4_K.min(s, p + Q4_K.SCALES, l % 8) * dmin, l < 8 ? xs[l] : 0f, am[l]);
            for (int g = 0; g < 4; g++) {
                float dLo = (float) Q4_K.scale(s, p + Q4_K.SCALES, 2 * g) * d, dHi = (float) Q4_K.scale(s, p + Q4_K.SCALES, 2 * g + 1) * d;
                for (int l = 0; l < lanes; l++) {
                    float lo = 0f, hi = 0f;
                    for (int o = 0; o < 32; o += lanes) {
                        int byteV = s.get(ValueLayout.JAVA_BYTE, p + Q4_K.QS + 32L * g + o + l) & 0xFF;
                        float cLo = byteV & 0xF, cHi = byteV >> 4;
                        float xl = x[xo + 64 * g + o + l], xh = x[xo + 64 * g + 32 + o + l];
                        lo = o == 0 ? cLo * xl : Math.fma(cLo, xl, lo);
                        hi = o == 0 ? cHi * xh : Math.fma(cHi, xh, hi);
                    }
                    a0[l] = Math.fma(lo, dLo, a0[l]);
                    a1[l] = Math.fma(hi, dHi, a1[l]);
                }
            }
        }
        float[] v = new float[lanes];
        for (int l = 0; l < lanes; l++) v[l] = (a0[l] + a1[l]) - am[l];
        for (int h = lanes / 2; h >= 1; h /= 2)
            for (int l = 0; l < h; l++) v[l] = v[l] + v[l + h];
        return v[0];
    }
}
