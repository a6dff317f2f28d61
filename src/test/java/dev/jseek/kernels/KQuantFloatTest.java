package dev.jseek.kernels;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.kernels.scalar.ScalarKQuantFloat;
import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import dev.jseek.tensor.Q4_K;
import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The float Q4_K kernel ({@link KQuantFloat}, {@code jseek.kqFloat}): against its scalar twin
 * {@link ScalarKQuantFloat} bit for bit (called directly on row groups of every size, and through {@link Gemm#linear},
 * {@link Gemm#linearMany} and {@link QuantGemv#rows} on row ranges that start anywhere, 1 to 16 tokens, so a token's
 * values are the same alone or in a batch), and against the double-precision dot of the reference-dequantized weights
 * ({@link Q4_K#dequantizeBlock}): within float summation error, far inside the activation rounding of the integer
 * path. The suite reruns this class at -Djseek.vectorBits=256.
 */
class KQuantFloatTest {
    private static Matrix weight(Arena a, int n, int k, SplittableRandom r) {
        return QuantKernelsTest.onNative(a, DType.Q4_K, n, k, QuantKernelsTest.randomWeight(DType.Q4_K, n, k, r), 3);
    }

    @Test
    void runsAtTheRequestedWidth() {
        String bits = System.getProperty("jseek.vectorBits");
        if (bits != null) assertEquals(Integer.parseInt(bits.trim()), Vec.F.vectorBitSize());
    }

    @Test
    void rowGroupsEqualScalarTwinBitForBit() {
        SplittableRandom r = new SplittableRandom(5);
        try (Arena a = Arena.ofShared()) {
            for (int nb = 1; nb <= 6; nb++) {
                int k = 256 * nb, n = KQuantFloat.GROUP + 3;
                Matrix w = weight(a, n, k, r);
                float[] x = KQuantDotTest.row(r, k + 256);
                if (nb >= 3) {
                    java.util.Arrays.fill(x, 256 + 7, 512 + 7, 0f);
                    x[7 + 512 + 40] = -0f;
                }
                float[] xs = new float[(nb + 1) * KQuantFloat.XS];
                for (int b = 0; b < nb; b++) KQuantFloat.xsums(x, 7 + 256 * b, xs, KQuantFloat.XS * (b + 1));
                float[] acc = new float[KQuantFloat.GROUP * Vec.LANES];
                for (int rows = 1; rows <= KQuantFloat.GROUP; rows++) {
                    int r0 = n - rows;
                    KQuantFloat.q4_kRows(w.data(), r0 * w.rowBytes(), w.rowBytes(), rows, x, 7, xs, KQuantFloat.XS, nb, acc);
                    for (int i = 0; i < rows; i++) {
                        float want = ScalarKQuantFloat.q4_k(w.data(), (r0 + i) * w.rowBytes(), x, 7, nb, Vec.LANES);
                        assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(acc[i]), "nb=" + nb + " rows=" + rows + " row " + i);
                    }
                }
            }
        }
    }

    @Test
    void gemvEqualsScalarTwinBitForBitAtEveryTokenCount() {
        assumeFloatPath();
        SplittableRandom r = new SplittableRandom(11);
        try (Arena a = Arena.ofShared()) {
            for (int[] shape : new int[][] {{1, 256}, {5, 512}, {17, 768}, {70, 1536}, {33, 2304}}) {
                int n = shape[0], k = shape[1];
                Matrix w = weight(a, n, k, r);
                for (int m : new int[] {1, 2, 3, 5, 16}) {
                    float[] x = new float[m * k + 5];
                    for (int tk = 0; tk < m; tk++) System.arraycopy(KQuantDotTest.row(r, k), 0, x, 5 + tk * k, k);
                    x[5 + 3] = Float.NaN;
                    for (boolean acc : new boolean[] {false, true}) {
                        float[] y = new float[m * n + 1], want = new float[m * n + 1];
                        for (int i = 0; i < y.length; i++) y[i] = want[i] = (float) r.nextGaussian();
                        Gemm.linear(y, 1, x, 5, m, w, acc);
                        ScalarKQuantFloat.linear(want, 1, x, 5, m, w, acc, Vec.LANES);
                        for (int i = 0; i < y.length; i++)
                            assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(y[i]), n + "x" + k + " m=" + m + " acc=" + acc + " at " + i);
                    }
                }
            }
        }
    }

    @Test
    void rowRangesAndManyProductsEqualScalarTwin() {
        assumeFloatPath();
        SplittableRandom r = new SplittableRandom(13);
        int n = 2 * KQuantFloat.GROUP + 7, k = 1024;
        try (Arena a = Arena.ofShared()) {
            Matrix w = weight(a, n, k, r), w2 = weight(a, 9, k, r);
            float[] x = KQuantDotTest.row(r, 2 * k);
            Q8K q = Q8K.of(x, 0, 2 * k);
            for (int[] range : new int[][] {{0, n}, {3, n}, {1, KQuantFloat.GROUP + 2}, {5, 5 + KQuantFloat.GROUP}, {n - 1, n}}) {
                float[] y = new float[n + 2];
                QuantGemv.rows(y, 1, x, k, q, k, 1, w, false, range[0], range[1]);
                for (int o = range[0]; o < range[1]; o++)
                    assertEquals(Float.floatToRawIntBits(ScalarKQuantFloat.q4_k(w.data(), o * w.rowBytes(), x, k, k / 256, Vec.LANES)),
                            Float.floatToRawIntBits(y[1 + o]), "rows " + range[0] + ".." + range[1] + " row " + o);
            }
            // two products on the same input and one on another, as the MoE's gate/up and down jobs run them
            float[] y = new float[n + 9 + 9];
            Gemm.linearMany(3, new Matrix[] {w, w2, w2}, x, y, new int[] {0, 1, 0, 0, 1, n, k, 1, n + 9});
            for (int o = 0; o < n; o++)
                assertEquals(Float.floatToRawIntBits(ScalarKQuantFloat.q4_k(w.data(), o * w.rowBytes(), x, 0, k / 256, Vec.LANES)), Float.floatToRawIntBits(y[o]));
            for (int o = 0; o < 9; o++) {
                assertEquals(Float.floatToRawIntBits(ScalarKQuantFloat.q4_k(w2.data(), o * w2.rowBytes(), x, 0, k / 256, Vec.LANES)), Float.floatToRawIntBits(y[n + o]));
                assertEquals(Float.floatToRawIntBits(ScalarKQuantFloat.q4_k(w2.data(), o * w2.rowBytes(), x, k, k / 256, Vec.LANES)), Float.floatToRawIntBits(y[n + 9 + o]));
            }
        }
    }

    /** Against the double dot of the dequantized weights: within a few float roundings of sum |w_i x_i|. */
    @Test
    void closeToTheDequantizedDotInDouble() {
        SplittableRandom r = new SplittableRandom(17);
        int n = 64, k = 1536, nb = k / 256;
        try (Arena a = Arena.ofShared()) {
            Matrix w = weight(a, n, k, r);
            float[] x = KQuantDotTest.row(r, k);
            float[] xs = new float[nb * KQuantFloat.XS], acc = new float[KQuantFloat.GROUP * Vec.LANES], dec = new float[k];
            for (int b = 0; b < nb; b++) KQuantFloat.xsums(x, 256 * b, xs, KQuantFloat.XS * b);
            double worst = 0;
            for (int r0 = 0; r0 < n; r0 += KQuantFloat.GROUP) {
                KQuantFloat.q4_kRows(w.data(), r0 * w.rowBytes(), w.rowBytes(), KQuantFloat.GROUP, x, 0, xs, 0, nb, acc);
                for (int i = 0; i < KQuantFloat.GROUP; i++) {
                    for (int b = 0; b < nb; b++) Q4_K.dequantizeBlock(w.data(), (r0 + i) * w.rowBytes() + (long) b * Q4_K.BLOCK_BYTES, dec, 256 * b);
                    double dot = 0, mag = 0;
                    for (int c = 0; c < k; c++) {
                        dot += (double) dec[c] * x[c];
                        mag += Math.abs((double) dec[c] * x[c]);
                    }
                    worst = Math.max(worst, Math.abs(acc[i] - dot) / mag);
                }
            }
            // float summation over 1536 terms in a few chains (the int8 activations of the integer path move it far more)
            assertTrue(worst < 2e-5, "relative error " + worst);
            assertTrue(worst > 0, "a float kernel that matched double exactly on random data would be suspicious");
        }
    }

    private static void assumeFloatPath() {
        org.junit.jupiter.api.Assumptions.assumeTrue(QuantGemv.KQ_FLOAT, "jseek.kqFloat=false: Q4_K runs the integer kernel (KQuantDotTest)");
    }
}
