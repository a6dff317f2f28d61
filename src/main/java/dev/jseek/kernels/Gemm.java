package dev.jseek.kernels;

import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import java.lang.foreign.ValueLayout;

/**
 * Matrix products. {@link #linear} is the Linear layer (any weight dtype); {@link #sgemm} is the general F32 GEMM
 * on row-major arrays used by training (Fprop, Dgrad, Wgrad via the transpose flags).
 *
 * <p>SKELETON: the bodies below are straightforward scalar loops so the rest of the system can be written
 * against this API; the kernels work replaces them with the fast, multi-threaded Vector API versions and keeps
 * these loops as the scalar twins (oracles) in {@code kernels.scalar}.
 */
public final class Gemm {
    private Gemm() {}

    /**
     * Y[m, w.rows] (=|+=) X[m, w.cols] * W^T. {@code x} is row-major with row stride w.cols starting at xOff,
     * {@code y} row-major with row stride w.rows starting at yOff. FP8 weights use their 128x128 block scales.
     */
    public static void linear(float[] y, int yOff, float[] x, int xOff, int m, Matrix w, boolean accumulate) {
        int n = w.rows(), k = w.cols();
        float[] row = new float[k];
        for (int j = 0; j < n; j++) {
            WeightRows.decodeRow(w, j, row, 0);
            for (int i = 0; i < m; i++) {
                double s = 0;
                int xo = xOff + i * k;
                for (int p = 0; p < k; p++) s += x[xo + p] * row[p];
                int yo = yOff + i * n + j;
                y[yo] = accumulate ? y[yo] + (float) s : (float) s;
            }
        }
    }

    /**
     * C = alpha * op(A) * op(B) + beta * C, all row-major F32. op(A) is [m, k] (A is [k, m] when transA), op(B) is
     * [k, n] (B is [n, k] when transB). lda/ldb/ldc are row strides in elements. beta == 0 ignores C's old values.
     */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                             float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                             float beta, float[] c, int cOff, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    float av = transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
                    float bv = transB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
                    s += av * bv;
                }
                int ci = cOff + i * ldc + j;
                c[ci] = (float) (alpha * s + (beta == 0f ? 0f : beta * c[ci]));
            }
        }
    }

    /** Reads element (r, c) of a weight as float, applying FP8 block scales. Slow; for tests and glue only. */
    public static float get(Matrix w, int r, int c) {
        long idx = (long) r * w.cols() + c;
        float v = switch (w.dtype()) {
            case F32 -> w.data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, idx);
            case BF16 -> Float.intBitsToFloat((w.data().getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, idx) & 0xFFFF) << 16);
            case F16 -> Float.float16ToFloat(w.data().getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, idx));
            case F8_E4M3, F8_E5M2 -> WeightRows.fp8ToFloat(w.dtype(), w.data().get(ValueLayout.JAVA_BYTE, idx));
            default -> throw new IllegalArgumentException("unsupported weight dtype " + w.dtype());
        };
        if (w.scaleInv() != null)
            v *= w.scaleInv().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, (long) (r / Matrix.BLOCK) * Matrix.scaleCols(w.cols()) + c / Matrix.BLOCK);
        return v;
    }

    static boolean isFp8(DType d) { return d == DType.F8_E4M3 || d == DType.F8_E5M2; }
}
