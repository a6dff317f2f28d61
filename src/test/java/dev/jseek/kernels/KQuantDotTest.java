package dev.jseek.kernels;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.kernels.scalar.ScalarKQuantDot;
import dev.jseek.kernels.scalar.ScalarKQuantFloat;
import dev.jseek.kernels.scalar.ScalarQ8K;
import dev.jseek.kernels.scalar.ScalarWeightRows;
import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import dev.jseek.tensor.Q4_K;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The integer K-quant decode path: {@link Q8K} activation quantization against its scalar twin {@link ScalarQ8K}
 * (bit for bit, edge cases included), the GEMV on Q4_K/Q5_K/Q6_K weights ({@link KQuantDot} through
 * {@link Gemm#linear} and {@link Gemm#linearMany}) against {@link ScalarKQuantDot} (bit for bit), and the integer
 * result against the float dot of the reference-dequantized weights (double sums): every output within the
 * worst-case activation rounding bound, and each output's squared error over the variance uniform rounding of the
 * activations predicts (sum_i w_i^2 d^2 / 12) about 1 on average over 384 outputs (a misplaced scale or code would
 * put it far above, activations left in float far below).
 * The suite reruns this class at -Djseek.vectorBits=256.
 */
class KQuantDotTest {
    static float[] row(SplittableRandom r, int k) {
        float[] x = new float[k];
        for (int b = 0; b < k / 256; b++) {
            double s = Math.pow(10, r.nextDouble(-4, 3));
            for (int i = 0; i < 256; i++) x[256 * b + i] = (float) (r.nextGaussian() * s);
        }
        return x;
    }

    static void assertSameQuantization(float[] x, int k, String what) {
        Q8K v = Q8K.of(x, 0, k);
        ScalarQ8K s = ScalarQ8K.of(x, 0, k);
        for (int b = 0; b < k / 256; b++)
            assertEquals(Float.floatToRawIntBits(s.d()[b]), Float.floatToRawIntBits(v.scale(b)), what + " d of block " + b);
        for (int i = 0; i < k; i++) assertEquals(s.q()[i], v.code(i), what + " code " + i);
        for (int g = 0; g < k / 32; g++) assertEquals(s.bsum()[g], v.groupSum(g), what + " sum of group " + g);
        for (int g = 0; g < k / 16; g++) assertEquals(s.bsum16()[g], v.groupSum16(g), what + " sum of 16-group " + g);
    }

    @Test
    void runsAtTheRequestedWidth() {
        String bits = System.getProperty("jseek.vectorBits");           // set by the vector-256 rerun of this class
        if (bits != null) assertEquals(Integer.parseInt(bits.trim()), Vec.F.vectorBitSize());
    }

    @Test
    void activationQuantizationEqualsScalarTwin() {
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < 20; i++) assertSameQuantization(row(r, 1024), 1024, "random " + i);
        float[] x = row(r, 2048);
        java.util.Arrays.fill(x, 0, 256, 0f);                    // all zero: d = 0
        x[256 + 7] = Float.NaN;                                    // NaN: d = NaN, codes 0
        x[512 + 100] = Float.NEGATIVE_INFINITY;                    // infinity: the same
        for (int i = 768; i < 1024; i++) x[i] = 1e-38f * (i % 5 - 2); // scale overflows: d = 0
        for (int i = 1024; i < 1280; i++) x[i] = 0.25f * ((i % 9) - 4); // ties: first of -1 and 1 sets the sign
        x[1280 + 3] = -5f;
        x[1280 + 200] = 5f;
        for (int i = 1536; i < 1792; i++) x[i] = (i % 2 == 0 ? 1 : -1) * (i - 1536) / 254f * 0.5f; // exact halves
        assertSameQuantization(x, 2048, "edges");
        Q8K v = Q8K.of(x, 0, 2048);
        assertEquals(0f, v.scale(0));
        assertTrue(Float.isNaN(v.scale(1)) && Float.isNaN(v.scale(2)));
        assertEquals(0f, v.scale(3));
        assertEquals(-127, v.code(1025));                          // x = +1 comes first: iscale = -127
        assertEquals(127, v.code(1026));
        assertEquals(127, v.code(1280 + 200));                     // -5 comes first: iscale = 127/5
        assertEquals(-127, v.code(1280 + 3));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q4_K", "Q5_K", "Q6_K"})
    void gemvEqualsScalarTwinBitForBit(DType t) {
        SplittableRandom r = new SplittableRandom(t.ordinal() * 7L);
        try (Arena a = Arena.ofShared()) {
            for (int[] shape : new int[][] {{1, 256}, {5, 512}, {17, 768}, {70, 1536}, {3, 2304}}) {
                int n = shape[0], k = shape[1];
                Matrix w = QuantKernelsTest.onNative(a, t, n, k, QuantKernelsTest.randomWeight(t, n, k, r), 3);
                for (int m : new int[] {1, 2, 3, 4, Gemv.QUANT_INT_MAX_M}) {
                    float[] x = new float[m * k + 5];
                    for (int tk = 0; tk < m; tk++) System.arraycopy(row(r, k), 0, x, 5 + tk * k, k);
                    for (boolean acc : new boolean[] {false, true}) {
                        float[] y = new float[m * n + 1], want = new float[m * n + 1];
                        for (int i = 0; i < y.length; i++) y[i] = want[i] = (float) r.nextGaussian();
                        float[] y0 = y.clone();
                        Gemm.linear(y, 1, x, 5, m, w, acc);
                        if (t == DType.Q4_K && QuantGemv.KQ_FLOAT) {
                            // the default Q4_K path is the float kernel (KQuantFloatTest); the integer one runs here on its own
                            float[] wantF = want.clone();
                            ScalarKQuantFloat.linear(wantF, 1, x, 5, m, w, acc, Vec.LANES);
                            for (int i = 0; i < y.length; i++)
                                assertEquals(Float.floatToRawIntBits(wantF[i]), Float.floatToRawIntBits(y[i]), "float " + n + "x" + k + " m=" + m + " acc=" + acc + " at " + i);
                            Q8K q = new Q8K();
                            q.ensure(m * k);
                            for (int tk = 0; tk < m; tk++) q.quantize(x, 5 + tk * k, k, tk * k);
                            y = y0;
                            QuantGemv.rows(y, 1, x, 5, q, 0, m, w, acc, 0, n, false);
                        }
                        ScalarKQuantDot.linear(want, 1, x, 5, m, w, acc);
                        for (int i = 0; i < y.length; i++)
                            assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(y[i]), t + " " + n + "x" + k + " m=" + m + " acc=" + acc + " at " + i);
                    }
                }
            }
        }
    }

    /**
     * The one-token row groups ({@link KQuantDot#q4_kRows}, {@link KQuantDot#q6_kRows}: {@link KQuantDot#GROUP} rows
     * per call, the default of the decode GEMV) against the scalar twin bit for bit, through {@link QuantGemv#rows}
     * on row ranges that start anywhere and end in a partial group, at 1 to 6 super-blocks per row; activation blocks
     * at scales from 1e-4 to 1e3 and one all-zero block (d = 0) and one holding a NaN (d = NaN) among them.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q4_K", "Q6_K"})
    void rowGroupsEqualScalarTwinBitForBit(DType t) {
        SplittableRandom r = new SplittableRandom(t.ordinal() * 31L);
        int n = 2 * KQuantDot.GROUP + 7;
        try (Arena a = Arena.ofShared()) {
            for (int nb = 1; nb <= 6; nb++) {
                int k = 256 * nb;
                Matrix w = QuantKernelsTest.onNative(a, t, n, k, QuantKernelsTest.randomWeight(t, n, k, r), 1);
                float[] x = row(r, k);
                if (nb >= 3) {
                    java.util.Arrays.fill(x, 256, 512, 0f);
                    x[512 + 17] = Float.NaN;
                }
                ScalarQ8K sq = ScalarQ8K.of(x, 0, k);
                Q8K q = Q8K.of(x, 0, k);
                for (int[] range : new int[][] {{0, n}, {3, n}, {1, KQuantDot.GROUP + 2}, {5, 5 + KQuantDot.GROUP}}) {
                    for (boolean acc : new boolean[] {false, true}) {
                        float[] y = new float[n + 2];
                        for (int i = 0; i < y.length; i++) y[i] = (float) r.nextGaussian();
                        float[] old = y.clone();
                        QuantGemv.rows(y, 1, x, 0, q, 0, 1, w, acc, range[0], range[1], false);
                        for (int o = 0; o < n; o++) {
                            float want = old[1 + o];
                            if (o >= range[0] && o < range[1]) {
                                float v = ScalarKQuantDot.dot(t, w.data(), o * w.rowBytes(), sq, nb);
                                want = acc ? want + v : v;
                            }
                            assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(y[1 + o]),
                                    t + " nb=" + nb + " rows " + range[0] + ".." + range[1] + " acc=" + acc + " row " + o);
                        }
                    }
                }
            }
        }
    }

    /**
     * The token-pair row kernels (the default from 2 tokens) give each token exactly the one-token kernel's bits, at
     * this run's vector width.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q4_K", "Q6_K"})
    void pairsEqualOneTokenAtATime(DType t) {
        SplittableRandom r = new SplittableRandom(23);
        int n = 9, k = 1024, nb = k / 256;
        try (Arena a = Arena.ofShared()) {
            Matrix w = QuantKernelsTest.onNative(a, t, n, k, QuantKernelsTest.randomWeight(t, n, k, r), 2);
            float[] x = new float[4 * k];
            for (int tk = 0; tk < 4; tk++) System.arraycopy(row(r, k), 0, x, tk * k, k);
            Q8K q = new Q8K();
            q.ensure(4 * k);
            for (int tk = 0; tk < 4; tk++) q.quantize(x, tk * k, k, tk * k);
            float[] two = new float[2];
            for (int o = 0; o < n; o++) {
                long p = o * w.rowBytes();
                float[] one = new float[4];
                for (int tk = 0; tk < 4; tk++)
                    one[tk] = t == DType.Q4_K ? KQuantDot.q4_k(w.data(), p, q, tk * k, nb) : KQuantDot.q6_k(w.data(), p, q, tk * k, nb);
                if (t == DType.Q4_K) KQuantDot.q4_k2(w.data(), p, q, 2 * k, 0, nb, two);
                else KQuantDot.q6_k2(w.data(), p, q, 2 * k, 0, nb, two);
                assertEquals(Float.floatToRawIntBits(one[2]), Float.floatToRawIntBits(two[0]), t + " pair row " + o);
                assertEquals(Float.floatToRawIntBits(one[0]), Float.floatToRawIntBits(two[1]), t + " pair row " + o);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q4_K", "Q5_K", "Q6_K"})
    void aTokenGetsTheSameBitsInAnyBatchUpToTheIntegerLimit(DType t) {
        SplittableRandom r = new SplittableRandom(17);
        int n = 33, k = 768, m = Gemv.QUANT_INT_MAX_M;
        try (Arena a = Arena.ofShared()) {
            Matrix w = QuantKernelsTest.onNative(a, t, n, k, QuantKernelsTest.randomWeight(t, n, k, r), 1);
            float[] x = new float[m * k];
            for (int tk = 0; tk < m; tk++) System.arraycopy(row(r, k), 0, x, tk * k, k);
            float[] all = new float[m * n], one = new float[n];
            Gemm.linear(all, 0, x, 0, m, w, false);
            for (int tk = 0; tk < m; tk++) {
                Gemm.linear(one, 0, x, tk * k, 1, w, false);
                for (int o = 0; o < n; o++)
                    assertEquals(Float.floatToRawIntBits(one[o]), Float.floatToRawIntBits(all[tk * n + o]), t + " token " + tk + " of " + m + " row " + o);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q4_K", "Q5_K", "Q6_K"})
    void linearManyEqualsSingleProducts(DType t) {
        SplittableRandom r = new SplittableRandom(99);
        int k = 512;
        try (Arena a = Arena.ofShared()) {
            Matrix[] w = new Matrix[4];
            int[] rows = {130, 64, 7, 200};
            for (int i = 0; i < 4; i++) w[i] = QuantKernelsTest.onNative(a, t, rows[i], k, QuantKernelsTest.randomWeight(t, rows[i], k, r), i);
            float[] x = new float[3 * k];
            for (int tk = 0; tk < 3; tk++) System.arraycopy(row(r, k), 0, x, tk * k, k);
            // products 0 and 1 share their input (gate and up), 2 reads one token, 3 two others
            int[] jobs = {0, 2, 0, 0, 2, 260, k, 1, 388, k, 2, 395};
            float[] y = new float[795], want = new float[795];
            Gemm.linearMany(4, w, x, y, jobs);
            for (int i = 0; i < 4; i++) Gemm.linear(want, jobs[3 * i + 2], x, jobs[3 * i], jobs[3 * i + 1], w[i], false);
            for (int i = 0; i < y.length; i++) assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(y[i]), t + " at " + i);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q4_K", "Q5_K", "Q6_K"})
    void integerDotIsTheFloatDotUpToActivationRounding(DType t) {
        SplittableRandom r = new SplittableRandom(5 + t.ordinal());
        int n = 96, k = 1536;
        try (Arena a = Arena.ofShared()) {
            Matrix w = QuantKernelsTest.onNative(a, t, n, k, QuantKernelsTest.randomWeight(t, n, k, r), 0);
            float[] dec = new float[n * k];
            for (int o = 0; o < n; o++) ScalarWeightRows.decodeRow(w, o, dec, o * k);
            double z = 0;
            int count = 0;
            for (int trial = 0; trial < 4; trial++) {
                float[] x = row(r, k), y = new float[n];
                QuantGemv.rows(y, 0, x, 0, Q8K.of(x, 0, k), 0, 1, w, false, 0, n, false);   // Q4_K: the integer kernel, whatever jseek.kqFloat
                float[] dx = new float[k / 256];
                for (int b = 0; b < k / 256; b++) dx[b] = Q8K.of(x, 256 * b, 256).scale(0);
                for (int o = 0; o < n; o++) {
                    double ref = 0, absW = 0, mag = 0, var = 0;
                    for (int c = 0; c < k; c++) {
                        double wi = dec[o * k + c], d = Math.abs(dx[c / 256]);
                        ref += wi * x[c];
                        absW += Math.abs(wi) * d;
                        mag += (Math.abs(wi) + 2 * minPart(t, w, o, c)) * (Math.abs(x[c]) + 128 * d);
                        var += wi * wi * d * d / 12;
                    }
                    double err = y[o] - ref;
                    assertTrue(Math.abs(err) <= 0.50002 * absW + 1e-6 * mag + 1e-30,
                            t + " row " + o + ": integer " + y[o] + " vs float " + ref + " (bound " + (0.50002 * absW + 1e-6 * mag) + ")");
                    z += err * err / var;
                    count++;
                }
            }
            z /= count;
            assertTrue(z > 0.7 && z < 1.3, t + ": mean squared error over the variance uniform activation rounding predicts is " + z + ", not about 1");
        }
    }

    /** |dmin * m_j| of element c of row o (Q4_K/Q5_K; 0 for Q6_K): the part of w that cancels in |w|. */
    private static double minPart(DType t, Matrix w, int o, int c) {
        if (t == DType.Q6_K) return 0;
        long p = o * w.rowBytes() + (long) (c / 256) * t.blockBytes;
        float dmin = Float.float16ToFloat(w.data().get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), p + 2));
        return Math.abs((double) dmin * Q4_K.min(w.data(), p + Q4_K.SCALES, (c % 256) / 32));
    }
}
