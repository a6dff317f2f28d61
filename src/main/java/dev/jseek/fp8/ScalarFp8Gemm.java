package dev.jseek.fp8;

/**
 * Scalar twin (the test oracle) of {@link Fp8Gemm#gemm}: the same arithmetic, element by element, single-threaded.
 * For every output (i, j): acc = 0f; for every 128-wide K group g: S = 0f, then S += decode(a) * decode(b) for the
 * group's k in increasing order (the products of two E4M3 values are exact in float, so this is one rounding per
 * addition); then acc = fma(sA[i][g] * sB[j][g], S, acc) (the scale product rounded to float, then a fused
 * multiply-add). Finally c = acc, or c + acc when accumulating.
 */
public final class ScalarFp8Gemm {
    private ScalarFp8Gemm() {}

    /** C[M, N] (=|+=) A[M, K] * B[N, K]^T, see the class comment; c is row-major with stride N. */
    public static void gemm(Fp8Tensor a, Fp8Tensor b, float[] c, boolean accumulate) {
        gemm(a, b, c, 0, accumulate);
    }

    /** As {@link #gemm(Fp8Tensor, Fp8Tensor, float[], boolean)} with C starting at c[cOff]. */
    public static void gemm(Fp8Tensor a, Fp8Tensor b, float[] c, int cOff, boolean accumulate) {
        Fp8Gemm.check(a, b, c, cOff);
        int m = a.rows(), n = b.rows(), k = a.cols(), g = TileQuantizer.TILE;
        byte[] ac = a.codes(), bc = b.codes();
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                float acc = 0f;
                for (int k0 = 0; k0 < k; k0 += g) {
                    int k1 = Math.min(k, k0 + g);
                    float s = 0f;
                    for (int p = k0; p < k1; p++) s += E4m3.decode(ac[i * k + p]) * E4m3.decode(bc[j * k + p]);
                    float scale = a.scaleAt(i, k0) * b.scaleAt(j, k0);
                    acc = Math.fma(scale, s, acc);
                }
                c[cOff + i * n + j] = accumulate ? c[cOff + i * n + j] + acc : acc;
            }
    }
}
