package dev.jseek.kernels.scalar;

import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import dev.jseek.tensor.QuantBlocks;

/**
 * Scalar twin (test oracle) of {@code dev.jseek.kernels.QuantGemv}: Y[m, n] (=|+=) X[m, k] W^T for a weight in a ggml
 * block type, one element at a time from the scalar reference decoders ({@link QuantBlocks}), summed in double. It
 * shares no code with the fused kernel (which never materializes the weights and scales partial sums per block).
 */
public final class ScalarQuantGemv {
    private ScalarQuantGemv() {}

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
