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
        RmsNorm.forward(a, a1, dim, a, x, dim, p, attnNorm, a, r1, N, dim, eps);
        attn.forward(s, a1, attnOut, B, T);
        for (int i = 0; i < N * dim; i++) a[xmid + i] = a[x + i] + a[attnOut + i];
        RmsNorm.forward(a, a2, dim, a, xmid, dim, p, ffnNorm, a, r2, N, dim, eps);
        double bal = 0;
        if (moe != null) bal = moe.forward(s, a2, ffnOut, B, T, alpha, seqWise);
        else mlp.forward(s, a2, ffnOut, N);
        for (int i = 0; i < N * dim; i++) a[y + i] = a[xmid + i] + a[ffnOut + i];
        return bal;
    }

    /** dacts[x] += dblock/dx^T dacts[y]. {@code balScale}: upstream gradient of the balance loss. */
    public void backwardInput(Arenas s, int x, int y, int B, int T, float balScale) {
        int N = B * T;
        float[] p = s.params, a = s.acts, d = s.dacts;
        for (int i = 0; i < N * dim; i++) { d[ffnOut + i] += d[y + i]; d[xmid + i] += d[y + i]; }
        if (moe != null) moe.backwardInput(s, a2, ffnOut, B, T, balScale);
        else mlp.backwardInput(s, a2, ffnOut, N);
        RmsNorm.backwardInput(d, xmid, dim, d, a2, dim, a, xmid, dim, p, ffnNorm, a, r2, N, dim);
        for (int i = 0; i < N * dim; i++) { d[attnOut + i] += d[xmid + i]; d[x + i] += d[xmid + i]; }
        attn.backwardInput(s, a1, attnOut, B, T);
        RmsNorm.backwardInput(d, x, dim, d, a1, dim, a, x, dim, p, attnNorm, a, r1, N, dim);
    }

    public void backwardWeights(Arenas s, int x, int y, int B, int T) {
        int N = B * T;
        float[] g = s.grads, a = s.acts, d = s.dacts;
        if (moe != null) moe.backwardWeights(s, a2, ffnOut, B, T);
        else mlp.backwardWeights(s, a2, ffnOut, N);
        RmsNorm.backwardWeight(g, ffnNorm, d, a2, dim, a, xmid, dim, a, r2, N, dim);
        attn.backwardWeights(s, a1, attnOut, B, T);
        RmsNorm.backwardWeight(g, attnNorm, d, a1, dim, a, x, dim, a, r1, N, dim);
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
