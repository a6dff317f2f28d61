package dev.jseek.kernels.scalar;

import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;

/**
 * Scalar twin (test oracle) of {@code dev.jseek.kernels.HalfGemv}: Y[m, n] (=|+=) X[m, k] W^T for BF16/F16/F32 weights,
 * one (row, token) dot at a time in the kernel's documented order, so its results are bit for bit the kernel's:
 * {@code lanes} partial sums, partial sum l taking the products of columns l, l + lanes, l + 2 lanes, ... by
 * {@link Math#fma} from zero over the whole multiples of {@code lanes}; the partial sums added by the pairwise tree
 * (sum l += sum l + lanes/2, then + lanes/4, ...); then the last k mod lanes products added one at a time in
 * float. Elements are decoded by {@link ScalarWeightRows} (shares no code with the vector kernel).
 */
public final class ScalarHalfGemv {
    private ScalarHalfGemv() {}

    public static void linear(float[] y, int yOff, float[] x, int xOff, int m, Matrix w, boolean accumulate, int lanes) {
        if (w.dtype() != DType.BF16 && w.dtype() != DType.F16 && w.dtype() != DType.F32 && w.dtype() != DType.Q8_0)
            throw new IllegalArgumentException(w.dtype() + " is not BF16, F16, F32 or Q8_0");
        int n = w.rows(), k = w.cols(), kv = k - k % lanes;
        float[] row = new float[k];
        float[] acc = new float[lanes];
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < k; c++) row[c] = ScalarWeightRows.get(w, r, c);
            for (int t = 0; t < m; t++) {
                int xo = xOff + t * k;
                java.util.Arrays.fill(acc, 0f);
                for (int c = 0; c < kv; c++) acc[c % lanes] = Math.fma(row[c], x[xo + c], acc[c % lanes]);
                for (int h = lanes / 2; h >= 1; h /= 2)
                    for (int l = 0; l < h; l++) acc[l] = acc[l] + acc[l + h];
                float s = acc[0];
                for (int c = kv; c < k; c++) s += row[c] * x[xo + c];
                int yi = yOff + t * n + r;
                y[yi] = accumulate ? y[yi] + s : s;
            }
        }
    }

    /**
     * Twin of {@code HalfGemv.transposedRows}: y[yOff + c] = Σ_p x[xOff + p] w[r0 + p][c] for every column c, from zero
     * by one {@link Math#fma} per p, p ascending.
     */
    public static void transposedRows(float[] y, int yOff, float[] x, int xOff, Matrix w, int r0, int n) {
        for (int c = 0; c < w.cols(); c++) {
            float a = 0f;
            for (int p = 0; p < n; p++) a = Math.fma(x[xOff + p], ScalarWeightRows.get(w, r0 + p, c), a);
            y[yOff + c] = a;
        }
    }
}
