package dev.jseek.kernels;

import dev.jseek.tensor.Matrix;

/**
 * Matrix products. {@link #linear} is the Linear layer (any weight dtype, FP8 with 128x128 block scales,
 * docs/architecture.md §2.3); {@link #sgemm} is the general F32 GEMM on row-major arrays used by training (Fprop, Dgrad, Wgrad via the
 * transpose flags). Both are multi-threaded on the {@link Parallel} pool and vectorized:
 *
 * <ul>
 *   <li>{@link #sgemm} and {@link #linear} with more than {@link #GEMV_MAX_M} tokens run the packed, cache-blocked
 *       {@link GemmDriver} with the 12 x 32 {@link MicroKernel}; weights are decoded while their panels are packed
 *       (never a dequantized copy of a whole weight).</li>
 *   <li>{@link #linear} with up to {@link #GEMV_MAX_M} tokens runs {@link Gemv}, which streams every weight row
 *       once.</li>
 * </ul>
 * Scalar twins: {@link dev.jseek.kernels.scalar.ScalarGemm}.
 */
public final class Gemm {
    private Gemm() {}

    /**
     * Token counts up to this use the streaming GEMV path in {@link #linear}; larger ones the packed GEMM (system
     * property {@code jseek.gemvMaxM}; 64 measured as the crossover at 7168x2112 on the development machine).
     */
    public static final int GEMV_MAX_M = Integer.getInteger("jseek.gemvMaxM", 64);

    /**
     * Y[m, w.rows] (=|+=) X[m, w.cols] * W^T. {@code x} is row-major with row stride w.cols starting at xOff,
     * {@code y} row-major with row stride w.rows starting at yOff. FP8 weights use their 128x128 block scales.
     */
    public static void linear(float[] y, int yOff, float[] x, int xOff, int m, Matrix w, boolean accumulate) {
        int n = w.rows(), k = w.cols();
        if (m < 0) throw new IllegalArgumentException("m = " + m);
        checkExtent("x", x, xOff, m, k, k);
        checkExtent("y", y, yOff, m, n, n);
        if (m == 0 || n == 0) return;
        if (k == 0) {
            if (!accumulate) for (int i = 0; i < m; i++) java.util.Arrays.fill(y, yOff + i * n, yOff + i * n + n, 0f);
            return;
        }
        if (m <= GEMV_MAX_M) Gemv.linear(y, yOff, x, xOff, m, w, accumulate);
        else GemmDriver.gemm(m, n, k, 1f, false, x, xOff, k, GemmDriver.weightB(w), accumulate ? 1f : 0f, y, yOff, n);
    }

    /**
     * C = alpha * op(A) * op(B) + beta * C, all row-major F32. op(A) is [m, k] (A is [k, m] when transA), op(B) is
     * [k, n] (B is [n, k] when transB). lda/ldb/ldc are row strides in elements. beta == 0 ignores C's old values.
     */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                             float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                             float beta, float[] c, int cOff, int ldc) {
        if (m < 0 || n < 0 || k < 0) throw new IllegalArgumentException("negative shape m=" + m + " n=" + n + " k=" + k);
        if (m == 0 || n == 0) return;
        checkExtent("c", c, cOff, m, n, ldc);
        if (k == 0 || alpha == 0f) {
            for (int i = 0; i < m; i++)
                for (int j = 0, ci = cOff + i * ldc; j < n; j++, ci++) c[ci] = beta == 0f ? 0f : beta * c[ci];
            return;
        }
        if (transA) checkExtent("a", a, aOff, k, m, lda); else checkExtent("a", a, aOff, m, k, lda);
        if (transB) checkExtent("b", b, bOff, n, k, ldb); else checkExtent("b", b, bOff, k, n, ldb);
        GemmDriver.gemm(m, n, k, alpha, transA, a, aOff, lda, GemmDriver.arrayB(transB, b, bOff, ldb), beta, c, cOff, ldc);
    }

    /** Checks that a row-major [rows, cols] view with row stride ld starting at off lies inside arr. */
    private static void checkExtent(String name, float[] arr, int off, int rows, int cols, int ld) {
        if (arr == null) throw new NullPointerException(name);
        if (rows == 0 || cols == 0) return;
        if (off < 0 || ld < cols || (long) off + (long) (rows - 1) * ld + cols > arr.length)
            throw new IllegalArgumentException(name + ": a " + rows + "x" + cols + " view with row stride " + ld
                    + " at offset " + off + " does not fit in an array of " + arr.length);
    }
}
