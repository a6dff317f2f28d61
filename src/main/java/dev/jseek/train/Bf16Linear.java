package dev.jseek.train;

import dev.jseek.kernels.Gemm;
import dev.jseek.tensor.Bf16;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The three GEMMs of a bias-free Linear in BF16, the baseline the report compares FP8 training against (report
 * §3.3): both operands of Fprop (X, W), Dgrad (dY, W) and Wgrad (dY, X) are rounded to bfloat16 (nearest, ties
 * to even; {@link Bf16#round}) and multiplied with FP32 accumulation and FP32 outputs, as BF16 tensor cores compute.
 * Same signatures and layouts as {@link Linear}: W is [out, in] row-major, X [m, in], Y [m, out]. The rounded copies
 * live in per-thread scratch; the callers' arrays are not modified.
 */
public final class Bf16Linear {
    private Bf16Linear() {}

    /** Per-thread scratch for the two rounded operands. */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[][] {new float[0], new float[0]});

    /** Slot {@code i} of this thread's scratch, holding src[off..off+n) rounded to BF16. */
    static float[] rounded(int slot, float[] src, int off, int n) {
        float[][] s = SCRATCH.get();
        if (s[slot].length < n) s[slot] = new float[n];
        float[] d = s[slot];
        round(src, off, d, 0, n);
        return d;
    }

    private static final VectorSpecies<Float> F = dev.jseek.kernels.Vec.F;

    /**
     * dst[dOff + i] = {@link Bf16#round}(src[off + i]) for i < n, vectorized: round to nearest even on the float bits
     * (add 0x7FFF plus the lowest kept bit, clear the low 16 bits); a vector holding a NaN takes the scalar path,
     * which keeps NaNs quiet. Bit-identical to the scalar {@link Bf16#round} (tested).
     */
    static void round(float[] src, int off, float[] dst, int dOff, int n) {
        int i = 0;
        for (; i <= n - F.length(); i += F.length()) {
            FloatVector v = FloatVector.fromArray(F, src, off + i);
            if (v.test(VectorOperators.IS_NAN).anyTrue()) {
                for (int j = i; j < i + F.length(); j++) dst[dOff + j] = Bf16.round(src[off + j]);
                continue;
            }
            IntVector b = v.reinterpretAsInts();
            b = b.add(b.lanewise(VectorOperators.LSHR, 16).and(1)).add(0x7FFF).and(0xFFFF0000);
            b.reinterpretAsFloats().intoArray(dst, dOff + i);
        }
        for (; i < n; i++) dst[dOff + i] = Bf16.round(src[off + i]);
    }

    /** Y[m, out] = bf16(X)[m, in] bf16(W)^T (overwrites Y). */
    public static void forward(float[] y, int yOff, float[] x, int xOff, float[] w, int wOff, int m, int in, int out) {
        if (m == 0) return;
        float[] xb = rounded(0, x, xOff, m * in), wb = rounded(1, w, wOff, out * in);
        Gemm.sgemm(false, true, m, out, in, 1f, xb, 0, in, wb, 0, in, 0f, y, yOff, out);
    }

    /** dX[m, in] += bf16(dY)[m, out] bf16(W). */
    public static void backwardInput(float[] dx, int dxOff, float[] dy, int dyOff, float[] w, int wOff, int m, int in, int out) {
        if (m == 0) return;
        float[] dyb = rounded(0, dy, dyOff, m * out), wb = rounded(1, w, wOff, out * in);
        Gemm.sgemm(false, false, m, in, out, 1f, dyb, 0, out, wb, 0, in, 1f, dx, dxOff, in);
    }

    /** dW[out, in] += bf16(dY)[m, out]^T bf16(X)[m, in]. */
    public static void backwardWeight(float[] dw, int dwOff, float[] dy, int dyOff, float[] x, int xOff, int m, int in, int out) {
        if (m == 0) return;
        float[] dyb = rounded(0, dy, dyOff, m * out), xb = rounded(1, x, xOff, m * in);
        Gemm.sgemm(true, false, out, in, m, 1f, dyb, 0, out, xb, 0, in, 1f, dw, dwOff, in);
    }
}
