package dev.jseek.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The logistic sigmoid and the SwiGLU gate built on it (report §2.1.2: the router's scores are sigmoids; every FFN
 * and expert is SwiGLU), one definition for inference ({@code dev.jseek.model}) and training ({@code dev.jseek.train}):
 * <pre>
 *   sigmoid(z) = 1 / (e^-z + 1)                 (e^x from {@link Exp})
 *   SiLU(g)    = g * sigmoid(g)
 *   SwiGLU     h = SiLU(g) * u = (g * sigmoid(g)) * u
 *   backward   with s = sigmoid(g): du += dh * g * s;  dg += dh * u * s * (1 + g (1 - s))
 * </pre>
 * Every element is computed by the same IEEE operations in the vector body and in the scalar tail, so its bits do
 * not depend on where it falls in a row, on the row's length, or on the JIT tier ({@code JitInvarianceTest}).
 */
public final class Silu {
    private Silu() {}

    private static final VectorSpecies<Float> F = Vec.F;
    private static final int L = F.length();

    /** 1 / (e^-z + 1), bitwise equal to a lane of {@link #sigmoid(FloatVector)}. */
    public static float sigmoid(float z) { return 1f / (Exp.exp(-z) + 1f); }

    /** sigmoid lane by lane. */
    public static FloatVector sigmoid(FloatVector z) { return FloatVector.broadcast(F, 1f).div(Exp.exp(z.neg()).add(1f)); }

    /** y[yo+i] = sigmoid(x[xo+i]) for i < n (y may alias x at the same offset). */
    public static void sigmoid(float[] y, int yo, float[] x, int xo, int n) {
        int i = 0;
        for (; i <= n - L; i += L) sigmoid(FloatVector.fromArray(F, x, xo + i)).intoArray(y, yo + i);
        for (; i < n; i++) y[yo + i] = sigmoid(x[xo + i]);
    }

    /** h[ho+i] = g[go+i] * sigmoid(g[go+i]) * u[uo+i] for i < n (h may alias g or u at the same offset). */
    public static void swiglu(float[] h, int ho, float[] g, int go, float[] u, int uo, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector z = FloatVector.fromArray(F, g, go + i);
            z.mul(sigmoid(z)).mul(FloatVector.fromArray(F, u, uo + i)).intoArray(h, ho + i);
        }
        for (; i < n; i++) {
            float z = g[go + i];
            h[ho + i] = z * sigmoid(z) * u[uo + i];
        }
    }

    /**
     * The mirror of {@link #swiglu}: with s = sigmoid(g), du += dh * g * s and dg += dh * u * s * (1 + g (1 - s)),
     * element-wise over n (accumulating into dg and du).
     */
    public static void swigluBackward(float[] g, int go, float[] u, int uo, float[] dh, int dho,
                                      float[] dg, int dgo, float[] du, int duo, int n) {
        int i = 0;
        FloatVector one = FloatVector.broadcast(F, 1f);
        for (; i <= n - L; i += L) {
            FloatVector z = FloatVector.fromArray(F, g, go + i), s = sigmoid(z), dhv = FloatVector.fromArray(F, dh, dho + i);
            FloatVector uv = FloatVector.fromArray(F, u, uo + i);
            FloatVector.fromArray(F, du, duo + i).add(dhv.mul(z).mul(s)).intoArray(du, duo + i);
            FloatVector t = one.add(z.mul(one.sub(s)));
            FloatVector.fromArray(F, dg, dgo + i).add(dhv.mul(uv).mul(s).mul(t)).intoArray(dg, dgo + i);
        }
        for (; i < n; i++) {
            float z = g[go + i], s = sigmoid(z), dhv = dh[dho + i];
            du[duo + i] += dhv * z * s;
            dg[dgo + i] += dhv * u[uo + i] * s * (1f + z * (1f - s));
        }
    }
}
