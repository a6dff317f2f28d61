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
 * offsets in dacts ({@link #attnIn}, {@link #ffnIn}: an {@link Act} has both offsets).
 */
public final class Block {
    final int layer, dim;
    final float eps;
    // parameters (model.layers.L.)
    final Param attnNorm, ffnNorm;
    final Mla attn;
    final SwiGluFfn mlp;
    final Moe moe;
    // activations: the normed inputs of attention and FFN are recomputed in recompute mode
    final Act attnIn, attnRstd, attnOut, residualMid, ffnIn, ffnRstd, ffnOut;
    final boolean recompute;
    static final int P_NORM = Profiler.section("block norms + residuals");

    public Block(ModelConfig c, int layer, ParamLayout pl, ActLayout al, int maxN, Rotary rope) {
        this.layer = layer;
        dim = c.hiddenSize();
        eps = (float) c.rmsNormEps();
        String pre = "model.layers." + layer + ".";
        attnNorm = pl.vector(pre + "input_layernorm.weight");
        attn = new Mla(c, pre + "self_attn.", pl, al, maxN, rope);
        ffnNorm = pl.vector(pre + "post_attention_layernorm.weight");
        if (c.isMoeLayer(layer)) {
            moe = new Moe(c, pre + "mlp.", pl, al, maxN);
            mlp = null;
        } else {
            mlp = SwiGluFfn.declared(pre + "mlp.", pl, al, maxN);
            moe = null;
        }
        attnIn = al.recomputed(pre + "attn_in", maxN, dim, "norm.out");
        attnRstd = al.act(pre + "attn_in.rstd", maxN, 1);
        attnOut = al.act(pre + "attn_out", maxN, dim);
        residualMid = al.act(pre + "residual_mid", maxN, dim);
        ffnIn = al.recomputed(pre + "ffn_in", maxN, dim, "norm.out");
        ffnRstd = al.act(pre + "ffn_in.rstd", maxN, 1);
        ffnOut = al.act(pre + "ffn_out", maxN, dim);
        recompute = al.recompute();
    }

    /**
     * Forward, x and y [B*T, dim] at acts offsets x, y: x_mid = x + MLA(RMSNorm_attn(x)); y = x_mid + FFN(RMSNorm_ffn(x_mid)).
     * Returns this block's balance loss (0 for dense blocks or alpha == 0).
     */
    public double forward(Arenas s, int x, int y, int B, int T, float alpha, boolean seqWise) {
        int N = B * T;
        View xv = View.of(s.acts, x, N, dim);
        long t0 = Profiler.start();
        RmsNorm.forward(attnIn.value(s, N), xv, attnNorm.value(s), attnRstd.value(s, N), eps);
        Profiler.stop(P_NORM, t0);
        attn.forward(s, attnIn.acts(), attnOut.acts(), B, T);
        t0 = Profiler.start();
        add(s.acts, residualMid.acts(), x, attnOut.acts(), N * dim);
        RmsNorm.forward(ffnIn.value(s, N), residualMid.value(s, N), ffnNorm.value(s), ffnRstd.value(s, N), eps);
        Profiler.stop(P_NORM, t0);
        double bal = 0;
        if (moe != null) bal = moe.forward(s, ffnIn.acts(), ffnOut.acts(), B, T, alpha, seqWise);
        else mlp.forward(s, ffnIn.acts(), ffnOut.acts(), N);
        t0 = Profiler.start();
        add(s.acts, y, residualMid.acts(), ffnOut.acts(), N * dim);
        Profiler.stop(P_NORM, t0);
        return bal;
    }

    /**
     * Input part of backward, the mirror of {@link #forward}: dy fans out to the FFN branch and x_mid; the FFN and
     * its norm give d x_mid; d x_mid fans out to the attention branch and x; attention and its norm give dx.
     * {@code balScale}: upstream gradient of the balance loss.
     */
    public void backwardInput(Arenas s, int x, int y, int B, int T, float balScale) {
        int N = B * T;
        float[] d = s.dacts;
        View xv = View.of(s.acts, x, N, dim), dx = View.of(d, x, N, dim);
        long t0 = Profiler.start();
        fanOut(d, y, ffnOut.dacts(), residualMid.dacts(), N * dim);
        Profiler.stop(P_NORM, t0);
        if (moe != null) moe.backwardInput(s, ffnIn.dacts(), ffnOut.dacts(), B, T, balScale);
        else mlp.backwardInput(s, ffnIn.dacts(), ffnOut.dacts(), N);
        t0 = Profiler.start();
        RmsNorm.backwardInput(residualMid.grad(s, N), ffnIn.grad(s, N), residualMid.value(s, N), ffnNorm.value(s), ffnRstd.value(s, N));
        fanOut(d, residualMid.dacts(), attnOut.dacts(), x, N * dim);
        if (attn.needsInputInBackward()) RmsNorm.recompute(attnIn.value(s, N), xv, attnNorm.value(s), attnRstd.value(s, N));
        Profiler.stop(P_NORM, t0);
        attn.backwardInput(s, attnIn.dacts(), attnIn.acts(), attnOut.dacts(), B, T);
        t0 = Profiler.start();
        RmsNorm.backwardInput(dx, attnIn.grad(s, N), xv, attnNorm.value(s), attnRstd.value(s, N));
        Profiler.stop(P_NORM, t0);
    }

    /** Weight part of backward (after {@link #backwardInput}); recomputes the norm outputs first in recompute mode. */
    public void backwardWeights(Arenas s, int x, int y, int B, int T) {
        int N = B * T;
        View xv = View.of(s.acts, x, N, dim);
        long t0 = Profiler.start();
        if (recompute) RmsNorm.recompute(ffnIn.value(s, N), residualMid.value(s, N), ffnNorm.value(s), ffnRstd.value(s, N));
        Profiler.stop(P_NORM, t0);
        if (moe != null) moe.backwardWeights(s, ffnIn.acts(), ffnOut.acts(), B, T);
        else mlp.backwardWeights(s, ffnIn.acts(), ffnOut.acts(), N);
        t0 = Profiler.start();
        RmsNorm.backwardWeight(ffnNorm.grad(s), ffnIn.grad(s, N), residualMid.value(s, N), ffnRstd.value(s, N));
        if (recompute) RmsNorm.recompute(attnIn.value(s, N), xv, attnNorm.value(s), attnRstd.value(s, N));
        Profiler.stop(P_NORM, t0);
        attn.backwardWeights(s, attnIn.acts(), attnOut.acts(), B, T);
        t0 = Profiler.start();
        RmsNorm.backwardWeight(attnNorm.grad(s), attnIn.grad(s, N), xv, attnRstd.value(s, N));
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
