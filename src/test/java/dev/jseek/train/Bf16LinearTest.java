package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.tensor.Bf16;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link Precision#BF16} Linears (report §3.3): Fprop, Dgrad and Wgrad through {@link Linear}'s precision overloads equal
 * an F64 product of the BF16-rounded operands within FP32-accumulation error, differ from FP32 mode by far more than
 * that (so the rounding happens), leave the inputs unchanged, and a BF16 model's loss tracks the FP32 model's.
 */
class Bf16LinearTest {
    static final int M = 7, IN = 150, OUT = 133, OFF = 5;

    static float[] rand(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * (0.5 + r.nextDouble()));
        return a;
    }

    /** An operand element (i, k) as a double. */
    interface Acc { double at(int i, int k); }

    static double r(float f, boolean bf16) { return bf16 ? Bf16.round(f) : f; }

    /**
     * Checks got[cOff + i*n + j] against init + sum_k a(i,k) b(k,j) in F64 within the FP32 accumulation bound
     * (k + 2) eps sum |terms|, and that the FP32 path's result fp32 is farther away than 20x that bound somewhere.
     */
    static void check(String what, float[] got, int cOff, float[] init, int mm, int n, int k, Acc a, Acc b, float[] fp32) {
        double worstDiffVsFp32 = 0, worstTol = 0;
        for (int i = 0; i < mm; i++)
            for (int j = 0; j < n; j++) {
                double ref = init == null ? 0 : init[cOff + i * n + j], abs = Math.abs(ref);
                for (int q = 0; q < k; q++) { double p = a.at(i, q) * b.at(q, j); ref += p; abs += Math.abs(p); }
                double tol = (k + 2) * Math.ulp(1f) * abs + 1e-30;
                double g = got[cOff + i * n + j];
                assertEquals(ref, g, tol, what + " [" + i + "," + j + "]");
                worstDiffVsFp32 = Math.max(worstDiffVsFp32, Math.abs(g - fp32[cOff + i * n + j]));
                worstTol = Math.max(worstTol, tol);
            }
        assertTrue(worstDiffVsFp32 > 20 * worstTol, what + ": BF16 result should differ from FP32 by more than FP32 rounding: "
                + worstDiffVsFp32 + " vs tol " + worstTol);
    }

    @Test void threeGemmsMatchF64OfRoundedOperands() {
        SplittableRandom rnd = new SplittableRandom(7);
        float[] x = rand(rnd, OFF + M * IN), w = rand(rnd, OFF + OUT * IN), dy = rand(rnd, OFF + M * OUT);
        float[] x0 = x.clone(), w0 = w.clone(), dy0 = dy.clone();
        Acc xr = (i, k) -> r(x[OFF + i * IN + k], true), wr = (k, j) -> r(w[OFF + j * IN + k], true);
        // Fprop: Y[m, out] = X W^T
        float[] y = rand(rnd, OFF + M * OUT), y32 = y.clone();
        Linear.forward(Precision.BF16, y, OFF, x, OFF, w, OFF, M, IN, OUT);
        Linear.forward(Precision.FP32, y32, OFF, x, OFF, w, OFF, M, IN, OUT);
        check("fprop", y, OFF, null, M, OUT, IN, xr, wr, y32);
        // Dgrad: dX[m, in] += dY W
        float[] dx = rand(rnd, OFF + M * IN), dxInit = dx.clone(), dx32 = dx.clone();
        Linear.backwardInput(Precision.BF16, dx, OFF, dy, OFF, w, OFF, M, IN, OUT);
        Linear.backwardInput(Precision.FP32, dx32, OFF, dy, OFF, w, OFF, M, IN, OUT);
        check("dgrad", dx, OFF, dxInit, M, IN, OUT, (i, k) -> r(dy[OFF + i * OUT + k], true), (k, j) -> r(w[OFF + k * IN + j], true), dx32);
        // Wgrad: dW[out, in] += dY^T X
        float[] dw = rand(rnd, OFF + OUT * IN), dwInit = dw.clone(), dw32 = dw.clone();
        Linear.backwardWeight(Precision.BF16, dw, OFF, dy, OFF, x, OFF, M, IN, OUT);
        Linear.backwardWeight(Precision.FP32, dw32, OFF, dy, OFF, x, OFF, M, IN, OUT);
        check("wgrad", dw, OFF, dwInit, OUT, IN, M, (i, k) -> r(dy[OFF + k * OUT + i], true), (k, j) -> r(x[OFF + k * IN + j], true), dw32);
        assertArrayEquals(x0, x);
        assertArrayEquals(w0, w);
        assertArrayEquals(dy0, dy);
        // the untouched prefix before the offset stays as it was
        assertArrayEquals(Arrays.copyOf(dxInit, OFF), Arrays.copyOf(dx, OFF));
    }

    @Test void bf16ModelTracksFp32AndIsDeterministic() {
        var c = Harness.tinyMoe();
        int B = 2, T = 6;
        TrainModel m = new TrainModel(c, B, T);
        Harness.randomParams(m.layout(), m.params(), 3);
        int[][] d = Fp8TrainingTest.data(c, B, T, 4);
        var r32 = Fp8TrainingTest.run(m, d, B, T);
        m.setPrecision(Precision.BF16);
        assertEquals(Precision.BF16, m.precision());
        var b1 = Fp8TrainingTest.run(m, d, B, T);
        var b2 = Fp8TrainingTest.run(m, d, B, T);
        assertEquals(b1.loss(), b2.loss());
        assertArrayEquals(b1.grads(), b2.grads());
        assertNotEquals(r32.loss(), b1.loss(), "BF16 must round something");
        assertEquals(r32.loss(), b1.loss(), 1e-2 * r32.loss(), "BF16 loss near FP32");
        double dot = 0, n32 = 0, n16 = 0;
        for (int i = 0; i < r32.grads().length; i++) {
            dot += (double) r32.grads()[i] * b1.grads()[i];
            n32 += (double) r32.grads()[i] * r32.grads()[i];
            n16 += (double) b1.grads()[i] * b1.grads()[i];
        }
        assertTrue(dot / Math.sqrt(n32 * n16) > 0.98, "gradient cosine (top-k routing can flip) " + dot / Math.sqrt(n32 * n16));
        m.setPrecision(Precision.FP32);
        var again = Fp8TrainingTest.run(m, d, B, T);
        assertEquals(r32.loss(), again.loss());
        assertArrayEquals(r32.grads(), again.grads());
    }

    /** The vectorized rounding equals the scalar Bf16.round bit for bit: ties, carries into the exponent, subnormals,
     * infinities, overflow to infinity, NaNs (quiet and signalling, both signs) and random bit patterns. */
    @Test void vectorRoundingEqualsScalarTwin() {
        SplittableRandom rnd = new SplittableRandom(3);
        int n = 1 << 16;
        float[] src = new float[n + 3];
        int[] special = {0, 0x80000000, 0x00008000, 0x00018000, 0x3F808000, 0x3F818000, 0x3F80FFFF, 0x7F7FFFFF, 0x7F7F8000,
                0x7F800000, 0xFF800000, 0x7FC00000, 0x7F800001, 0xFF800001, 0x00000001, 0x007FFFFF, 0x3FFFFFFF, 0x47FFFFFF};
        for (int i = 0; i < src.length; i++)
            src[i] = Float.intBitsToFloat(i >= 3 && i - 3 < special.length ? special[i - 3] : (i & 3) == 0 ? (rnd.nextInt() & 0xFFFF8000) | 0x8000 : rnd.nextInt());
        float[] dst = new float[n + 7];
        Bf16Linear.round(src, 3, dst, 7, n);
        for (int i = 0; i < n; i++)
            assertEquals(Float.floatToRawIntBits(Bf16.round(src[3 + i])), Float.floatToRawIntBits(dst[7 + i]),
                    "bits " + Integer.toHexString(Float.floatToRawIntBits(src[3 + i])));
    }
}
