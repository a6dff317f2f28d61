package dev.jseek.kernels.scalar;

import dev.jseek.tensor.Matrix;

/**
 * Scalar twins (test oracles) of {@link dev.jseek.kernels.Gemm}: plain triple loops with double accumulation,
 * same contracts. Slow; tests and glue only.
 */
public final class ScalarGemm {
    private ScalarGemm() {}

    /** Y[m, w.rows] (=|+=) X[m, w.cols] * W^T, as {@link dev.jseek.kernels.Gemm#linear}. */
    public static void linear(float[] y, int yOff, float[] x, int xOff, int m, Matrix w, boolean accumulate) {
        int n = w.rows(), k = w.cols();
        float[] row = new float[k];
        for (int j = 0; j < n; j++) {
            ScalarWeightRows.decodeRow(w, j, row, 0);
            for (int i = 0; i < m; i++) {
                double s = 0;
                int xo = xOff + i * k;
                for (int p = 0; p < k; p++) s += (double) x[xo + p] * row[p];
                int yo = yOff + i * n + j;
                y[yo] = accumulate ? y[yo] + (float) s : (float) s;
            }
        }
    }

    /** C = alpha * op(A) * op(B) + beta * C, as {@link dev.jseek.kernels.Gemm#sgemm}. */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                             float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                             float beta, float[] c, int cOff, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    float av = transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
                    float bv = transB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
                    s += (double) av * bv;
                }
                int ci = cOff + i * ldc + j;
                c[ci] = (float) (alpha * s + (beta == 0f ? 0f : beta * c[ci]));
            }
        }
    }
}
