package dev.jseek.train;

/**
 * SwiGLU FFN (spec D.1): y = Wdown (SiLU(Wgate x) * (Wup x)). Used for the dense layers ({@code mlp.*}), the shared
 * experts ({@code mlp.shared_experts.*}) and, through the static core, each routed expert of {@link Moe}.
 * Saved: g = x Wgate^T, u = x Wup^T, h = SiLU(g) * u (all [m, inter]).
 * Backward input: dh = dy Wdown, dg = dh u SiLU'(g), du = dh SiLU(g), dx += dg Wgate + du Wup.
 * Backward weights: dWdown += dy^T h, dWgate += dg^T x, dWup += du^T x.
 */
public final class SwiGluFfn {
    final int dim, inter;
    final int wg, wu, wd;
    final int g, u, h;
    static final int P_FFN = Profiler.section("ffn dense + shared experts");
    /** GEMM precision of the three projections ({@link Precision}). */
    Precision precision = Precision.FP32;

    /** Registers {@code prefix}gate_proj/up_proj/down_proj.weight and activations for maxN rows. */
    public SwiGluFfn(int dim, int inter, String prefix, ParamLayout pl, ActLayout al, int maxN) {
        this.dim = dim;
        this.inter = inter;
        wg = pl.add(prefix + "gate_proj.weight", true, inter, dim);
        wu = pl.add(prefix + "up_proj.weight", true, inter, dim);
        wd = pl.add(prefix + "down_proj.weight", true, dim, inter);
        g = al.alloc(prefix + "gate", (long) maxN * inter);
        u = al.alloc(prefix + "up", (long) maxN * inter);
        h = al.alloc(prefix + "act", (long) maxN * inter);
    }

    /** y[N, dim] = FFN(x[N, dim]) (overwrites y). */
    public void forward(Arenas s, int x, int y, int N) {
        long t0 = Profiler.start();
        forward(precision, s.params, wg, wu, wd, s.acts, x, g, u, h, y, N, dim, inter);
        Profiler.stop(P_FFN, t0);
    }

    /** dacts[x] += dFFN/dx^T dacts[y]; leaves dg, du, dh in dacts. */
    public void backwardInput(Arenas s, int x, int y, int N) {
        long t0 = Profiler.start();
        backwardInput(precision, s.params, wg, wu, wd, s.acts, s.dacts, x, g, u, h, y, N, dim, inter);
        Profiler.stop(P_FFN, t0);
    }

    public void backwardWeights(Arenas s, int x, int y, int N) {
        long t0 = Profiler.start();
        backwardWeights(precision, s.grads, wg, wu, wd, s.acts, s.dacts, x, g, u, h, y, N, dim, inter);
        Profiler.stop(P_FFN, t0);
    }

    static float sigmoid(float z) { return (float) (1.0 / (1.0 + Math.exp(-z))); }

    /** Static core on explicit offsets (m rows). */
    static void forward(Precision prec, float[] p, int wg, int wu, int wd, float[] a, int x, int g, int u, int h, int y, int m, int dim, int inter) {
        Linear.forward(prec, a, g, a, x, p, wg, m, dim, inter);
        Linear.forward(prec, a, u, a, x, p, wu, m, dim, inter);
        int n = m * inter;
        TrainPool.forRange(n, TrainPool.grain(n, 4096), (lo, hi, w) -> VecOps.swiglu(a, h + lo, g + lo, u + lo, hi - lo));
        Linear.forward(prec, a, y, a, h, p, wd, m, inter, dim);
    }

    static void backwardInput(Precision prec, float[] p, int wg, int wu, int wd, float[] a, float[] d, int x, int g, int u, int h, int y,
                              int m, int dim, int inter) {
        Linear.backwardInput(prec, d, h, d, y, p, wd, m, inter, dim);
        int n = m * inter;
        TrainPool.forRange(n, TrainPool.grain(n, 4096), (lo, hi, w) -> VecOps.swigluBackward(a, d, h + lo, g + lo, u + lo, hi - lo));
        Linear.backwardInput(prec, d, x, d, g, p, wg, m, dim, inter);
        Linear.backwardInput(prec, d, x, d, u, p, wu, m, dim, inter);
    }

    static void backwardWeights(Precision prec, float[] gr, int wg, int wu, int wd, float[] a, float[] d, int x, int g, int u, int h, int y,
                                int m, int dim, int inter) {
        Linear.backwardWeight(prec, gr, wd, d, y, a, h, m, inter, dim);
        Linear.backwardWeight(prec, gr, wg, d, g, a, x, m, dim, inter);
        Linear.backwardWeight(prec, gr, wu, d, u, a, x, m, dim, inter);
    }
}
