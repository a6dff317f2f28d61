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
 *       once (block-typed weights only below {@code jseek.quantGemmMinM} tokens, default 17; more take the GEMM).</li>
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
        if (m <= GEMV_MAX_M && !Gemv.packed(w, m)) Gemv.linear(y, yOff, x, xOff, m, w, accumulate);
        else GemmDriver.gemm(m, n, k, 1f, false, x, xOff, k, GemmDriver.weightB(w), accumulate ? 1f : 0f, y, yOff, n);
    }

    /** Below this many multiply-adds a GEMV-sized product runs on the calling thread ({@link Gemv}'s threshold). */
    static final long SERIAL_MACS = 1L << 16;

    /**
     * {@code count} independent Linear products as one parallel job (decode: the selected experts' gate and up
     * projections side by side, then their down projections): product i reads m_i tokens (row-major) at x[xOff_i ..]
     * and overwrites y[yOff_i ..] with them times w[i]^T, where {@code jobs[3i] = xOff_i}, {@code jobs[3i+1] = m_i},
     * {@code jobs[3i+2] = yOff_i}. The pool works on row chunks of all products at once instead of one product after
     * another ({@code jseek.manyRows} rows per task, {@link DecodeOrder}; one token: each thread a contiguous run of
     * the tasks with {@code jseek.contiguousTasks}), and each product's values are bitwise those {@link #linear}
     * computes. Products with more than
     * {@link #GEMV_MAX_M} tokens (block-typed weights: from {@code jseek.quantGemmMinM}) run one after another through
     * {@link #linear}. No allocation besides the task. Below 2^16 multiply-adds in all (the threshold of
     * {@link #linear}'s GEMV) the tasks run on the calling thread: a parallel section costs more than such products.
     */
    public static void linearMany(int count, Matrix[] w, float[] x, float[] y, int[] jobs) {
        int tasks = 0, maxM = 0;
        long macs = 0;
        int rowsPer = DecodeOrder.manyRows;      // rows per task (a multiple of 4: the row groups stay aligned)
        for (int i = 0; i < count; i++) {
            int xo = jobs[3 * i], m = jobs[3 * i + 1], yo = jobs[3 * i + 2];
            if (m < 0) throw new IllegalArgumentException("product " + i + ": m = " + m);
            checkExtent("x", x, xo, m, w[i].cols(), w[i].cols());
            checkExtent("y", y, yo, m, w[i].rows(), w[i].rows());
            if (!gemv(w[i], m)) linear(y, yo, x, xo, m, w[i], false);
            else {
                tasks += (w[i].rows() + rowsPer - 1) / rowsPer;
                macs += (long) w[i].rows() * w[i].cols() * m;
                maxM = Math.max(maxM, m);
            }
        }
        if (tasks == 0) return;
        Scratch own = Scratch.acquire();
        try {
            // inputs of the integer K-quant products quantized once, here (gate and up share theirs)
            Q8K a = QuantGemv.quantizeMany(own, count, w, x, jobs);
            Parallel.Task body = (t, wk) -> {
                int i = 0, c = t;
                for (; ; i++) {
                    if (!gemv(w[i], jobs[3 * i + 1])) continue;
                    int chunks = (w[i].rows() + rowsPer - 1) / rowsPer;
                    if (c < chunks) break;
                    c -= chunks;
                }
                int r0 = c * rowsPer, ao = a == null ? -1 : a.slot[i];
                Gemv.rowsSerial(y, jobs[3 * i + 2], x, jobs[3 * i], ao < 0 ? null : a, ao, jobs[3 * i + 1], w[i], false, r0,
                        Math.min(w[i].rows(), r0 + rowsPer));
            };
            if (macs < SERIAL_MACS) for (int t = 0; t < tasks; t++) body.run(t, 0);
            else if (DecodeOrder.contiguous(maxM)) Parallel.parallelForContiguous(tasks, body);
            else Parallel.parallelFor(tasks, body);
        } finally {
            own.release();
        }
    }

    /**
     * y[yOff + r - r0] = w[r] · x[xOff ..] for the rows r0 <= r < r1 of w, one token, on the calling thread (no
     * parallel job: for callers that already run inside one, e.g. attention head by head), by the per-row kernel of
     * {@link #linear} (the same values as a 1-token {@link #linear} when r0 is a multiple of 4). A row's value does
     * not depend on the other rows of the call.
     */
    public static void linearRows(float[] y, int yOff, float[] x, int xOff, Matrix w, int r0, int r1) {
        if (r0 < 0 || r1 > w.rows() || r0 > r1) throw new IllegalArgumentException("rows " + r0 + ".." + r1 + " of a " + w.rows() + "-row weight");
        checkExtent("x", x, xOff, 1, w.cols(), w.cols());
        checkExtent("y", y, yOff, 1, r1 - r0, r1 - r0);
        if (r0 == r1 || w.cols() == 0) {
            java.util.Arrays.fill(y, yOff, yOff + r1 - r0, 0f);
            return;
        }
        Gemv.rowsSerial(y, yOff - r0, x, xOff, null, 0, 1, w, false, r0, r1);
    }

    /**
     * y[yOff + c] = Σ_p x[xOff + p] w[r0 + p][c] for c < w.cols(), p < n: rows r0..r0+n-1 of w transposed times x, on
     * the calling thread (MLA's q_abs = W_UK^T q_nope per head, inside the attention's parallel job). Each y[c] is
     * summed from zero by one fused multiply-add per row, rows in order, whatever the weight's type and storage.
     */
    public static void linearTransposedRows(float[] y, int yOff, float[] x, int xOff, Matrix w, int r0, int n) {
        if (r0 < 0 || n < 0 || r0 + n > w.rows()) throw new IllegalArgumentException("rows " + r0 + ".." + (r0 + n) + " of a " + w.rows() + "-row weight");
        checkExtent("x", x, xOff, 1, n, n);
        checkExtent("y", y, yOff, 1, w.cols(), w.cols());
        Scratch s = Scratch.acquire();
        try {
            HalfGemv.transposedRows(y, yOff, x, xOff, w, r0, n, s.get(1, w.cols()));
        } finally {
            s.release();
        }
    }

    /**
     * Y[m, n] = X[m, w.cols] * W[r0 .. r0+n)^T: rows r0..r0+n-1 of w (one head's slice of a per-head stacked weight,
     * e.g. MLA's W_UK^T and W_UV from a GGUF's attn_k_b / attn_v_b) times X with row stride ldx from xOff, into Y with
     * row stride ldy from yOff. Runs the packed {@link GemmDriver} whatever m, the weight rows decoded while their
     * panels are packed (no dequantized copy), so the values equal {@link #sgemm} over the decoded rows bit for bit.
     */
    public static void linearSlice(float[] y, int yOff, int ldy, float[] x, int xOff, int ldx, int m, Matrix w, int r0, int n) {
        int k = w.cols();
        if (m < 0 || n < 0 || r0 < 0 || r0 + n > w.rows())
            throw new IllegalArgumentException("m = " + m + ", rows " + r0 + ".." + (r0 + n) + " of a " + w.rows() + "-row weight");
        checkExtent("x", x, xOff, m, k, ldx);
        checkExtent("y", y, yOff, m, n, ldy);
        if (m == 0 || n == 0) return;
        if (k == 0) {
            for (int i = 0; i < m; i++) java.util.Arrays.fill(y, yOff + i * ldy, yOff + i * ldy + n, 0f);
            return;
        }
        GemmDriver.gemm(m, n, k, 1f, false, x, xOff, ldx,
                (p0, kc, j0, cols, dst, dstOff, tmp) -> Packing.packWeight(w, p0, kc, r0 + j0, cols, dst, dstOff, tmp),
                0f, y, yOff, ldy);
    }

    /** Products {@link #linearMany} splits into row chunks: GEMV-sized, non-empty. */
    private static boolean gemv(Matrix w, int m) { return m > 0 && m <= GEMV_MAX_M && w.cols() > 0 && w.rows() > 0 && !Gemv.packed(w, m); }

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
