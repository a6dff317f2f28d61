package dev.jseek.kernels;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.kernels.scalar.ScalarGemm;
import dev.jseek.kernels.scalar.ScalarWeightRows;
import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Fast GEMM/GEMV paths against the scalar twins, with tolerances relative to sum |a||b| per output. */
@org.junit.jupiter.api.Timeout(120)
class GemmTest {
    /** |fast - ref| <= tol(k) * sum_p |a_ip b_pj| + tiny, where tol grows with k (float accumulation). */
    static void assertClose(float[] ref, float[] got, float[] absSum, int k, String what) {
        double tol = 2e-7 * (k + 16);
        for (int i = 0; i < ref.length; i++) {
            double err = Math.abs((double) ref[i] - got[i]);
            double bound = tol * absSum[i] + 1e-30;
            if (!(err <= bound))
                fail(what + ": element " + i + " ref " + ref[i] + " got " + got[i] + " err " + err + " bound " + bound);
        }
    }

    private static float[] abs(float[] a) {
        float[] b = new float[a.length];
        for (int i = 0; i < a.length; i++) b[i] = Math.abs(a[i]);
        return b;
    }

    private static void checkSgemm(Random r, boolean ta, boolean tb, int m, int n, int k, float alpha, float beta,
                                   int pad, int off) {
        int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
        float[] a = TestWeights.randn(r, off + (ta ? k : m) * lda);
        float[] b = TestWeights.randn(r, off + (tb ? n : k) * ldb);
        float[] c0 = TestWeights.randn(r, off + m * ldc);
        float[] ref = c0.clone(), got = c0.clone();
        ScalarGemm.sgemm(ta, tb, m, n, k, alpha, a, off, lda, b, off, ldb, beta, ref, off, ldc);
        Gemm.sgemm(ta, tb, m, n, k, alpha, a, off, lda, b, off, ldb, beta, got, off, ldc);
        // bound: |alpha| sum|a||b| + |beta c| (the latter only matters at rounding level)
        float[] absSum = new float[ref.length];
        ScalarGemm.sgemm(ta, tb, m, n, k, Math.abs(alpha), abs(a), off, lda, abs(b), off, ldb, 0f, absSum, off, ldc);
        for (int i = 0; i < absSum.length; i++) absSum[i] += Math.abs(beta * c0[i]) + Math.abs(ref[i]);
        String what = "sgemm ta=" + ta + " tb=" + tb + " m=" + m + " n=" + n + " k=" + k + " alpha=" + alpha + " beta=" + beta;
        assertClose(ref, got, absSum, k, what);
        // padding between rows and before the offset is untouched
        for (int i = 0; i < off; i++) assertEquals(c0[i], got[i], what + " wrote before cOff");
        for (int i = 0; i < m; i++) for (int j = n; j < ldc; j++) assertEquals(c0[off + i * ldc + j], got[off + i * ldc + j], what + " wrote padding");
    }

    @Test
    void sgemmMatchesScalarOnRaggedShapesAllTransposes() {
        Random r = new Random(11);
        int[][] shapes = {{1, 1, 1}, {1, 7, 3}, {2, 33, 17}, {3, 31, 5}, {7, 64, 64}, {12, 32, 256}, {13, 45, 257},
                {17, 1, 9}, {25, 97, 31}, {1, 100, 300}, {40, 20, 513}};
        for (int[] s : shapes)
            for (boolean ta : new boolean[] {false, true})
                for (boolean tb : new boolean[] {false, true})
                    checkSgemm(r, ta, tb, s[0], s[1], s[2], 1f, 0f, 0, 0);
    }

    @Test
    void sgemmAlphaBetaStridesAndOffsets() {
        Random r = new Random(12);
        float[][] ab = {{1f, 1f}, {0.5f, 0.7f}, {-2f, 0f}, {1.5f, -1f}};
        for (float[] x : ab)
            for (boolean ta : new boolean[] {false, true})
                for (boolean tb : new boolean[] {false, true})
                    checkSgemm(r, ta, tb, 19, 37, 29, x[0], x[1], 3, 5);
    }

    @Test
    void sgemmAcrossCacheBlocks() {
        Random r = new Random(13);
        checkSgemm(r, false, false, GemmDriver.MC + 17, 70, GemmDriver.KC + 45, 1f, 0.5f, 0, 0);   // several MC and KC blocks
        checkSgemm(r, true, true, 5, GemmDriver.NC + 50, 11, 1f, 1f, 1, 2);                      // two NC blocks
        checkSgemm(r, false, true, 130, 140, 150, 1f, 0f, 0, 0);                                   // parallel path
    }

    @Test
    void sgemmRandomShapes() {
        Random r = new Random(14);
        for (int t = 0; t < 40; t++) {
            int m = 1 + r.nextInt(60), n = 1 + r.nextInt(80), k = 1 + r.nextInt(90);
            checkSgemm(r, r.nextBoolean(), r.nextBoolean(), m, n, k, r.nextBoolean() ? 1f : 0.75f,
                    r.nextInt(3) == 0 ? 0f : 1.25f, r.nextInt(3), r.nextInt(4));
        }
    }

    @Test
    void productsInsideParallelBodiesAndFromSeveralThreads() throws Exception {
        // nested calls run serially on the participant; concurrent callers get their own scratch buffers
        int m = 70, n = 90, k = 300;
        Random r = new Random(15);
        float[] a = TestWeights.randn(r, m * k), b = TestWeights.randn(r, k * n);
        Matrix w = TestWeights.random(DType.BF16, n, k, r, false);
        float[] ref = new float[m * n], refL = new float[m * n];
        ScalarGemm.sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, ref, 0, n);
        ScalarGemm.linear(refL, 0, a, 0, m, w, false);
        float[][] outs = new float[8][m * n];
        Parallel.parallelFor(8, (i, wk) -> {
            if (i % 2 == 0) Gemm.sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, outs[i], 0, n);
            else Gemm.linear(outs[i], 0, a, 0, m, w, false);
        });
        Thread[] ts = new Thread[3];
        float[][] outs2 = new float[3][m * n];
        for (int t = 0; t < 3; t++) {
            int tt = t;
            ts[t] = new Thread(() -> { for (int rep = 0; rep < 3; rep++) Gemm.sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, outs2[tt], 0, n); });
            ts[t].start();
        }
        for (Thread t : ts) t.join(60_000);
        for (int i = 0; i < 8; i++) {
            float[] want = i % 2 == 0 ? ref : refL;
            for (int j = 0; j < m * n; j++) assertEquals(want[j], outs[i][j], 1e-3 * (1 + Math.abs(want[j])), "nested product " + i);
        }
        for (int t = 0; t < 3; t++)
            for (int j = 0; j < m * n; j++) assertEquals(ref[j], outs2[t][j], 1e-3 * (1 + Math.abs(ref[j])), "thread " + t);
    }

    /**
     * The packed GEMM sums every C element in one fixed order whatever the work split (wide column blocks, row
     * blocks, row chunks, k chunks) and thread count: per KC slice an FMA chain over p in order, each slice's sum then
     * added to C. Oracle: that order written out in scalar code; the results must be bitwise equal.
     */
    @Test
    void sgemmSumsInAFixedOrderWhateverTheSplit() {
        Random r = new Random(16);
        int kc = GemmDriver.KC;
        int[][] shapes = {{100, 1100, 600}, {300, 200, 2 * kc + 8}, {GemmDriver.M_CHUNK + 30, 40, 20},
                {GemmDriver.M_CHUNK, 40, 4 * kc + 70}, {70, 33, 17}};
        for (int[] sh : shapes)
            for (boolean ta : new boolean[] {false, true}) {
                int m = sh[0], n = sh[1], k = sh[2];
                boolean tb = !ta;
                float[] a = TestWeights.randn(r, m * k), b = TestWeights.randn(r, k * n);
                float[] c = TestWeights.randn(r, m * n), want = c.clone();
                float alpha = 0.75f, beta = 0.5f;
                Gemm.sgemm(ta, tb, m, n, k, alpha, a, 0, ta ? m : k, b, 0, tb ? k : n, beta, c, 0, n);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) {
                        float acc = beta * want[i * n + j];
                        for (int p0 = 0; p0 < k; p0 += kc) {
                            float s = 0f;
                            for (int p = p0; p < Math.min(k, p0 + kc); p++) {
                                float av = alpha * (ta ? a[p * m + i] : a[i * k + p]);
                                s = Math.fma(av, tb ? b[j * k + p] : b[p * n + j], s);
                            }
                            acc = s + acc;
                        }
                        want[i * n + j] = acc;
                    }
                for (int i = 0; i < m * n; i++)
                    assertEquals(Float.floatToIntBits(want[i]), Float.floatToIntBits(c[i]),
                            "m=" + m + " n=" + n + " k=" + k + " ta=" + ta + " element " + i);
            }
    }

    @Test
    void sgemmBetaZeroIgnoresOldC() {
        float[] a = {1, 2, 3, 4}, b = {1, 0, 0, 1}, c = {Float.NaN, Float.NaN, Float.NaN, Float.POSITIVE_INFINITY};
        Gemm.sgemm(false, false, 2, 2, 2, 1f, a, 0, 2, b, 0, 2, 0f, c, 0, 2);
        assertArrayEquals(new float[] {1, 2, 3, 4}, c);
        float[] c2 = {Float.NaN, 1, 1, 1};
        Gemm.sgemm(false, false, 2, 2, 0, 1f, a, 0, 2, b, 0, 2, 0f, c2, 0, 2);
        assertArrayEquals(new float[] {0, 0, 0, 0}, c2);
    }

    @Test
    void sgemmRejectsArraysTooSmall() {
        float[] a = new float[5], b = new float[6], c = new float[6];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.sgemm(false, false, 2, 3, 3, 1f, a, 0, 3, b, 0, 3, 0f, c, 0, 3));
        assertTrue(e.getMessage().startsWith("a:"), e.getMessage());
    }

    private static void checkLinear(Random r, DType d, int m, int n, int k, boolean accumulate, boolean offHeap) {
        Matrix w = TestWeights.random(d, n, k, r, offHeap);
        float[] x = TestWeights.randn(r, 3 + m * k);
        float[] y0 = TestWeights.randn(r, 2 + m * n);
        float[] ref = y0.clone(), got = y0.clone();
        ScalarGemm.linear(ref, 2, x, 3, m, w, accumulate);
        Gemm.linear(got, 2, x, 3, m, w, accumulate);
        float[] wAbs = new float[n * k];
        for (int j = 0; j < n; j++) for (int p = 0; p < k; p++) wAbs[j * k + p] = Math.abs(ScalarWeightRows.get(w, j, p));
        float[] absSum = new float[y0.length];
        float[] xa = abs(x);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) s += xa[3 + i * k + p] * wAbs[j * k + p];
                absSum[2 + i * n + j] = (float) s + (accumulate ? Math.abs(y0[2 + i * n + j]) : 0f);
            }
        String what = "linear " + d + " m=" + m + " n=" + n + " k=" + k + " acc=" + accumulate + " offHeap=" + offHeap;
        assertClose(ref, got, absSum, k, what);
        assertEquals(y0[0], got[0], what);
        assertEquals(y0[1], got[1], what);
    }

    @Test
    void linearSmallMAllDtypes() {
        Random r = new Random(21);
        int[][] shapes = {{1, 1, 1}, {1, 5, 7}, {2, 9, 16}, {3, 13, 100}, {4, 8, 129}, {5, 6, 513}, {7, 17, 640}, {8, 4, 33}};
        for (DType d : TestWeights.WEIGHT_DTYPES)
            for (int[] s : shapes) {
                checkLinear(r, d, s[0], s[1], s[2], false, false);
                checkLinear(r, d, s[0], s[1], s[2], true, true);
            }
    }

    /**
     * Each token's outputs of a 1-, 2- or 3-token linear are bitwise those of that token alone (the oracle: m = 1
     * calls), for every dtype, ragged n (row groups of 4 and the remainder) and k across the 512-wide chunks.
     * Speculative decoding's 2-token verify depends on it (dev.jseek.infer.SpeculativeGenerator).
     */
    @Test
    void smallBatchRowsEqualSingleTokenRowsBitwise() {
        Random r = new Random(22);
        int[][] shapes = {{7, 16}, {9, 37}, {13, 64}, {6, 300}, {10, 513}, {5, 1100}};
        for (DType d : TestWeights.WEIGHT_DTYPES)
            for (int[] s : shapes)
                for (int m = 2; m <= 3; m++) {
                    int n = s[0], k = s[1];
                    Matrix w = TestWeights.random(d, n, k, r, false);
                    float[] x = TestWeights.randn(r, m * k);
                    float[] batch = new float[m * n];
                    Gemm.linear(batch, 0, x, 0, m, w, false);
                    for (int t = 0; t < m; t++) {
                        float[] one = new float[n];
                        Gemm.linear(one, 0, x, t * k, 1, w, false);
                        for (int j = 0; j < n; j++)
                            assertEquals(Float.floatToIntBits(one[j]), Float.floatToIntBits(batch[t * n + j]),
                                    d + " m=" + m + " n=" + n + " k=" + k + " token " + t + " row " + j);
                    }
                }
    }

    @Test
    void linearLargeMAllDtypes() {
        Random r = new Random(22);
        int g = Gemm.GEMV_MAX_M;                       // sizes past the GEMV threshold: the packed GEMM path
        int[][] shapes = {{g + 1, 33, 17}, {g + 7, 70, 300}, {g + 13, 5, 130}, {2 * g + 3, 40, 260}, {9, 33, 17}, {33, 20, 70}};
        for (DType d : TestWeights.WEIGHT_DTYPES)
            for (int[] s : shapes) {
                checkLinear(r, d, s[0], s[1], s[2], false, d == DType.BF16);
                checkLinear(r, d, s[0], s[1], s[2], true, false);
            }
    }

    @Test
    void fp8EdgeBlocksNotMultiplesOf128() {
        Random r = new Random(23);
        // kv_a_proj_with_mqa-like: 576 rows = 4.5 row blocks; cols with a partial last block
        for (int m : new int[] {1, 3, 20, Gemm.GEMV_MAX_M + 5})
            for (DType d : new DType[] {DType.F8_E4M3, DType.F8_E5M2})
                checkLinear(r, d, m, 576, 200, m == 3, m == 20);
    }

    @Test
    void linearWithoutScalesAndZeroK() {
        Random r = new Random(24);
        Matrix w0 = TestWeights.random(DType.F8_E4M3, 20, 40, r, false);
        Matrix w = new Matrix(DType.F8_E4M3, 20, 40, w0.data(), null);
        float[] x = TestWeights.randn(r, 40 * 10), ref = new float[200], got = new float[200];
        x = TestWeights.randn(r, 40 * (Gemm.GEMV_MAX_M + 2));
        ref = new float[20 * (Gemm.GEMV_MAX_M + 2)];
        got = new float[ref.length];
        for (int m : new int[] {1, 10, Gemm.GEMV_MAX_M + 2}) {
            ScalarGemm.linear(ref, 0, x, 0, m, w, false);
            Gemm.linear(got, 0, x, 0, m, w, false);
            for (int i = 0; i < m * 20; i++) assertEquals(ref[i], got[i], 1e-4 * (1 + Math.abs(ref[i])));
        }
        Matrix empty = Matrix.ofF32(new float[0], 3, 0);
        float[] y = {5, 5, 5, 5, 5, 5};
        Gemm.linear(y, 0, new float[0], 0, 2, empty, false);
        assertArrayEquals(new float[6], y);
    }

    @Test
    void decodeRowMatchesScalarForEveryDtypeAndCode() {
        Random r = new Random(25);
        for (DType d : TestWeights.WEIGHT_DTYPES)
            for (int cols : new int[] {1, 15, 16, 17, 128, 129, 300}) {
                Matrix w = TestWeights.random(d, 130, cols, r, cols == 129);
                float[] ref = new float[cols + 2], got = new float[cols + 2];
                for (int row : new int[] {0, 1, 127, 128, 129}) {
                    ScalarWeightRows.decodeRow(w, row, ref, 2);
                    WeightRows.decodeRow(w, row, got, 2);
                    for (int c = 0; c < cols + 2; c++)
                        assertEquals(Float.floatToRawIntBits(ref[c]), Float.floatToRawIntBits(got[c]), d + " row " + row + " col " + c);
                }
            }
    }

    @Test
    void vectorDecodersAreExactOnAllSpecialCodes() {
        // every byte value (incl. NaN, inf, subnormals, -0) for both FP8 formats; every 16-bit pattern for F16/BF16
        byte[] bytes = new byte[256 + 16];
        for (int i = 0; i < bytes.length; i++) bytes[i] = (byte) i;
        short[] shorts = new short[65536 + 16];
        for (int i = 0; i < shorts.length; i++) shorts[i] = (short) i;
        for (DType d : new DType[] {DType.F8_E4M3, DType.F8_E5M2}) {
            Matrix w = new Matrix(d, 1, bytes.length, java.lang.foreign.MemorySegment.ofArray(bytes), null);
            checkDecodeBits(w);
        }
        for (DType d : new DType[] {DType.F16, DType.BF16}) {
            Matrix w = new Matrix(d, 1, shorts.length, java.lang.foreign.MemorySegment.ofArray(shorts), null);
            checkDecodeBits(w);
        }
    }

    private static void checkDecodeBits(Matrix w) {
        float[] ref = new float[w.cols()], got = new float[w.cols()];
        ScalarWeightRows.decodeRow(w, 0, ref, 0);
        WeightRows.decodeRow(w, 0, got, 0);
        for (int c = 0; c < w.cols(); c++) {
            if (Float.isNaN(ref[c])) assertTrue(Float.isNaN(got[c]), w.dtype() + " code " + c);
            else assertEquals(Float.floatToRawIntBits(ref[c]), Float.floatToRawIntBits(got[c]), w.dtype() + " code " + c + " ref " + ref[c] + " got " + got[c]);
        }
    }
}
