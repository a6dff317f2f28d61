package dev.jseek.kernels;

import dev.jseek.tensor.Matrix;
import jdk.incubator.vector.FloatVector;

/**
 * BLIS-style panel packing for {@link GemmDriver}: copies a block of op(A) or op(B) into the k-major micro-panel
 * layout the {@link MicroKernel} reads, zero-padding ragged panels, so that transposes cost nothing in the
 * kernel. Weights ({@link Matrix}, any dtype) are decoded on the fly, one KC x NR panel at a time; a full
 * dequantized copy of a weight is never made.
 *
 * <p>A panels: for rows [i, i+MR), {@code dst[p*MR + r] = alpha * op(A)[i + r][p0 + p]}.
 * B panels: for cols [j, j+NR), {@code dst[p*NR + c] = op(B)[p0 + p][j + c]}.
 */
final class Packing {
    private Packing() {}

    static final int MR = MicroKernel.MR;
    static final int NR = MicroKernel.NR;

    /** Packs rows [i0, i0 + rows) (rows <= MR) of op(A), k range [p0, p0 + kc), times alpha, into one A panel. */
    static void packA(boolean transA, float[] a, int aOff, int lda, int i0, int rows, int p0, int kc, float alpha,
                      float[] dst, int dstOff) {
        if (!transA) {
            if (rows == MR && alpha == 1f) {
                // 12 row streams, sequential writes
                int s0 = aOff + i0 * lda + p0;
                int d = dstOff;
                for (int p = 0; p < kc; p++, d += MR) {
                    int q = s0 + p;
                    dst[d] = a[q]; dst[d + 1] = a[q + lda]; dst[d + 2] = a[q + 2 * lda]; dst[d + 3] = a[q + 3 * lda];
                    dst[d + 4] = a[q + 4 * lda]; dst[d + 5] = a[q + 5 * lda]; dst[d + 6] = a[q + 6 * lda]; dst[d + 7] = a[q + 7 * lda];
                    dst[d + 8] = a[q + 8 * lda]; dst[d + 9] = a[q + 9 * lda]; dst[d + 10] = a[q + 10 * lda]; dst[d + 11] = a[q + 11 * lda];
                }
                return;
            }
            for (int r = 0; r < rows; r++) {
                int src = aOff + (i0 + r) * lda + p0;
                int d = dstOff + r;
                if (alpha == 1f) for (int p = 0; p < kc; p++, d += MR) dst[d] = a[src + p];
                else for (int p = 0; p < kc; p++, d += MR) dst[d] = alpha * a[src + p];
            }
            for (int r = rows; r < MR; r++) for (int p = 0, d = dstOff + r; p < kc; p++, d += MR) dst[d] = 0f;
        } else {
            for (int p = 0; p < kc; p++) {
                int src = aOff + (p0 + p) * lda + i0;
                int d = dstOff + p * MR;
                int r = 0;
                if (alpha == 1f) for (; r < rows; r++) dst[d + r] = a[src + r];
                else for (; r < rows; r++) dst[d + r] = alpha * a[src + r];
                for (; r < MR; r++) dst[d + r] = 0f;
            }
        }
    }

    /** Packs cols [j0, j0 + cols) (cols <= NR) of op(B) over k range [p0, p0 + kc) from a row-major array. */
    static void packB(boolean transB, float[] b, int bOff, int ldb, int p0, int kc, int j0, int cols,
                      float[] dst, int dstOff) {
        if (!transB) {
            int L = Vec.LANES;
            for (int p = 0; p < kc; p++) {
                int src = bOff + (p0 + p) * ldb + j0;
                int d = dstOff + p * NR;
                if (cols == NR) {
                    for (int c = 0; c < NR; c += L) FloatVector.fromArray(Vec.F, b, src + c).intoArray(dst, d + c);
                } else {
                    int c = 0;
                    for (; c < cols; c++) dst[d + c] = b[src + c];
                    for (; c < NR; c++) dst[d + c] = 0f;
                }
            }
        } else {
            for (int c = 0; c < cols; c++) {
                int src = bOff + (j0 + c) * ldb + p0;
                for (int p = 0, d = dstOff + c; p < kc; p++, d += NR) dst[d] = b[src + p];
            }
            zeroCols(cols, kc, dst, dstOff);
        }
    }

    /**
     * Packs op(B) = W^T for a weight W [n, k]: B panel cols [j0, j0 + cols) are W rows, k range [p0, p0 + kc).
     * {@code tmp} holds at least NR * kc floats.
     */
    static void packWeight(Matrix w, int p0, int kc, int j0, int cols, float[] dst, int dstOff, float[] tmp) {
        // decode the cols rows (vectorized, scales applied), then transpose with sequential writes
        for (int c = 0; c < cols; c++) WeightRows.decode(w, j0 + c, p0, kc, tmp, c * kc);
        if (cols == NR) {
            for (int p = 0, d = dstOff; p < kc; p++, d += NR)
                for (int c = 0, q = p; c < NR; c++, q += kc) dst[d + c] = tmp[q];
        } else {
            for (int p = 0, d = dstOff; p < kc; p++, d += NR) {
                int c = 0;
                for (int q = p; c < cols; c++, q += kc) dst[d + c] = tmp[q];
                for (; c < NR; c++) dst[d + c] = 0f;
            }
        }
    }

    private static void zeroCols(int cols, int kc, float[] dst, int dstOff) {
        if (cols == NR) return;
        for (int p = 0; p < kc; p++) {
            int d = dstOff + p * NR;
            for (int c = cols; c < NR; c++) dst[d + c] = 0f;
        }
    }
}
