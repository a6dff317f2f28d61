package dev.jseek.kernels.scalar;

import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;

/**
 * Scalar twin (test oracle) of the one-token F32 GEMV ({@code dev.jseek.kernels.F32Gemv}, and {@code Gemv}'s chunked
 * path, which sums in the same order): y[r] (=|+=) W[r] . x, one row at a time in the kernels' documented order, so
 * its results are bit for bit theirs. Per chunk of {@code chunk} columns: two partial-sum vectors of {@code lanes}
 * lanes, the first taking the products of the even {@code lanes}-wide blocks, the second of the odd ones (so an odd
 * last block goes to the first), each by {@link Math#fma} from zero; lane l of the two added; the lanes summed in
 * index order from 0; the chunk's k mod lanes tail products added one at a time in float; the chunk's sum added to
 * the row's running sum from 0. Elements are read by {@link ScalarWeightRows} (shares no code with the kernels).
 * Rows past the last whole group of 4 are not covered (the kernels sum them in another order).
 */
public final class ScalarF32Gemv {
    private ScalarF32Gemv() {}

    public static void linear(float[] y, int yOff, float[] x, int xOff, Matrix w, boolean accumulate, int lanes, int chunk) {
        if (w.dtype() != DType.F32) throw new IllegalArgumentException(w.dtype() + " is not F32");
        int n = w.rows() - w.rows() % 4, k = w.cols();
        float[] a = new float[lanes], b = new float[lanes];
        for (int r = 0; r < n; r++) {
            float s = 0f;
            for (int c0 = 0; c0 < k; c0 += chunk) {
                int len = Math.min(chunk, k - c0), blocks = len / lanes;
                java.util.Arrays.fill(a, 0f);
                java.util.Arrays.fill(b, 0f);
                for (int blk = 0; blk < blocks; blk++) {
                    float[] acc = blk % 2 == 0 ? a : b;
                    for (int l = 0; l < lanes; l++) {
                        int c = c0 + blk * lanes + l;
                        acc[l] = Math.fma(ScalarWeightRows.get(w, r, c), x[xOff + c], acc[l]);
                    }
                }
                float t = 0f;
                for (int l = 0; l < lanes; l++) t += a[l] + b[l];
                for (int c = c0 + blocks * lanes; c < c0 + len; c++) t += ScalarWeightRows.get(w, r, c) * x[xOff + c];
                s += t;
            }
            y[yOff + r] = accumulate ? y[yOff + r] + s : s;
        }
    }
}
