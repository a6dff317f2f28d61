package dev.jseek.train;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API row kernels of the training step (element-wise and reductions on float arenas). Each has the obvious
 * scalar meaning given in its comment; the scalar modules (and their tests) are the oracles.
 *
 * <p>Determinism: results must not depend on whether the JIT has compiled the code yet (a resumed run must repeat
 * a run bit for bit). The Vector API's lanewise EXP and reduceLanes(ADD) do not guarantee that (the interpreter's
 * fallback and the compiled intrinsic round differently / sum lanes in another order), so this class uses only
 * IEEE-exact lane operations (add, mul, fma, div, compare, integer bit operations): {@link #exp} is a Cody-Waite
 * reduction plus a degree-6 polynomial (within 2 ulp of Math.exp), and {@link #sum} adds the lanes in index order.
 */
final class VecOps {
    private VecOps() {}

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();

    private static final float LOG2E = 1.44269504088896341f, LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    private static final float ROUND = 12582912f;            // 1.5 * 2^23: adding and subtracting rounds to an integer
    private static final float X_MIN = -87.33654f, X_MAX = 88.72283f;

    /**
     * e^x per lane: n = round(x log2 e), r = x - n ln 2 (two-part ln 2), e^r by the Cephes expf polynomial, times 2^n
     * built in the exponent bits. 0 below -87.34 (so exp(-inf) = 0), +inf above 88.72, NaN stays NaN.
     */
    static FloatVector exp(FloatVector x) {
        FloatVector xc = x.max(X_MIN).min(X_MAX);
        FloatVector n = xc.mul(LOG2E).add(ROUND).sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), xc);
        r = n.fma(FloatVector.broadcast(F, -LN2_LO), r);
        FloatVector p = r.fma(FloatVector.broadcast(F, 1.9875691500e-4f), FloatVector.broadcast(F, 1.3981999507e-3f));
        p = p.fma(r, FloatVector.broadcast(F, 8.3334519073e-3f));
        p = p.fma(r, FloatVector.broadcast(F, 4.1665795894e-2f));
        p = p.fma(r, FloatVector.broadcast(F, 1.6666665459e-1f));
        p = p.fma(r, FloatVector.broadcast(F, 5.0000001201e-1f));
        FloatVector y = p.fma(r.mul(r), r).add(1f);
        IntVector ni = (IntVector) n.convert(VectorOperators.F2I, 0);
        IntVector n1 = ni.lanewise(VectorOperators.ASHR, 1), n2 = ni.sub(n1);          // 2^n = 2^n1 * 2^n2, both normal
        y = y.mul(n1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats())
             .mul(n2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats());
        return y.blend(0f, x.compare(VectorOperators.LT, X_MIN)).blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, X_MAX));
    }

    /** Sum of the lanes in index order (deterministic, unlike reduceLanes(ADD)). */
    static float sum(FloatVector v) {
        float s = 0f;
        for (int i = 0; i < L; i++) s += v.lane(i);
        return s;
    }

    /** max of x[o..o+n). */
    static float max(float[] x, int o, int n) {
        FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i <= n - L; i += L) m = m.max(FloatVector.fromArray(F, x, o + i));
        float r = m.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) r = Math.max(r, x[o + i]);
        return r;
    }

    /** y[yo+i] = exp(x[xo+i] - sub) for i < n; returns the sum (float lanes, double across lanes). */
    static double expSub(float[] y, int yo, float[] x, int xo, int n, float sub) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector e = exp(FloatVector.fromArray(F, x, xo + i).sub(sub));
            e.intoArray(y, yo + i);
            acc = acc.add(e);
        }
        double s = sum(acc);
        for (; i < n; i++) {
            float e = (float) Math.exp(x[xo + i] - sub);
            y[yo + i] = e;
            s += e;
        }
        return s;
    }

    /** x[o+i] *= s for i < n. */
    static void scale(float[] x, int o, int n, float s) {
        int i = 0;
        for (; i <= n - L; i += L) FloatVector.fromArray(F, x, o + i).mul(s).intoArray(x, o + i);
        for (; i < n; i++) x[o + i] *= s;
    }

    /** y[yo+i] += a * x[xo+i] for i < n. */
    static void axpy(float a, float[] x, int xo, float[] y, int yo, int n) {
        FloatVector av = FloatVector.broadcast(F, a);
        int i = 0;
        for (; i <= n - L; i += L)
            FloatVector.fromArray(F, x, xo + i).fma(av, FloatVector.fromArray(F, y, yo + i)).intoArray(y, yo + i);
        for (; i < n; i++) y[yo + i] += a * x[xo + i];
    }

    /** out[oo+i] = x[xo+i] + y[yo+i] for i < n (out may alias x or y). */
    static void add(float[] out, int oo, float[] x, int xo, float[] y, int yo, int n) {
        int i = 0;
        for (; i <= n - L; i += L)
            FloatVector.fromArray(F, x, xo + i).add(FloatVector.fromArray(F, y, yo + i)).intoArray(out, oo + i);
        for (; i < n; i++) out[oo + i] = x[xo + i] + y[yo + i];
    }

    /** a[ao+i] += g[go+i]; b[bo+i] += g[go+i] for i < n (a residual's gradient fanned out to both branches). */
    static void addTo2(float[] g, int go, float[] a, int ao, float[] b, int bo, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector gv = FloatVector.fromArray(F, g, go + i);
            FloatVector.fromArray(F, a, ao + i).add(gv).intoArray(a, ao + i);
            FloatVector.fromArray(F, b, bo + i).add(gv).intoArray(b, bo + i);
        }
        for (; i < n; i++) { a[ao + i] += g[go + i]; b[bo + i] += g[go + i]; }
    }

    /** sum of x[xo+i] * y[yo+i] (float lanes, double across lanes). */
    static double dot(float[] x, int xo, float[] y, int yo, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i <= n - L; i += L) acc = FloatVector.fromArray(F, x, xo + i).fma(FloatVector.fromArray(F, y, yo + i), acc);
        double s = sum(acc);
        for (; i < n; i++) s += x[xo + i] * y[yo + i];
        return s;
    }

    /** sum of x[xo+i]^2. */
    static double sumSquares(float[] x, int xo, int n) { return dot(x, xo, x, xo, n); }

    /** h = SiLU(g) * u = g * sigmoid(g) * u, element-wise over n. */
    static void swiglu(float[] a, int h, int g, int u, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector z = FloatVector.fromArray(F, a, g + i);
            FloatVector sg = sigmoid(z);
            z.mul(sg).mul(FloatVector.fromArray(F, a, u + i)).intoArray(a, h + i);
        }
        for (; i < n; i++) {
            float z = a[g + i];
            a[h + i] = z * SwiGluFfn.sigmoid(z) * a[u + i];
        }
    }

    /**
     * With s = sigmoid(g): du += dh * g * s; dg += dh * u * s * (1 + g (1 - s)). Element-wise over n; g and u are read
     * from a at ga, ua; dh, dg, du live in d at dh, dg, du.
     */
    static void swigluBackward(float[] a, int ga, int ua, float[] d, int dh, int dg, int du, int n) {
        int i = 0;
        FloatVector one = FloatVector.broadcast(F, 1f);
        for (; i <= n - L; i += L) {
            FloatVector z = FloatVector.fromArray(F, a, ga + i), sg = sigmoid(z), dhv = FloatVector.fromArray(F, d, dh + i);
            FloatVector uv = FloatVector.fromArray(F, a, ua + i);
            FloatVector.fromArray(F, d, du + i).add(dhv.mul(z).mul(sg)).intoArray(d, du + i);
            FloatVector t = one.add(z.mul(one.sub(sg)));
            FloatVector.fromArray(F, d, dg + i).add(dhv.mul(uv).mul(sg).mul(t)).intoArray(d, dg + i);
        }
        for (; i < n; i++) {
            float z = a[ga + i], sg = SwiGluFfn.sigmoid(z), dhv = d[dh + i];
            d[du + i] += dhv * z * sg;
            d[dg + i] += dhv * a[ua + i] * sg * (1f + z * (1f - sg));
        }
    }

    /** y[yo+i] = sigmoid(x[xo+i]). */
    static void sigmoid(float[] y, int yo, float[] x, int xo, int n) {
        int i = 0;
        for (; i <= n - L; i += L) sigmoid(FloatVector.fromArray(F, x, xo + i)).intoArray(y, yo + i);
        for (; i < n; i++) y[yo + i] = SwiGluFfn.sigmoid(x[xo + i]);
    }

    static FloatVector sigmoid(FloatVector z) {
        return FloatVector.broadcast(F, 1f).div(exp(z.neg()).add(1f));
    }
}
