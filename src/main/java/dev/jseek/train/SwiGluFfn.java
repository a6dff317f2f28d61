package dev.jseek.train;

import dev.jseek.kernels.Silu;

import dev.jseek.fp8.Fp8Tensor;
import dev.jseek.fp8.ScaleFormat;
import dev.jseek.fp8.TileQuantizer;

/**
 * SwiGLU FFN (docs/architecture.md §5.1): y = Wdown (SiLU(Wgate x) * (Wup x)). Used for the dense layers ({@code mlp.*}), the shared
 * experts ({@code mlp.shared_experts.*}) and the routed experts of {@link Moe} (one instance holds the stacked
 * activations of all routed experts; each expert's weights and row range are passed to the row-range core).
 * Saved: g = x Wgate^T, u = x Wup^T, h = SiLU(g) * u (all [m, inter]).
 * Backward input: dh = dy Wdown, dg = dh u SiLU'(g), du = dh SiLU(g), dx += dg Wgate + du Wup.
 * Backward weights: dWdown += dy^T h, dWgate += dg^T x, dWup += du^T x.
 *
 * <p>FP8 ({@link Precision#FP8}, an FP8 {@link ActLayout}; report §3.3.3): the SwiGLU inputs g and u are cached
 * in E4M3 (1x128 tiles) and their float values are transient; h is not kept at all. Backward dequantizes g and u from
 * the cache and recomputes h from them ("we cache the inputs of the SwiGLU operator and recompute its output in the
 * backward pass"); forward computes h from the unquantized GEMM outputs, as the GPU's SwiGLU reads the BF16 GEMM
 * outputs. The input x is quantized from float, or read from an E4M3 cache (the routed experts' dispatched input).
 */
public final class SwiGluFfn {
    final int dim, inter;
    final int wg, wu, wd;
    /** acts and dacts offsets of g, u and h (equal outside an FP8 layout; h is one transient slot in FP8). */
    final int gA, gD, uA, uD, hA, hD;
    /** E4M3 caches of g and u (null outside an FP8 layout). */
    final CacheSlot gC, uC;
    static final int P_FFN = Profiler.section("ffn dense + shared experts");
    /** GEMM precision of the three projections ({@link Precision}). */
    Precision precision = Precision.FP32;

    /**
     * The input of one FFN call: its float rows in acts ({@code xA}; -1 when only cached), its gradient's offset in
     * dacts ({@code xD}), and optionally its E4M3 cache ({@code xC}, quantized in {@code fmt}). Offsets are of row 0.
     */
    record Input(int xA, int xD, CacheSlot xC, ScaleFormat fmt) {
        /** Rows [r0, r0+m) as a 1x128-tiled E4M3 operand: read from the cache, or quantized from acts. */
        Fp8Tensor fp8(Arenas s, int r0, int m, int dim) {
            return xC != null ? s.cache.e4m3(xC, r0, m) : TileQuantizer.activation(s.acts, xA + r0 * dim, m, dim, fmt);
        }
    }

    /** Registers {@code prefix}gate_proj/up_proj/down_proj.weight and activations for maxN rows. */
    public SwiGluFfn(int dim, int inter, String prefix, ParamLayout pl, ActLayout al, int maxN) {
        this(dim, inter, prefix, pl, al, maxN, true);
    }

    /** {@code withWeights} false: activations only (the routed experts' stacked rows; weights passed per call). */
    SwiGluFfn(int dim, int inter, String prefix, ParamLayout pl, ActLayout al, int maxN, boolean withWeights) {
        this.dim = dim;
        this.inter = inter;
        wg = withWeights ? pl.add(prefix + "gate_proj.weight", true, inter, dim) : -1;
        wu = withWeights ? pl.add(prefix + "up_proj.weight", true, inter, dim) : -1;
        wd = withWeights ? pl.add(prefix + "down_proj.weight", true, dim, inter) : -1;
        long n = (long) maxN * inter;
        int[] t = al.allocFp8Cached(prefix + "gate", n, "ffn.gate");
        gA = t[0]; gD = t[1];
        t = al.allocFp8Cached(prefix + "up", n, "ffn.up");
        uA = t[0]; uD = t[1];
        hA = hD = al.allocFp8Scratch(prefix + "act", n, "ffn.act");
        gC = al.allocE4m3(prefix + "gate", maxN, inter);
        uC = al.allocE4m3(prefix + "up", maxN, inter);
    }

    /** y[N, dim] = FFN(x[N, dim]) (overwrites y). */
    public void forward(Arenas s, int x, int y, int N) {
        long t0 = Profiler.start();
        forward(s, wg, wu, wd, new Input(x, x, null, ScaleFormat.FP32), y, 0, N);
        Profiler.stop(P_FFN, t0);
    }

    /** dacts[x] += dFFN/dx^T dacts[y]; leaves dg, du in dacts. */
    public void backwardInput(Arenas s, int x, int y, int N) {
        long t0 = Profiler.start();
        backwardInput(s, wg, wu, wd, new Input(x, x, null, ScaleFormat.FP32), y, 0, N, ScaleFormat.FP32);
        Profiler.stop(P_FFN, t0);
    }

    /** Weight gradients; x is the input's acts offset. */
    public void backwardWeights(Arenas s, int x, int y, int N) {
        long t0 = Profiler.start();
        backwardWeights(s, wg, wu, wd, new Input(x, x, null, ScaleFormat.FP32), y, 0, N, ScaleFormat.FP32);
        Profiler.stop(P_FFN, t0);
    }

    static float sigmoid(float z) { return (float) (1.0 / (1.0 + Math.exp(-z))); }

    /** Rows [r0, r0+m): y rows = FFN(x rows) with the given weights; y is [*, dim] from row 0 at acts[y]. */
    void forward(Arenas s, int wg, int wu, int wd, Input x, int y, int r0, int m) {
        if (m == 0) return;
        float[] p = s.params, a = s.acts;
        int go = gA + r0 * inter, uo = uA + r0 * inter, ho = hA + r0 * inter, n = m * inter;
        if (precision == Precision.FP8) {
            Fp8Tensor xq = x.fp8(s, r0, m, dim);
            Linear.fp8Forward(a, go, xq, p, wg, inter);
            Linear.fp8Forward(a, uo, xq, p, wu, inter);
            s.cache.storeE4m3(gC, r0, a, go, m, ScaleFormat.FP32);
            s.cache.storeE4m3(uC, r0, a, uo, m, ScaleFormat.FP32);
        } else {
            Linear.forward(precision, a, go, a, x.xA() + r0 * dim, p, wg, m, dim, inter);
            Linear.forward(precision, a, uo, a, x.xA() + r0 * dim, p, wu, m, dim, inter);
        }
        TrainPool.forRange(n, TrainPool.grain(n, 4096), (lo, hi, w) -> Silu.swiglu(a, ho + lo, a, go + lo, a, uo + lo, hi - lo));
        Linear.forward(precision, a, y + r0 * dim, a, ho, p, wd, m, inter, dim);
    }

    /** FP8: refills the float g and u of rows [r0, r0+m) in acts from the cache (and h = SwiGLU(g, u) when asked). */
    private void restore(Arenas s, int r0, int m, boolean withH) {
        float[] a = s.acts;
        int go = gA + r0 * inter, uo = uA + r0 * inter, ho = hA + r0 * inter, n = m * inter;
        s.cache.loadE4m3(gC, r0, m, a, go);
        s.cache.loadE4m3(uC, r0, m, a, uo);
        if (withH) TrainPool.forRange(n, TrainPool.grain(n, 4096), (lo, hi, w) -> Silu.swiglu(a, ho + lo, a, go + lo, a, uo + lo, hi - lo));
    }

    /**
     * Rows [r0, r0+m): dacts[x rows] += dFFN/dx^T dacts[y rows]; leaves dg, du in dacts. {@code dyFmt}: scale format of
     * dy's FP8 quantization (power of two for the routed experts, report §3.3).
     */
    void backwardInput(Arenas s, int wg, int wu, int wd, Input x, int y, int r0, int m, ScaleFormat dyFmt) {
        if (m == 0) return;
        float[] p = s.params, a = s.acts, d = s.dacts;
        int yo = y + r0 * dim, hd = hD + r0 * inter, gd = gD + r0 * inter, ud = uD + r0 * inter, n = m * inter;
        if (precision == Precision.FP8) {
            restore(s, r0, m, false);
            TrainPool.zero(d, hd, hd + n);     // h's gradient lives in a shared slot
            Linear.fp8BackwardInput(d, hd, TileQuantizer.activation(d, yo, m, dim, dyFmt), p, wd, inter);
        } else {
            Linear.backwardInput(precision, d, hd, d, yo, p, wd, m, inter, dim);
        }
        int ga = gA + r0 * inter, ua = uA + r0 * inter;
        TrainPool.forRange(n, TrainPool.grain(n, 4096), (lo, hi, w) -> Silu.swigluBackward(a, ga + lo, a, ua + lo, d, hd + lo, d, gd + lo, d, ud + lo, hi - lo));
        Linear.backwardInput(precision, d, x.xD() + r0 * dim, d, gd, p, wg, m, dim, inter);
        Linear.backwardInput(precision, d, x.xD() + r0 * dim, d, ud, p, wu, m, dim, inter);
    }

    /** Rows [r0, r0+m): weight gradients into grads (gate, up and down of the given offsets). */
    void backwardWeights(Arenas s, int wg, int wu, int wd, Input x, int y, int r0, int m, ScaleFormat dyFmt) {
        if (m == 0) return;
        float[] gr = s.grads, a = s.acts, d = s.dacts;
        int yo = y + r0 * dim, ho = hA + r0 * inter, gd = gD + r0 * inter, ud = uD + r0 * inter;
        if (precision == Precision.FP8) {
            restore(s, r0, m, true);
            Linear.fp8BackwardWeight(gr, wd, TileQuantizer.activation(d, yo, m, dim, dyFmt), dyFmt,
                    TileQuantizer.activation(a, ho, m, inter, ScaleFormat.FP32), ScaleFormat.FP32);
            Fp8Tensor xq = x.fp8(s, r0, m, dim);
            Linear.fp8BackwardWeight(gr, wg, TileQuantizer.activation(d, gd, m, inter, ScaleFormat.FP32), ScaleFormat.FP32, xq, x.fmt());
            Linear.fp8BackwardWeight(gr, wu, TileQuantizer.activation(d, ud, m, inter, ScaleFormat.FP32), ScaleFormat.FP32, xq, x.fmt());
        } else {
            Linear.backwardWeight(precision, gr, wd, d, yo, a, ho, m, inter, dim);
            Linear.backwardWeight(precision, gr, wg, d, gd, a, x.xA() + r0 * dim, m, dim, inter);
            Linear.backwardWeight(precision, gr, wu, d, ud, a, x.xA() + r0 * dim, m, dim, inter);
        }
    }
}
