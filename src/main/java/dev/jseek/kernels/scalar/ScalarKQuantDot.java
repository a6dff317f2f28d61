package dev.jseek.kernels.scalar;

import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import dev.jseek.tensor.Q4_K;
import dev.jseek.tensor.Q5_K;
import dev.jseek.tensor.Q6_K;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Scalar twin (test oracle) of {@code dev.jseek.kernels.KQuantDot} and of the K-quant decode GEMV built on it: the
 * integer codes of each weight element read one at a time from the block layout ({@link Q4_K#scale},
 * {@link Q4_K#min}, the nibbles, Q5_K's fifth bits, Q6_K's 2-bit highs and int8 scales), the integer sums
 * {@code isum = sum_j sc_j sum_i q_i a_i} and {@code msum = sum_j m_j sum_i a_i} (Q6_K: {@code sum_j sc_j sum_i (q_i
 * - 32) a_i}) formed element by element in long arithmetic, then the same float32 combination per super-block as the
 * vector kernel (see {@link #dot}). It shares no code with the vector kernel; the two agree bit for bit.
 */
public final class ScalarKQuantDot {
    private ScalarKQuantDot() {}

    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Y[m, n] (=|+=) X[m, k] W^T with every X row quantized by {@link ScalarQ8K}, as the decode GEMV does. */
    public static void linear(float[] y, int yOff, float[] x, int xOff, int m, Matrix w, boolean accumulate) {
        int n = w.rows(), k = w.cols();
        for (int t = 0; t < m; t++) {
            ScalarQ8K a = ScalarQ8K.of(x, xOff + t * k, k);
            for (int r = 0; r < n; r++) {
                float v = dot(w.dtype(), w.data(), r * w.rowBytes(), a, k / 256);
                int yi = yOff + t * n + r;
                y[yi] = accumulate ? y[yi] + v : v;
            }
        }
    }

    /**
     * The row of nb super-blocks of type t at byte p times the quantized activations a: per block {@code acc = acc +
     * ((d * dy) * isum - (dmin * dy) * msum)} (Q6_K: {@code acc = acc + (d * dy) * isum}).
     */
    public static float dot(DType t, MemorySegment s, long p, ScalarQ8K a, int nb) {
        float acc = 0f;
        int[] codes = new int[256];
        for (int b = 0; b < nb; b++, p += t.blockBytes) {
            float dy = a.d()[b];
            long isum = 0;
            if (t == DType.Q6_K) {
                codes(t, s, p, codes);
                for (int j = 0; j < 16; j++) {
                    long sub = 0;
                    for (int i = 0; i < 16; i++) sub += (long) (codes[16 * j + i] - 32) * a.q()[256 * b + 16 * j + i];
                    isum += s.get(ValueLayout.JAVA_BYTE, p + Q6_K.SCALES + j) * sub;
                }
                acc += (f16(s, p + Q6_K.D) * dy) * (float) (int) isum;
            } else {
                codes(t, s, p, codes);
                long sc = p + Q4_K.SCALES; // Q5_K has its scales at the same offset
                long msum = 0;
                for (int j = 0; j < 8; j++) {
                    long sub = 0, sumA = 0;
                    for (int i = 0; i < 32; i++) {
                        sub += (long) codes[32 * j + i] * a.q()[256 * b + 32 * j + i];
                        sumA += a.q()[256 * b + 32 * j + i];
                    }
                    isum += Q4_K.scale(s, sc, j) * sub;
                    msum += Q4_K.min(s, sc, j) * sumA;
                }
                acc += (f16(s, p) * dy) * (float) (int) isum - (f16(s, p + 2) * dy) * (float) (int) msum;
            }
        }
        return acc;
    }

    /** The 256 integer codes of the block at p (Q4_K: 0..15, Q5_K: 0..31, Q6_K: 0..63), in element order. */
    static void codes(DType t, MemorySegment s, long p, int[] out) {
        switch (t) {
            case Q4_K -> {
                for (int j = 0; j < 8; j++)
                    for (int l = 0; l < 32; l++) out[32 * j + l] = (u8(s, p + Q4_K.QS + 32L * (j / 2) + l) >> (4 * (j % 2))) & 0xF;
            }
            case Q5_K -> {
                for (int j = 0; j < 8; j++)
                    for (int l = 0; l < 32; l++)
                        out[32 * j + l] = ((u8(s, p + Q5_K.QS + 32L * (j / 2) + l) >> (4 * (j % 2))) & 0xF) | (((u8(s, p + Q5_K.QH + l) >> j) & 1) << 4);
            }
            case Q6_K -> {
                for (int h = 0; h < 2; h++)
                    for (int l = 0; l < 32; l++) {
                        int a = u8(s, p + 64L * h + l), b = u8(s, p + 64L * h + 32 + l), hb = u8(s, p + Q6_K.QH + 32L * h + l);
                        out[128 * h + l] = (a & 0xF) | ((hb & 3) << 4);
                        out[128 * h + l + 32] = (b & 0xF) | (((hb >> 2) & 3) << 4);
                        out[128 * h + l + 64] = (a >> 4) | (((hb >> 4) & 3) << 4);
                        out[128 * h + l + 96] = (b >> 4) | (((hb >> 6) & 3) << 4);
                    }
            }
            default -> throw new IllegalArgumentException(t + " is not a K-quant type");
        }
    }

    private static int u8(MemorySegment s, long p) { return s.get(ValueLayout.JAVA_BYTE, p) & 0xFF; }

    private static float f16(MemorySegment s, long p) { return Float.float16ToFloat(s.get(I16, p)); }
}
