package dev.jseek.kernels;

import java.util.Objects;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Element-wise and row kernels of the forward pass (RMSNorm, softmax, SwiGLU, interleaved RoPE of docs/architecture.md §3.5, top-k
 * for routing and sampling, and BLAS-1 helpers), Vector API versions. All operate on row-major float arrays with
 * explicit offsets; ranges are checked on entry (the launcher turns the Vector API's own checks off). Sums are
 * accumulated in float vector lanes, so results differ from the scalar twins
 * ({@link dev.jseek.kernels.scalar.ScalarOps}, double accumulation) at rounding level only.
 */
public final class Ops {
    private Ops() {}

    private static final VectorSpecies<Float> F = Vec.F;
    private static final int L = F.length();

    /** Lane permutation for RoPE: [0,0,1,1,...] (duplicate the first L/2 lanes pairwise). */
    private static final VectorShuffle<Float> DUP = VectorShuffle.fromOp(F, i -> i / 2);
    /** Lane permutation for RoPE: swap the two elements of each pair. */
    private static final VectorShuffle<Float> SWAP = VectorShuffle.fromOp(F, i -> i ^ 1);
    /** -1 on even lanes, +1 on odd lanes. */
    private static final FloatVector ALT_SIGN = FloatVector.fromArray(F, altSign(), 0);

    private static float[] altSign() {
        float[] a = new float[L];
        for (int i = 0; i < L; i++) a[i] = (i & 1) == 0 ? -1f : 1f;
        return a;
    }

    private static void range(float[] a, int off, int n, String what) {
        Objects.requireNonNull(a, what);
        Objects.checkFromIndexSize(off, n, a.length);
    }

    /** out[o..o+n) = w * x / sqrt(mean(x^2) + eps); returns the reciprocal RMS (kept for backward). */
    public static float rmsNorm(float[] out, int outOff, float[] x, int xOff, float[] w, int n, float eps) {
        return rmsNorm(out, outOff, x, xOff, w, 0, n, eps);
    }

    /**
     * The RMSNorm row of inference and training alike: r = 1 / sqrt(sum(x^2) / n + eps) (the sum by
     * {@link #sumSquares}, the mean and root in double, r rounded to float once), then out = w * (x * r); returns r.
     */
    public static float rmsNorm(float[] out, int outOff, float[] x, int xOff, float[] w, int wOff, int n, float eps) {
        float r = (float) (1.0 / Math.sqrt(sumSquares(x, xOff, n) / n + eps));
        rmsNormApply(out, outOff, x, xOff, w, wOff, n, r);
        return r;
    }

    /** out[o..o+n) = w * (x * r) with a given reciprocal RMS r (training's recomputation from the saved r). */
    public static void rmsNormApply(float[] out, int outOff, float[] x, int xOff, float[] w, int wOff, int n, float r) {
        range(out, outOff, n, "out");
        range(x, xOff, n, "x");
        range(w, wOff, n, "w");
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector v = FloatVector.fromArray(F, x, xOff + i).mul(r);
            FloatVector.fromArray(F, w, wOff + i).mul(v).intoArray(out, outOff + i);
        }
        for (; i < n; i++) out[outOff + i] = w[wOff + i] * (x[xOff + i] * r);
    }

    /**
     * Sum of x^2 over x[off..off+n): x^2 accumulated by fused multiply-adds in one vector of float lanes, the lanes
     * added by {@link Vec#sum}, the tail added in double (the training and inference RMSNorm row alike).
     */
    public static double sumSquares(float[] x, int off, int n) {
        range(x, off, n, "x");
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector v = FloatVector.fromArray(F, x, off + i);
            acc = v.fma(v, acc);
        }
        double s = Vec.sum(acc);
        for (; i < n; i++) s += x[off + i] * x[off + i];
        return s;
    }

    /**
     * In-place softmax of x[off..off+n) (max-subtracted, FP32). The exponentials are {@link Exp}'s: each element's
     * e^x is the same bits whether it falls in a vector or in the scalar tail, under every JIT tier.
     */
    public static void softmax(float[] x, int off, int n) {
        range(x, off, n, "x");
        if (n == 0) return;
        double sum = expSub(x, off, x, off, n, max(x, off, n));
        scale(x, off, n, (float) (1.0 / sum));
    }

    /**
     * y[yo+i] = e^(x[xo+i] - sub) for i < n ({@link Exp}); returns their sum: float vector lanes, then the lanes
     * ({@link Vec#sum}) and the tail in double. The softmax of inference and the cross-entropy of training alike.
     */
    public static double expSub(float[] y, int yo, float[] x, int xo, int n, float sub) {
        range(x, xo, n, "x");
        range(y, yo, n, "y");
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector e = Exp.exp(FloatVector.fromArray(F, x, xo + i).sub(sub));
            e.intoArray(y, yo + i);
            acc = acc.add(e);
        }
        double s = Vec.sum(acc);
        for (; i < n; i++) {
            float e = Exp.exp(x[xo + i] - sub);
            y[yo + i] = e;
            s += e;
        }
        return s;
    }

    /** Largest value of x[off..off+n) (NaN if any element is NaN; -inf when n == 0). */
    public static float max(float[] x, int off, int n) {
        range(x, off, n, "x");
        FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i + L <= n; i += L) m = m.max(FloatVector.fromArray(F, x, off + i));
        float r = m.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) r = Math.max(r, x[off + i]);
        return r;
    }

    /**
     * SwiGLU: out[i] = silu(gate[i]) * up[i] for n elements ({@link Silu}, shared with training); each element's value
     * depends only on its inputs (not on n or its place in a vector), so m tokens in one call give the bits of m calls
     * of one token.
     */
    public static void swiglu(float[] out, int outOff, float[] gate, int gateOff, float[] up, int upOff, int n) {
        range(out, outOff, n, "out");
        range(gate, gateOff, n, "gate");
        range(up, upOff, n, "up");
        Silu.swiglu(out, outOff, gate, gateOff, up, upOff, n);
    }

    /**
     * Interleaved-pair RoPE (official DeepSeek code, docs/architecture.md §3.5) in place on x[off..off+2*half):
     * (x[2i], x[2i+1]) rotated by the angle whose cos/sin are cos[cOff+i], sin[cOff+i].
     */
    public static void ropeInterleaved(float[] x, int off, float[] cos, float[] sin, int cOff, int half) {
        range(x, off, 2 * half, "x");
        range(cos, cOff, half, "cos");
        range(sin, cOff, half, "sin");
        int h = L / 2;                                  // pairs per vector
        int i = 0;
        // each step reads L cos/sin lanes (uses the first L/2), so stay inside the arrays
        for (; i + h <= half && cOff + i + L <= cos.length && cOff + i + L <= sin.length; i += h) {
            FloatVector v = FloatVector.fromArray(F, x, off + 2 * i);
            FloatVector c = FloatVector.fromArray(F, cos, cOff + i).rearrange(DUP);
            FloatVector s = FloatVector.fromArray(F, sin, cOff + i).rearrange(DUP).mul(ALT_SIGN);
            // out[2j] = a c - b s ; out[2j+1] = b c + a s  ==  v*c + swap(v) * (-s, +s)
            v.mul(c).add(v.rearrange(SWAP).mul(s)).intoArray(x, off + 2 * i);
        }
        for (; i < half; i++) {
            float a = x[off + 2 * i], b = x[off + 2 * i + 1], c = cos[cOff + i], s = sin[cOff + i];
            x[off + 2 * i] = a * c - b * s;
            x[off + 2 * i + 1] = a * s + b * c;
        }
    }

    /**
     * Indices of the k largest values of x[off..off+n), largest first; ties broken by the lower index.
     * NaN is never selected over a number. Writes into idx[0..k). Once k candidates are held, whole vectors whose
     * lanes are all at most the current k-th value are skipped with one compare.
     */
    public static void topK(float[] x, int off, int n, int k, int[] idx) {
        range(x, off, n, "x");
        if (k < 0 || k > idx.length) throw new IllegalArgumentException("k = " + k + " with idx.length " + idx.length);
        if (k == 0) return;
        for (int j = 0; j < k; j++) idx[j] = -1;
        int filled = 0;
        int i = 0;
        for (; i < n && filled < k; i++) { insert(x, off, i, k, idx); filled++; }
        while (i < n) {
            float thr = x[off + idx[k - 1]];
            if (i + L <= n && !Float.isNaN(thr)) {
                VectorMask<Float> gt = FloatVector.fromArray(F, x, off + i).compare(VectorOperators.GT, thr);
                if (!gt.anyTrue()) { i += L; continue; }
                for (int e = i + L; i < e; i++) insert(x, off, i, k, idx);
            } else {
                insert(x, off, i, k, idx);
                i++;
            }
        }
    }

    private static void insert(float[] x, int off, int i, int k, int[] idx) {
        float v = x[off + i];
        int pos = k;
        while (pos > 0 && (idx[pos - 1] < 0 || greater(v, x[off + idx[pos - 1]]))) pos--;
        if (pos < k) {
            System.arraycopy(idx, pos, idx, pos + 1, k - pos - 1);
            idx[pos] = i;
        }
    }

    private static boolean greater(float a, float b) {
        if (Float.isNaN(a)) return false;
        if (Float.isNaN(b)) return true;
        return a > b;
    }

    /** Sum of a[aOff+i] * b[bOff+i] for i < n. */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        range(a, aOff, n, "a");
        range(b, bOff, n, "b");
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int i = 0;
        for (; i + 4 * L <= n; i += 4 * L) {
            a0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), a0);
            a1 = FloatVector.fromArray(F, a, aOff + i + L).fma(FloatVector.fromArray(F, b, bOff + i + L), a1);
            a2 = FloatVector.fromArray(F, a, aOff + i + 2 * L).fma(FloatVector.fromArray(F, b, bOff + i + 2 * L), a2);
            a3 = FloatVector.fromArray(F, a, aOff + i + 3 * L).fma(FloatVector.fromArray(F, b, bOff + i + 3 * L), a3);
        }
        for (; i + L <= n; i += L)
            a0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), a0);
        float s = Vec.sum(a0.add(a1).add(a2.add(a3)));
        for (; i < n; i++) s += a[aOff + i] * b[bOff + i];
        return s;
    }

    /** y[yOff+i] += alpha * x[xOff+i]. */
    public static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        range(x, xOff, n, "x");
        range(y, yOff, n, "y");
        FloatVector av = FloatVector.broadcast(F, alpha);
        int i = 0;
        for (; i + L <= n; i += L)
            FloatVector.fromArray(F, x, xOff + i).fma(av, FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
        for (; i < n; i++) y[yOff + i] += alpha * x[xOff + i];
    }

    /**
     * y[yOff+i] += alpha * x[xOff+i], the product rounded before the add (two roundings, as the scalar Java
     * expression computes it; {@link #axpy} fuses them): the bits of {@code y[i] += alpha * x[i]} element by element.
     */
    public static void addScaled(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        range(x, xOff, n, "x");
        range(y, yOff, n, "y");
        FloatVector av = FloatVector.broadcast(F, alpha);
        int i = 0;
        for (; i + L <= n; i += L)
            FloatVector.fromArray(F, y, yOff + i).add(FloatVector.fromArray(F, x, xOff + i).mul(av)).intoArray(y, yOff + i);
        for (; i < n; i++) y[yOff + i] += alpha * x[xOff + i];
    }

    /** out[outOff+i] = a[aOff+i] + b[bOff+i] (out may alias a or b at the same offset). */
    public static void add(float[] out, int outOff, float[] a, int aOff, float[] b, int bOff, int n) {
        range(out, outOff, n, "out");
        range(a, aOff, n, "a");
        range(b, bOff, n, "b");
        int i = 0;
        for (; i + L <= n; i += L)
            FloatVector.fromArray(F, a, aOff + i).add(FloatVector.fromArray(F, b, bOff + i)).intoArray(out, outOff + i);
        for (; i < n; i++) out[outOff + i] = a[aOff + i] + b[bOff + i];
    }

    /** out[outOff+i] = a[aOff+i] * b[bOff+i] (out may alias a or b at the same offset). */
    public static void mul(float[] out, int outOff, float[] a, int aOff, float[] b, int bOff, int n) {
        range(out, outOff, n, "out");
        range(a, aOff, n, "a");
        range(b, bOff, n, "b");
        int i = 0;
        for (; i + L <= n; i += L)
            FloatVector.fromArray(F, a, aOff + i).mul(FloatVector.fromArray(F, b, bOff + i)).intoArray(out, outOff + i);
        for (; i < n; i++) out[outOff + i] = a[aOff + i] * b[bOff + i];
    }

    /** x[off+i] *= s. */
    public static void scale(float[] x, int off, int n, float s) {
        range(x, off, n, "x");
        int i = 0;
        for (; i + L <= n; i += L) FloatVector.fromArray(F, x, off + i).mul(s).intoArray(x, off + i);
        for (; i < n; i++) x[off + i] *= s;
    }
}
