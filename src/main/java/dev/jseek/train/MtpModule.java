package dev.jseek.train;

import dev.jseek.model.ModelConfig;

/**
 * One Multi-Token Prediction depth k (spec E.1, E.2), HF layer id L = num_hidden_layers + k - 1. For the B sequences
 * of T tokens it works on T-k positions per sequence: at position t it combines h_t (the previous depth's hidden: for
 * k = 1 the main model's hidden AFTER model.norm, else the previous MTP block's output) with the embedding of token
 * t+k: h'_t = eh_proj([enorm(Emb(tok[t+k])) ; hnorm(h_t)]) (embedding FIRST), runs a full block over the T-k
 * positions (RoPE positions 0..T-k-1), then logits = lm_head(shared_head.norm(block out)) and cross-entropy against
 * target[t+k]. Embedding and head are the main model's (one copy, {@code embed}/{@code head} offsets); the layer's
 * HF names for them are registered as aliases. Positions whose target is negative are ignored.
 */
public final class MtpModule {
    final int depth, layer, dim, vocab;
    final float eps;
    final int enorm, hnorm, eh, headNorm;
    final Block block;
    // activations
    final int e, eR, hR, cat, hp, hk, hkn, hkR, logits;
    final int[] tokensK, targetsK;
    private int Tk, Tprev, B, prev;
    double lastCe, lastBal;

    public MtpModule(ModelConfig c, int depth, ParamLayout pl, ActLayout al, int maxN, Rotary rope) {
        this.depth = depth;
        layer = c.numHiddenLayers() + depth - 1;
        dim = c.hiddenSize();
        vocab = c.vocabSize();
        eps = (float) c.rmsNormEps();
        String pre = "model.layers." + layer + ".";
        enorm = pl.add(pre + "enorm.weight", true, dim);
        hnorm = pl.add(pre + "hnorm.weight", true, dim);
        eh = pl.add(pre + "eh_proj.weight", true, dim, 2 * dim);
        block = new Block(c, layer, pl, al, maxN, rope);
        headNorm = pl.add(pre + "shared_head.norm.weight", true, dim);
        pl.alias(pre + "embed_tokens.weight", "model.embed_tokens.weight");
        pl.alias(pre + "shared_head.head.weight", "lm_head.weight");
        long n = maxN;
        e = al.alloc(pre + "embedding", n * dim);
        eR = al.alloc(pre + "enorm.rstd", n);
        hR = al.alloc(pre + "hnorm.rstd", n);
        cat = al.alloc(pre + "concat", n * 2 * dim);
        hp = al.alloc(pre + "projected", n * dim);
        hk = al.alloc(pre + "hidden", n * dim);
        hkn = al.alloc(pre + "hidden_normed", n * dim);
        hkR = al.alloc(pre + "shared_head.norm.rstd", n);
        logits = al.alloc(pre + "logits", n * vocab);
        tokensK = new int[maxN];
        targetsK = new int[maxN];
    }

    /**
     * Forward over B sequences: {@code prev} is the previous depth's hidden [B, prevT, dim] in acts (prevT = T-k+1).
     * Sets {@link #lastCe} (mean CE) and {@link #lastBal} (balance loss of the block); logits become probabilities.
     */
    void forward(Arenas s, int[] tokens, int[] targets, int B, int T, int prev, int prevT, int embed, int head,
                 float alpha, boolean seqWise) {
        forwardLogits(s, tokens, B, T, prev, prevT, embed, head, alpha, seqWise);
        for (int b = 0; b < B; b++)
            for (int t = 0; t < Tk; t++) targetsK[b * Tk + t] = targets[b * T + t + depth];
        lastCe = CrossEntropy.forward(s.acts, logits, B * Tk, vocab, targetsK, 0);
    }

    /** Forward up to the logits [B*(T-k), vocab] at acts[logits] (no loss). */
    void forwardLogits(Arenas s, int[] tokens, int B, int T, int prev, int prevT, int embed, int head,
                       float alpha, boolean seqWise) {
        this.B = B;
        Tk = T - depth;
        Tprev = prevT;
        this.prev = prev;
        int N = B * Tk;
        float[] p = s.params, a = s.acts;
        for (int b = 0; b < B; b++)
            for (int t = 0; t < Tk; t++) tokensK[b * Tk + t] = tokens[b * T + t + depth];
        Embedding.forward(a, e, p, embed, tokensK, 0, N, dim, vocab);
        RmsNorm.forward(a, cat, 2 * dim, a, e, dim, p, enorm, a, eR, N, dim, eps);
        for (int b = 0; b < B; b++)
            RmsNorm.forward(a, cat + b * Tk * 2 * dim + dim, 2 * dim, a, prev + b * prevT * dim, dim, p, hnorm, a, hR + b * Tk, Tk, dim, eps);
        Linear.forward(a, hp, a, cat, p, eh, N, 2 * dim, dim);
        lastBal = block.forward(s, hp, hk, B, Tk, alpha, seqWise);
        RmsNorm.forward(a, hkn, dim, a, hk, dim, p, headNorm, a, hkR, N, dim, eps);
        Linear.forward(a, logits, a, hkn, p, head, N, dim, vocab);
    }

    /** Input part: gradients down to this depth's inputs (dacts[hk] may already hold the next depth's share). */
    void backwardInput(Arenas s, int head, float ceScale, float balScale) {
        int N = B * Tk;
        float[] p = s.params, a = s.acts, d = s.dacts;
        CrossEntropy.backward(d, logits, a, logits, N, vocab, targetsK, 0, ceScale);
        Linear.backwardInput(d, hkn, d, logits, p, head, N, dim, vocab);
        RmsNorm.backwardInput(d, hk, dim, d, hkn, dim, a, hk, dim, p, headNorm, a, hkR, N, dim);
        block.backwardInput(s, hp, hk, B, Tk, balScale);
        Linear.backwardInput(d, cat, d, hp, p, eh, N, 2 * dim, dim);
        RmsNorm.backwardInput(d, e, dim, d, cat, 2 * dim, a, e, dim, p, enorm, a, eR, N, dim);
        for (int b = 0; b < B; b++)
            RmsNorm.backwardInput(d, prev + b * Tprev * dim, dim, d, cat + b * Tk * 2 * dim + dim, 2 * dim,
                    a, prev + b * Tprev * dim, dim, p, hnorm, a, hR + b * Tk, Tk, dim);
    }

    /** Weight part, including this depth's share of the shared embedding and head gradients. */
    void backwardWeights(Arenas s, int embed, int head) {
        int N = B * Tk;
        float[] g = s.grads, a = s.acts, d = s.dacts;
        Linear.backwardWeight(g, head, d, logits, a, hkn, N, dim, vocab);
        RmsNorm.backwardWeight(g, headNorm, d, hkn, dim, a, hk, dim, a, hkR, N, dim);
        block.backwardWeights(s, hp, hk, B, Tk);
        Linear.backwardWeight(g, eh, d, hp, a, cat, N, 2 * dim, dim);
        RmsNorm.backwardWeight(g, enorm, d, cat, 2 * dim, a, e, dim, a, eR, N, dim);
        for (int b = 0; b < B; b++)
            RmsNorm.backwardWeight(g, hnorm, d, cat + b * Tk * 2 * dim + dim, 2 * dim, a, prev + b * Tprev * dim, dim, a, hR + b * Tk, Tk, dim);
        Embedding.backwardWeight(g, embed, d, e, tokensK, 0, N, dim);
    }
}
