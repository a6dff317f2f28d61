package dev.jseek.train;

import dev.jseek.model.ModelConfig;

/**
 * One pre-norm transformer block (spec B, D.5): x_mid = x + MLA(RMSNorm_attn(x)); y = x_mid + FFN(RMSNorm_ffn(x_mid)),
 * FFN dense SwiGLU or {@link Moe} per {@link ModelConfig#isMoeLayer}. Parameters under {@code model.layers.L.}.
 * Input x and output y are [B*T, hidden] buffers owned by the caller.
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
        a1 = al.alloc(pre + "attn_in", n * dim);
        r1 = al.alloc(pre + "attn_in.rstd", n);
        attnOut = al.alloc(pre + "attn_out", n * dim);
        xmid = al.alloc(pre + "residual_mid", n * dim);
        a2 = al.alloc(pre + "ffn_in", n * dim);
        r2 = al.alloc(pre + "ffn_in.rstd", n);
        ffnOut = al.alloc(pre + "ffn_out", n * dim);
    }

    /** y = block(x); returns this block's balance loss (0 for dense blocks or alpha == 0). */
    public double forward(Arenas s, int x, int y, int B, int T, float alpha, boolean seqWise) {
        int N = B * T;
        float[] p = s.params, a = s.acts;
        long t0 = Profiler.start();
        RmsNorm.forward(a, a1, dim, a, x, dim, p, attnNorm, a, r1, N, dim, eps);
        Profiler.stop(P_NORM, t0);
        attn.forward(s, a1, attnOut, B, T);
        t0 = Profiler.start();
        add(a, xmid, x, attnOut, N * dim);
        RmsNorm.forward(a, a2, dim, a, xmid, dim, p, ffnNorm, a, r2, N, dim, eps);
        Profiler.stop(P_NORM, t0);
        double bal = 0;
        if (moe != null) bal = moe.forward(s, a2, ffnOut, B, T, alpha, seqWise);
        else mlp.forward(s, a2, ffnOut, N);
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
        Profiler.stop(P_NORM, t0);
        attn.backwardInput(s, a1, attnOut, B, T);
        t0 = Profiler.start();
        RmsNorm.backwardInput(d, x, dim, d, a1, dim, a, x, dim, p, attnNorm, a, r1, N, dim);
        Profiler.stop(P_NORM, t0);
    }

    public void backwardWeights(Arenas s, int x, int y, int B, int T) {
        int N = B * T;
        float[] g = s.grads, a = s.acts, d = s.dacts;
        if (moe != null) moe.backwardWeights(s, a2, ffnOut, B, T);
        else mlp.backwardWeights(s, a2, ffnOut, N);
        long t0 = Profiler.start();
        RmsNorm.backwardWeight(g, ffnNorm, d, a2, dim, a, xmid, dim, a, r2, N, dim);
        Profiler.stop(P_NORM, t0);
        attn.backwardWeights(s, a1, attnOut, B, T);
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
