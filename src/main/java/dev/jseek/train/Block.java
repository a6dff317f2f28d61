package dev.jseek.train;

import dev.jseek.model.ModelConfig;

/**
 * One pre-norm transformer block (report §2.1.1; docs/architecture.md §5.5): x_mid = x + MLA(RMSNorm_attn(x)); y = x_mid + FFN(RMSNorm_ffn(x_mid)),
 * FFN dense SwiGLU or {@link Moe} per {@link ModelConfig#isMoeLayer}. Parameters under {@code model.layers.L.}.
 * Input x and output y are [B*T, hidden] buffers owned by the caller.
 *
 * <p>Recompute mode ({@link ActLayout#recompute()}, docs/architecture.md §7.1): the two norm outputs live in the shared scratch slot
 * "norm.out" of acts; backward recomputes each from the saved input and rstd right before it is read (the FFN and
 * attention weight gradients; the attention input part too when q has no LoRA). Their gradients keep per-layer
 * offsets in dacts ({@link #a1}, {@link #a2}; acts offsets {@link #a1A}, {@link #a2A}).
 */
public final class Block {
    final int layer, dim;
    final float eps;
    final int attnNorm, ffnNorm;
    final Mla attn;
    final SwiGluFfn mlp;
    final Moe moe;
    // activations
    final int a1, r1, attnOut, xmid, a2, r2, ffnOut;
    /** acts offsets of the norm outputs (equal to a1, a2 without recompute). */
    final int a1A, a2A;
    final boolean recompute;
    static final int P_NORM = Profiler.section("block norms + residuals");

    public Block(ModelConfig c, int layer, ParamLayout pl, ActLayout al, int maxN, Rotary rope) {
        this.layer = layer;
        dim = c.hiddenSize();
        eps = (float) c.rmsNormEps();
        String pre = "model.layers." + layer + ".";
        attnNorm = pl.add(pre + "input_layernorm.weight", true, dim);
        attn = new Mla(c, pre + "self_attn.", pl, al, maxN, rope);
        ffnNorm = pl.add(pre + "post_attention_layernorm.weight", true, dim);
        if (c.isMoeLayer(layer)) {
            moe = new Moe(c, pre + "mlp.", pl, al, maxN);
            mlp = null;
        } else {
            mlp = new SwiGluFfn(dim, c.intermediateSize(), pre + "mlp.", pl, al, maxN);
            moe = null;
        }
        long n = maxN;
        int[] t = al.allocRecomputed(pre + "attn_in", n * dim, "norm.out");
        a1A = t[0]; a1 = t[1];
        r1 = al.alloc(pre + "attn_in.rstd", n);
        attnOut = al.alloc(pre + "attn_out", n * dim);
        xmid = al.alloc(pre + "residual_mid", n * dim);
        t = al.allocRecomputed(pre + "ffn_in", n * dim, "norm.out");
        a2A = t[0]; a2 = t[1];
        r2 = al.alloc(pre + "ffn_in.rstd", n);
        ffnOut = al.alloc(pre + "ffn_out", n * dim);
        recompute = al.recompute();
    }

    /** y = block(x); returns this block's balance loss (0 for dense blocks or alpha == 0). */
    public double forward(Arenas s, int x, int y, int B, int T, float alpha, boolean seqWise) {
        int N = B * T;
        float[] p = s.params, a = s.acts;
        long t0 = Profiler.start();
        RmsNorm.forward(a, a1A, dim, a, x, dim, p, attnNorm, a, r1, N, dim, eps);
        Profiler.stop(P_NORM, t0);
        attn.forward(s, a1A, attnOut, B, T);
        t0 = Profiler.start();
        add(a, xmid, x, attnOut, N * dim);
        RmsNorm.forward(a, a2A, dim, a, xmid, dim, p, ffnNorm, a, r2, N, dim, eps);
        Profiler.stop(P_NORM, t0);
        double bal = 0;
        if (moe != null) bal = moe.forward(s, a2A, ffnOut, B, T, alpha, seqWise);
        else mlp.forward(s, a2A, ffnOut, N);
        t0 = Profiler.start();
        add(a, y, xmid, ffnOut, N * dim);
        Profiler.stop(P_NORM, t0);
        return bal;
    }

    /** dacts[x] += dblock/dx^T dacts[y]. {@code balScale}: upstream gradient of the balance loss. */
    public void backwardInput(Arenas s, int x, int y, int B, int T, float balScale) {
        int N = B * T;
        float[] p = s.params, a = s.acts, d = s.dacts;
        long t0 = Profiler.start();
        fanOut(d, y, ffnOut, xmid, N * dim);
        Profiler.stop(P_NORM, t0);
        if (moe != null) moe.backwardInput(s, a2, ffnOut, B, T, balScale);
        else mlp.backwardInput(s, a2, ffnOut, N);
        t0 = Profiler.start();
        RmsNorm.backwardInput(d, xmid, dim, d, a2, dim, a, xmid, dim, p, ffnNorm, a, r2, N, dim);
        fanOut(d, xmid, attnOut, x, N * dim);
        if (attn.needsInputInBackward()) RmsNorm.recompute(a, a1A, dim, a, x, dim, p, attnNorm, a, r1, N, dim);
        Profiler.stop(P_NORM, t0);
        attn.backwardInput(s, a1, a1A, attnOut, B, T);
        t0 = Profiler.start();
        RmsNorm.backwardInput(d, x, dim, d, a1, dim, a, x, dim, p, attnNorm, a, r1, N, dim);
        Profiler.stop(P_NORM, t0);
    }

    public void backwardWeights(Arenas s, int x, int y, int B, int T) {
        int N = B * T;
        float[] g = s.grads, a = s.acts, d = s.dacts, p = s.params;
        long t0 = Profiler.start();
        if (recompute) RmsNorm.recompute(a, a2A, dim, a, xmid, dim, p, ffnNorm, a, r2, N, dim);
        Profiler.stop(P_NORM, t0);
        if (moe != null) moe.backwardWeights(s, a2A, ffnOut, B, T);
        else mlp.backwardWeights(s, a2A, ffnOut, N);
        t0 = Profiler.start();
        RmsNorm.backwardWeight(g, ffnNorm, d, a2, dim, a, xmid, dim, a, r2, N, dim);
        if (recompute) RmsNorm.recompute(a, a1A, dim, a, x, dim, p, attnNorm, a, r1, N, dim);
        Profiler.stop(P_NORM, t0);
        attn.backwardWeights(s, a1A, attnOut, B, T);
        t0 = Profiler.start();
        RmsNorm.backwardWeight(g, attnNorm, d, a1, dim, a, x, dim, a, r1, N, dim);
        Profiler.stop(P_NORM, t0);
    }

    /** a[out..+n) = a[x..+n) + a[y..+n), parallel. */
    static void add(float[] a, int out, int x, int y, int n) {
        TrainPool.forRange(n, TrainPool.grain(n, 8192), (lo, hi, w) -> VecOps.add(a, out + lo, a, x + lo, a, y + lo, hi - lo));
    }

    /** d[p..+n) += d[g..+n); d[q..+n) += d[g..+n) (a residual gradient to both branches), parallel. */
    static void fanOut(float[] d, int g, int p, int q, int n) {
        TrainPool.forRange(n, TrainPool.grain(n, 8192), (lo, hi, w) -> VecOps.addTo2(d, g + lo, d, p + lo, d, q + lo, hi - lo));
    }

    /** The MoE FFN of this block, or null when dense. */
    public Moe moe() { return moe; }

    /** GEMM precision of the attention and FFN projections of this block ({@link Precision}). */
    void setPrecision(Precision p) {
        attn.precision = p;
        if (mlp != null) mlp.precision = p;
        if (moe != null) moe.setPrecision(p);
    }
}
