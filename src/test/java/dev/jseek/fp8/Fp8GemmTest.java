package dev.jseek.fp8;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The FP8 GEMM: the vectorized kernel against its scalar twin (bit-exact: same operation order per output), both
 * accumulation modes against an F64 product of the dequantized operands computed here (independent of
 * {@link Fp8Gemm#referenceF64}), and the accumulator model.
 */
class Fp8GemmTest {
    static float[] randn(SplittableRandom r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    /** sum_k deq(a) deq(b) and sum_k |deq(a) deq(b)| in double, from the tensors' own accessors. */
    static double[][] reference(Fp8Tensor a, Fp8Tensor b) {
        int m = a.rows(), n = b.rows(), k = a.cols();
        double[] c = new double[m * n], abs = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double s = 0, t = 0;
                for (int p = 0; p < k; p++) {
                    double v = (double) E4m3.decode(a.codes()[i * k + p]) * a.scaleAt(i, p) * ((double) E4m3.decode(b.codes()[j * k + p]) * b.scaleAt(j, p));
                    s += v;
                    t += Math.abs(v);
                }
                c[i * n + j] = s;
                abs[i * n + j] = t;
            }
        return new double[][] {c, abs};
    }

    record Case(Fp8Tensor a, Fp8Tensor b) {}

    /** 1D2D (b = weight in 128x128 blocks) or 1D1D (b in 1x128 tiles). */
    static Case make(long seed, int m, int n, int k, boolean oneD1D, ScaleFormat fmt) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = randn(r, m * k), b = randn(r, n * k);
        for (int i = 0; i < a.length; i += 37) a[i] *= 20;                  // outliers: varied tile scales
        Fp8Tensor qa = TileQuantizer.activation(a, m, k, fmt);
        Fp8Tensor qb = oneD1D ? TileQuantizer.activation(b, n, k, fmt) : TileQuantizer.weight(b, n, k, fmt);
        return new Case(qa, qb);
    }

    @Test
    void vectorKernelIsBitExactWithTheScalarTwin() {
        int[][] shapes = {{13, 37, 300}, {8, 64, 256}, {1, 1, 1}, {5, 33, 100}, {70, 70, 129}, {4, 200, 384}, {3, 17, 7168}};
        long seed = 10;
        for (int[] s : shapes)
            for (boolean oneD1D : new boolean[] {false, true})
                for (ScaleFormat fmt : ScaleFormat.values()) {
                    Case c = make(seed++, s[0], s[1], s[2], oneD1D, fmt);
                    float[] want = new float[s[0] * s[1]], got = new float[s[0] * s[1]];
                    ScalarFp8Gemm.gemm(c.a(), c.b(), want, false);
                    Fp8Gemm.gemm(c.a(), c.b(), got, false);
                    for (int i = 0; i < want.length; i++)
                        assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]),
                                "shape " + java.util.Arrays.toString(s) + " 1D1D=" + oneD1D + " " + fmt + " element " + i + ": " + want[i] + " vs " + got[i]);
                    // accumulate: c + acc, also bit-exact
                    SplittableRandom r = new SplittableRandom(seed);
                    float[] w2 = randn(r, want.length), g2 = w2.clone();
                    ScalarFp8Gemm.gemm(c.a(), c.b(), w2, true);
                    Fp8Gemm.gemm(c.a(), c.b(), g2, true);
                    assertArrayEquals(w2, g2);
                    for (float v : want) assertTrue(Float.isFinite(v));
                }
    }

    @Test
    void promotedGemmIsWithinTheFp32AccumulationBoundOfTheF64Product() {
        for (boolean oneD1D : new boolean[] {false, true}) {
            int m = 9, n = 40, k = 1000;                                     // 8 groups, the last one partial
            Case c = make(oneD1D ? 21 : 22, m, n, k, oneD1D, ScaleFormat.FP32);
            double[][] ref = reference(c.a(), c.b());
            float[] got = Fp8Gemm.gemm(c.a(), c.b());
            int groups = (k + 127) / 128;
            // sequential FP32 sums of <= 128 exact products (127 roundings), the scale product (1), the fma chain over
            // the groups (groups roundings): |C - R| <= (128 + groups + 2) u sum|products|, u = 2^-24
            double u = 0x1p-24, worst = 0;
            for (int i = 0; i < got.length; i++) {
                double err = Math.abs(got[i] - ref[0][i]), bound = (128 + groups + 2) * u * ref[1][i];
                assertTrue(err <= bound, "element " + i + ": error " + err + " > " + bound);
                worst = Math.max(worst, err / (u * ref[1][i]));
            }
            // the F64 reference of the package agrees with the one computed here
            double[] pkg = Fp8Gemm.referenceF64(c.a(), c.b());
            for (int i = 0; i < got.length; i++) assertEquals(ref[0][i], pkg[i], 1e-12 * ref[1][i]);
            System.out.printf("promoted FP8 GEMM (1D1D=%s, K=%d): worst |C-R| = %.2f u sum|x| (bound %d)%n", oneD1D, k, worst, 128 + groups + 2);
        }
    }

    @Test
    void limitedAccumulationWithoutPromotionIsMeasurablyWorseAndGrowsWithK() {
        int m = 32, n = 32;
        LimitedAccumulator acc = LimitedAccumulator.HOPPER_LIKE;
        double[] unpromotedMean = new double[3], unpromotedMax = new double[3];
        int[] ks = {512, 1024, 4096};
        for (int t = 0; t < ks.length; t++) {
            int k = ks[t];
            Case c = make(100 + k, m, n, k, false, ScaleFormat.FP32);
            double[] ref = reference(c.a(), c.b())[0];
            GemmError promoted = GemmError.of(Fp8Gemm.gemm(c.a(), c.b()), ref);
            GemmError limitedPromoted = GemmError.of(Fp8Gemm.limited(c.a(), c.b(), acc, true), ref);
            GemmError unpromoted = GemmError.of(Fp8Gemm.limited(c.a(), c.b(), acc, false), ref);
            System.out.printf("K=%5d  max/mean rel error: promoted FP32 %.2e/%.2e, 14-bit+promotion %.2e/%.2e, 14-bit no promotion %.2e/%.2e%n",
                    k, promoted.maxRel(), promoted.meanRel(), limitedPromoted.maxRel(), limitedPromoted.meanRel(), unpromoted.maxRel(), unpromoted.meanRel());
            assertTrue(unpromoted.maxRel() > 20 * promoted.maxRel(), "K=" + k + ": no promotion should be much worse");
            assertTrue(unpromoted.meanRel() > 20 * promoted.meanRel());
            assertTrue(unpromoted.meanRel() > limitedPromoted.meanRel(), "promotion every 128 should help at K=" + k);
            assertTrue(promoted.maxRel() < 1e-5, "promoted FP32 accumulation at K=" + k);
            unpromotedMean[t] = unpromoted.meanRel();
            unpromotedMax[t] = unpromoted.maxRel();
        }
        assertTrue(unpromotedMean[2] > 1.5 * unpromotedMean[0], "the unpromoted error should grow with K");
        assertTrue(unpromotedMax[2] > unpromotedMax[0]);
    }

    @Test
    void a24BitRoundToNearestAccumulatorWithPromotionReproducesTheFp32Gemm() {
        // 24 significant bits, one product per update, ties to even: the accumulator is FP32 addition, so the limited
        // path must reproduce the promoted FP32 GEMM bit for bit (an independent implementation of the same order)
        LimitedAccumulator fp32 = new LimitedAccumulator(24, 1, LimitedAccumulator.Rounding.NEAREST_EVEN);
        for (boolean oneD1D : new boolean[] {false, true}) {
            Case c = make(oneD1D ? 31 : 32, 6, 20, 700, oneD1D, ScaleFormat.FP32);
            assertArrayEquals(Fp8Gemm.gemm(c.a(), c.b()), Fp8Gemm.limited(c.a(), c.b(), fp32, true));
        }
    }

    @Test
    void accumulatorRoundingMatchesIndependentDefinitions() {
        SplittableRandom r = new SplittableRandom(40);
        LimitedAccumulator f32 = new LimitedAccumulator(24, 32, LimitedAccumulator.Rounding.NEAREST_EVEN);
        LimitedAccumulator t14 = new LimitedAccumulator(14, 32, LimitedAccumulator.Rounding.TOWARD_ZERO);
        LimitedAccumulator n8 = new LimitedAccumulator(8, 4, LimitedAccumulator.Rounding.NEAREST_EVEN);
        for (int i = 0; i < 100_000; i++) {
            double x = r.nextGaussian() * Math.pow(2, r.nextInt(-30, 30));
            assertEquals((double) (float) x, f32.round(x), 0.0);                        // float cast is RNE to 24 bits
            long bits = Double.doubleToRawLongBits(x);
            assertEquals(Double.longBitsToDouble(bits & ~((1L << (52 - 13)) - 1)), t14.round(x), 0.0); // truncate mantissa
            float xf = (float) x;                                                       // bf16 RNE of a float
            int fb = Float.floatToRawIntBits(xf);
            float bf = Float.intBitsToFloat((fb + 0x7FFF + ((fb >> 16) & 1)) & 0xFFFF0000);
            assertEquals((double) bf, n8.round(xf), 0.0);
        }
        assertEquals(0.0, t14.round(0.0));
        assertThrows(IllegalArgumentException.class, () -> new LimitedAccumulator(14, 3, LimitedAccumulator.Rounding.NEAREST_EVEN));
        assertThrows(IllegalArgumentException.class, () -> new LimitedAccumulator(25, 4, LimitedAccumulator.Rounding.NEAREST_EVEN));
    }

    @Test
    void badOperandsAreRejected() {
        Case c = make(50, 4, 4, 256, false, ScaleFormat.FP32);
        assertThrows(IllegalArgumentException.class, () -> Fp8Gemm.gemm(c.b(), c.b()));            // A in blocks
        Case d = make(51, 4, 4, 384, false, ScaleFormat.FP32);
        var e = assertThrows(IllegalArgumentException.class, () -> Fp8Gemm.gemm(c.a(), d.b()));
        assertTrue(e.getMessage().contains("K must match"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Fp8Gemm.gemm(c.a(), c.b(), new float[15], false));
        Fp8Tensor colTiles = TileQuantizer.quantize(new float[256 * 4], 0, 4, 256, 128, 1, ScaleFormat.FP32);
        assertThrows(IllegalArgumentException.class, () -> Fp8Gemm.gemm(c.a(), colTiles));
    }
}
