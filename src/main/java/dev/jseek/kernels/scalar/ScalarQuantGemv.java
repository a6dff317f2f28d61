package dev.jseek.kernels.scalar;

import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import dev.jseek.tensor.QuantBlocks;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Scalar twin (test oracle) of {@code dev.jseek.kernels.QuantGemv}: Y[m, n] (=|+=) X[m, k] W^T for a weight in a ggml
 * block type, one element at a time from the scalar reference decoders ({@link QuantBlocks}), summed in double (a
 * bound oracle). It shares no code with the fused kernel (which never materializes the weights and scales partial
 * sums per block). For Q8_0 also that kernel's own order of operations, bit for bit ({@link #q8_0}).
 */
public final class ScalarQuantGemv {
    private ScalarQuantGemv() {}

    /**
     * The Q8_0 row dot of the fused kernel bit for bit, in scalar code: with L float lanes, per 32-block the lanes'
     * partial products t[l] = c[l] * x[l], then t[l] = fma(c[j + l], x[j + l], t[l]) for j = L, 2L, ... < 32, then
     * acc[l] = fma(t[l], d, acc[l]) (d the block's binary16 scale); the lanes summed by the pairwise tree (lanes l < h
     * get lane l + lane l + h for h = L/2, ..., 1; {@code tree}) or in lane order ((0 + acc[0]) + acc[1]) + ... (not
     * {@code tree}). The row is nb blocks from byte p of s, x from xo.
     */
    public static float q8_0(MemorySegment s, long p, float[] x, int xo, int nb, int lanes, boolean tree) {
        float[] acc = new float[lanes], t = new float[lanes];
        for (int b = 0; b < nb; b++, p += 34, xo += 32) {
            float d = Float.float16ToFloat(s.get(I16, p));
            for (int l = 0; l < lanes; l++) t[l] = s.get(ValueLayout.JAVA_BYTE, p + 2 + l) * x[xo + l];
            for (int j = lanes; j < 32; j += lanes)
                for (int l = 0; l < lanes; l++) t[l] = Math.fma((float) s.get(ValueLayout.JAVA_BYTE, p + 2 + j + l), x[xo + j + l], t[l]);
            for (int l = 0; l < lanes; l++) acc[l] = Math.fma(t[l], d, acc[l]);
        }
        if (!tree) {
            float sum = 0f;
            for (int l = 0; l < lanes; l++) sum += acc[l];
            return sum;
        }
        for (int h = lanes / 2; h >= 1; h /= 2)
            for (int l = 0; l < h; l++) acc[l] += acc[l + h];
        return acc[0];
    }

    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    /** Y[m, n] (=|+=) X[m, k] W^T for a Q8_0 weight by {@link #q8_0} per (row, token): the fused kernel's bits. */
    public static void linearQ8_0(float[] y, int yOff, float[] x, int xOff, int m, Matrix w, boolean accumulate, int lanes, boolean tree) {
        if (w.dtype() != DType.Q8_0) throw new IllegalArgumentException(w.dtype() + " is not Q8_0");
        int n = w.rows(), k = w.cols();
        for (int tk = 0; tk < m; tk++)
            for (int r = 0; r < n; r++) {
                float v = q8_0(w.data(), r * w.rowBytes(), x, xOff + tk * k, k / 32, lanes, tree);
                int yi = yOff + tk * n + r;
                y[yi] = accumulate ? y[yi] + v : v;
            }
    }

    public static void linear(float[] y, int yOff, float[] x, int xOff, int m, Matrix w, boolean accumulate) {
        DType t = w.dtype();
        int n = w.rows(), k = w.cols(), bs = t.blockSize;
        float[] row = new float[k];
        for (int r = 0; r < n; r++) {
            for (int b = 0; b < k / bs; b++)
                QuantBlocks.dequantizeBlock(t, w.data(), r * w.rowBytes() + (long) b * t.blockBytes, row, b * bs);
            for (int tk = 0; tk < m; tk++) {
                double s = 0;
                for (int c = 0; c < k; c++) s += (double) row[c] * x[xOff + tk * k + c];
                int yi = yOff + tk * n + r;
                y[yi] = accumulate ? (float) (y[yi] + s) : (float) s;
            }
        }
    }
}
