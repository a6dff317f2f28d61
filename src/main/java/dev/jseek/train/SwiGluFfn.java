package dev.jseek.train;

import dev.jseek.kernels.Silu;

import dev.jseek.fp8.Fp8Tensor;
import dev.jseek.fp8.ScaleFormat;
import dev.jseek.fp8.TileQuantizer;

/**
 * SwiGLU FFN (report §2.1.2: every expert is one; docs/architecture.md §5.1): y = Wdown (SiLU(Wgate x) * (Wup x)). Used for the dense layers ({@code mlp.*}), the shared
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
    /** gate_proj, up_proj, down_proj (null for the routed experts' stacked activations: weights come per call). */
    final Param wg, wu, wd;
    /** g = x Wgate^T, u = x Wup^T, h = SiLU(g) * u, [rows, inter] (in FP8, g and u are cached and h transient). */
    final Act g, u, h;
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

        /** A float input at the same offset in acts and dacts, quantized per GEMM ({@link Fp8Recipe#LINEAR_INPUT}). */
        static Input floats(int x) { return new Input(x, x, null, Fp8Recipe.LINEAR_INPUT.scales()); }

        /** Rows [r0, r0+m) of the float value. */
        View value(Arenas s, int r0, int m, int dim) { return View.of(s.acts, xA + r0 * dim, m, dim); }

        /** Rows [r0, r0+m) of the gradient. */
        View grad(Arenas s, int r0, int m, int dim) { return View.of(s.dacts, xD + r0 * dim, m, dim); }
    }

    /**
     * Declares the tensor schema's {@code prefix}gate_proj/up_proj/down_proj.weight in {@code pl} (their shapes give dim
     * and the intermediate size) and registers activations for maxN rows.
     */
    static SwiGluFfn declared(String prefix, ParamLayout pl, ActLayout al, int maxN) {
        return new SwiGluFfn(pl.matrix(prefix + "gate_proj.weight"), pl.matrix(prefix + "up_proj.weight"), pl.matrix(prefix + "down_proj.weight"),
                prefix, al, maxN);
    }

    /** An FFN of the weights gate [inter, dim], up [inter, dim], down [dim, inter], with activations for maxN rows. */
    public SwiGluFfn(Param wg, Param wu, Param wd, String prefix, ActLayout al, int maxN) {
        this(wg.cols(), wg.rows(), prefix, al, maxN, wg, wu, wd);
        if (wu.rows() != inter || wu.cols() != dim || wd.rows() != dim || wd.cols() != inter)
            throw new IllegalArgumentException("SwiGLU " + prefix + ": up " + wu.rows() + "x" + wu.cols() + " and down " + wd.rows() + "x" + wd.cols()
                    + " do not fit gate " + inter + "x" + dim);
    }

    /** Activations only (the routed experts' stacked rows; weights passed per call). */
    SwiGluFfn(int dim, int inter, String prefix, ActLayout al, int maxN) { this(dim, inter, prefix, al, maxN, null, null, null); }

    private SwiGluFfn(int dim, int inter, String prefix, ActLayout al, int maxN, Param wg, Param wu, Param wd) {
        this.dim = dim;
        this.inter = inter;
        this.wg = wg;
        this.wu = wu;
        this.wd = wd;
        g = al.fp8Cached(prefix + "gate", maxN, inter, "ffn.gate");
        u = al.fp8Cached(prefix + "up", maxN, inter, "ffn.up");
        h = al.fp8Scratch(prefix + "act", maxN, inter, "ffn.act");
        gC = al.cache(Fp8Recipe.SWIGLU_GATE, prefix + "gate", maxN, inter);
        uC = al.cache(Fp8Recipe.SWIGLU_UP, prefix + "up", maxN, inter);
    }

    /** y[N, dim] = FFN(x[N, dim]) (overwrites y). */
    public void forward(Arenas s, int x, int y, int N) {
        long t0 = Profiler.start();
        forward(s, wg, wu, wd, Input.floats(x), y, 0, N);
        Profiler.stop(P_FFN, t0);
    }

    /** dacts[x] += dFFN/dx^T dacts[y]; leaves dg, du in dacts. */
    public void backwardInput(Arenas s, int x, int y, int N) {
        long t0 = Profiler.start();
        backwardInput(s, wg, wu, wd, Input.floats(x), y, 0, N, Fp8Recipe.OUTPUT_GRAD.scales());
        Profiler.stop(P_FFN, t0);
    }

    /** Weight gradients; x is the input's acts offset. */
    public void backwardWeights(Arenas s, int x, int y, int N) {
        long t0 = Profiler.start();
        backwardWeights(s, wg, wu, wd, Input.floats(x), y, 0, N, Fp8Recipe.OUTPUT_GRAD.scales());
        Profiler.stop(P_FFN, t0);
    }

    /** Scalar twin of {@code Silu.sigmoid} in double (test oracles). */
    static float sigmoid(float z) { return (float) (1.0 / (1.0 + Math.exp(-z))); }

    /**
     * Forward of rows [r0, r0+m): g = x Wgate^T, u = x Wup^T, h = SiLU(g) * u, y = h Wdown^T (y is [*, dim] from row 0
     * at acts[y]). FP8: x quantized (or read from its cache) once for both GEMMs; g and u cached in E4M3.
     */
    void forward(Arenas s, Param wg, Param wu, Param wd, Input x, int y, int r0, int m) {
        if (m == 0) return;
        View gv = g.value(s, r0, m), uv = u.value(s, r0, m), hv = h.value(s, r0, m);
        View yv = View.of(s.acts, y + r0 * dim, m, dim);
        if (gC != null) { // FP8: g and u cached per Fp8Recipe (SWIGLU_GATE, SWIGLU_UP), h recomputed
            Fp8Tensor xq = x.fp8(s, r0, m, dim);
            Linear.fp8Forward(gv, xq, wg.value(s));
            Linear.fp8Forward(uv, xq, wu.value(s));
            s.cache.storeE4m3(gC, r0, gv.a(), gv.off(), m, Fp8Recipe.SWIGLU_GATE.scales());
            s.cache.storeE4m3(uC, r0, uv.a(), uv.off(), m, Fp8Recipe.SWIGLU_UP.scales());
        } else {
            View xv = x.value(s, r0, m, dim);
            Linear.forward(precision, gv, xv, wg.value(s));
            Linear.forward(precision, uv, xv, wu.value(s));
        }
        swiglu(hv, gv, uv);
        Linear.forward(precision, yv, hv, wd.value(s));
    }

    /** h = SiLU(g) * u element-wise, parallel. */
    private static void swiglu(View h, View g, View u) {
        float[] a = h.a();
        int ho = h.off(), go = g.off(), uo = u.off(), n = h.size();
        TrainPool.forRange(n, TrainPool.grain(n, 4096), (lo, hi, w) -> Silu.swiglu(a, ho + lo, g.a(), go + lo, u.a(), uo + lo, hi - lo));
    }

    /** FP8: refills the float g and u of rows [r0, r0+m) in acts from the cache (and h = SwiGLU(g, u) when asked). */
    private void restore(Arenas s, int r0, int m, boolean withH) {
        View gv = g.value(s, r0, m), uv = u.value(s, r0, m);
        s.cache.loadE4m3(gC, r0, m, gv.a(), gv.off());
        s.cache.loadE4m3(uC, r0, m, uv.a(), uv.off());
        if (withH) swiglu(h.value(s, r0, m), gv, uv);
    }

    /**
     * Input part of backward of rows [r0, r0+m), the mirror of {@link #forward}: dh = dy Wdown; dg, du from the
     * SwiGLU backward; dx += dg Wgate + du Wup. Leaves dg, du in dacts. {@code dyFmt}: scale format of dy's FP8
     * quantization (power of two for the routed experts, report §3.3).
     */
    void backwardInput(Arenas s, Param wg, Param wu, Param wd, Input x, int y, int r0, int m, ScaleFormat dyFmt) {
        if (m == 0) return;
        View dy = View.of(s.dacts, y + r0 * dim, m, dim), dh = h.grad(s, r0, m);
        View dg = g.grad(s, r0, m), du = u.grad(s, r0, m);
        if (gC != null) { // FP8: g and u cached per Fp8Recipe (SWIGLU_GATE, SWIGLU_UP), h recomputed
            restore(s, r0, m, false);
            TrainPool.zero(dh.a(), dh.off(), dh.off() + dh.size());     // h's gradient lives in a shared slot
            Linear.fp8BackwardInput(dh, TileQuantizer.activation(dy.a(), dy.off(), m, dim, dyFmt), wd.value(s));
        } else {
            Linear.backwardInput(precision, dh, dy, wd.value(s));
        }
        swigluBackward(g.value(s, r0, m), u.value(s, r0, m), dh, dg, du);
        View dx = x.grad(s, r0, m, dim);
        Linear.backwardInput(precision, dx, dg, wg.value(s));
        Linear.backwardInput(precision, dx, du, wu.value(s));
    }

    /** dg, du += the SwiGLU backward of dh, element-wise, parallel. */
    private static void swigluBackward(View g, View u, View dh, View dg, View du) {
        int go = g.off(), uo = u.off(), hd = dh.off(), gd = dg.off(), ud = du.off(), n = g.size();
        TrainPool.forRange(n, TrainPool.grain(n, 4096), (lo, hi, w) ->
                Silu.swigluBackward(g.a(), go + lo, u.a(), uo + lo, dh.a(), hd + lo, dg.a(), gd + lo, du.a(), ud + lo, hi - lo));
    }

    /** Weight part of backward of rows [r0, r0+m): dWdown += dy^T h, dWgate += dg^T x, dWup += du^T x. */
    void backwardWeights(Arenas s, Param wg, Param wu, Param wd, Input x, int y, int r0, int m, ScaleFormat dyFmt) {
        if (m == 0) return;
        View dy = View.of(s.dacts, y + r0 * dim, m, dim), hv = h.value(s, r0, m);
        View dg = g.grad(s, r0, m), du = u.grad(s, r0, m);
        if (gC != null) { // FP8: g and u cached per Fp8Recipe (SWIGLU_GATE, SWIGLU_UP), h recomputed
            restore(s, r0, m, true);
            Linear.fp8BackwardWeight(wd.grad(s), TileQuantizer.activation(dy.a(), dy.off(), m, dim, dyFmt), dyFmt,
                    TileQuantizer.activation(hv.a(), hv.off(), m, inter, Fp8Recipe.LINEAR_INPUT.scales()), Fp8Recipe.LINEAR_INPUT.scales());
            Fp8Tensor xq = x.fp8(s, r0, m, dim);
            ScaleFormat gradFmt = Fp8Recipe.OUTPUT_GRAD.scales();
            Linear.fp8BackwardWeight(wg.grad(s), TileQuantizer.activation(dg.a(), dg.off(), m, inter, gradFmt), gradFmt, xq, x.fmt());
            Linear.fp8BackwardWeight(wu.grad(s), TileQuantizer.activation(du.a(), du.off(), m, inter, gradFmt), gradFmt, xq, x.fmt());
        } else {
            Linear.backwardWeight(precision, wd.grad(s), dy, hv);
            View xv = x.value(s, r0, m, dim);
            Linear.backwardWeight(precision, wg.grad(s), dg, xv);
            Linear.backwardWeight(precision, wu.grad(s), du, xv);
        }
    }
}
