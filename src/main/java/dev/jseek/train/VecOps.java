package dev.jseek.train;

import dev.jseek.kernels.Exp;
import dev.jseek.kernels.Vec;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API row kernels of the training step (element-wise and reductions on float arenas). Each has the obvious
 * scalar meaning given in its comment; the scalar modules (and their tests) are the oracles.
 *
 * <p>Determinism: results must not depend on whether the JIT has compiled the code yet (a resumed run must repeat
 * a run bit for bit). The Vector API's lanewise EXP and reduceLanes(ADD) do not guarantee that, so this class uses
 * only IEEE-exact lane operations, and the shared definitions of the kernels package: e^x is {@link Exp} (vector
 * lanes and scalar tails alike), lane sums are {@link Vec#sum} (a fixed folding order), the vector shape is
 * {@link Vec#F} ({@code -Djseek.vectorBits}); sigmoid and SwiGLU are {@code dev.jseek.kernels.Silu}.
 */
final class VecOps {
    private VecOps() {}

    static final VectorSpecies<Float> F = Vec.F;
    static final int L = F.length();

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
        double s = Vec.sum(acc);
        for (; i < n; i++) s += x[xo + i] * y[yo + i];
        return s;
    }

}
