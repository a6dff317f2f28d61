package dev.jseek.train;

import dev.jseek.model.ModelConfig;

/**
 * One Multi-Token Prediction depth k (docs/architecture.md §6.1, §6.2), HF layer id L = num_hidden_layers + k - 1. For the B sequences
 * of T tokens it works on T-k positions per sequence: at position t it combines h_t (the previous depth's hidden: for
 * k = 1 the main model's hidden AFTER model.norm, else the previous MTP block's output) with the embedding of token
 * t+k: h'_t = eh_proj([enorm(Emb(tok[t+k])) ; hnorm(h_t)]) (embedding FIRST), runs a full block over the T-k
 * positions (RoPE positions 0..T-k-1), then logits = lm_head(shared_head.norm(block out)) and cross-entropy against
 * target[t+k]. Embedding and head are the main model's (one copy, {@code embed}/{@code head} offsets); the layer's
 * HF names for them are registered as aliases. Positions whose target is negative are ignored.
 *
 * <p>Recompute mode ({@link ActLayout#recompute()}, docs/architecture.md §7.1): the concatenation of the enorm/hnorm outputs and the
 * shared_head.norm output live in shared scratch slots of acts and are recomputed in backward from the saved inputs
 * and rstd; their gradients keep per-depth offsets in dacts. For depth 1 the previous hidden (the main model's final
 * norm output) is itself recomputed: the model sets {@link #recomputePrev} and passes its acts and dacts offsets.
 */
public final class MtpModule {
    final int depth, layer, dim, vocab;
    final float eps;
    final int enorm, hnorm, eh, headNorm;
    final Block block;
    // activations
    final int e, eR, hR, cat, hp, hk, hkn, hkR, logits;
    /** acts offsets of the recomputable buffers (equal to cat, hkn without recompute). */
    final int catA, hknA;
    final boolean recompute;
    /** Recompute mode: refills the previous depth's hidden in acts before backward reads it (null: it is kept). */
    Runnable recomputePrev;
    final int[] tokensK, targetsK;
    private int Tk, Tprev, B, prev, prevA;
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
        int[] t = al.allocRecomputed(pre + "concat", n * 2 * dim, "mtp.concat");
        catA = t[0]; cat = t[1];
        hp = al.alloc(pre + "projected", n * dim);
        hk = al.alloc(pre + "hidden", n * dim);
        t = al.allocRecomputed(pre + "hidden_normed", n * dim, "norm.out");
        hknA = t[0]; hkn = t[1];
        hkR = al.alloc(pre + "shared_head.norm.rstd", n);
        logits = al.alloc(pre + "logits", n * vocab);
        tokensK = new int[maxN];
        targetsK = new int[maxN];
        recompute = al.recompute();
    }

    /**
     * Forward over B sequences: {@code prev} is the previous depth's hidden [B, prevT, dim] (prevT = T-k+1), at
     * {@code prevA} in acts and {@code prev} in dacts.
     * Sets {@link #lastCe} (mean CE) and {@link #lastBal} (balance loss of the block); logits become probabilities.
     */
    void forward(Arenas s, int[] tokens, int[] targets, int B, int T, int prevA, int prev, int prevT, int embed, int head,
                 float alpha, boolean seqWise) {
        forwardLogits(s, tokens, B, T, prevA, prev, prevT, embed, head, alpha, seqWise);
        long t0 = Profiler.start();
        for (int b = 0; b < B; b++)
            for (int t = 0; t < Tk; t++)
                targetsK[b * Tk + t] = s.docs == null || s.docs.sameDocument(b, t, depth) ? targets[b * T + t + depth] : -1;
        lastCe = CrossEntropy.forward(s.acts, logits, B * Tk, vocab, targetsK, 0);
        Profiler.stop(TrainModel.P_HEAD, t0);
    }

    /** Forward up to the logits [B*(T-k), vocab] at acts[logits] (no loss). */
    void forwardLogits(Arenas s, int[] tokens, int B, int T, int prevA, int prev, int prevT, int embed, int head,
                       float alpha, boolean seqWise) {
        this.B = B;
        Tk = T - depth;
        Tprev = prevT;
        this.prev = prev;
        this.prevA = prevA;
        int N = B * Tk;
        float[] p = s.params, a = s.acts;
        long t0 = Profiler.start();
        for (int b = 0; b < B; b++)
            for (int t = 0; t < Tk; t++) tokensK[b * Tk + t] = tokens[b * T + t + depth];
        Embedding.forward(a, e, p, embed, tokensK, 0, N, dim, vocab);
        RmsNorm.forward(a, catA, 2 * dim, a, e, dim, p, enorm, a, eR, N, dim, eps);
        for (int b = 0; b < B; b++)
            RmsNorm.forward(a, catA + b * Tk * 2 * dim + dim, 2 * dim, a, prevA + b * prevT * dim, dim, p, hnorm, a, hR + b * Tk, Tk, dim, eps);
        Linear.forward(a, hp, a, catA, p, eh, N, 2 * dim, dim);
        Profiler.stop(TrainModel.P_MTP, t0);
        lastBal = block.forward(s, hp, hk, B, Tk, alpha, seqWise);
        t0 = Profiler.start();
        RmsNorm.forward(a, hknA, dim, a, hk, dim, p, headNorm, a, hkR, N, dim, eps);
        Linear.forward(a, logits, a, hknA, p, head, N, dim, vocab);
        Profiler.stop(TrainModel.P_HEAD, t0);
    }

    /** Input part: gradients down to this depth's inputs (dacts[hk] may already hold the next depth's share). */
    void backwardInput(Arenas s, int head, float ceScale, float balScale) {
        int N = B * Tk;
        float[] p = s.params, a = s.acts, d = s.dacts;
        long t0 = Profiler.start();
        CrossEntropy.backward(d, logits, a, logits, N, vocab, targetsK, 0, ceScale);
        Linear.backwardInput(d, hkn, d, logits, p, head, N, dim, vocab);
        RmsNorm.backwardInput(d, hk, dim, d, hkn, dim, a, hk, dim, p, headNorm, a, hkR, N, dim);
        Profiler.stop(TrainModel.P_HEAD, t0);
        block.backwardInput(s, hp, hk, B, Tk, balScale);
        t0 = Profiler.start();
        Linear.backwardInput(d, cat, d, hp, p, eh, N, 2 * dim, dim);
        RmsNorm.backwardInput(d, e, dim, d, cat, 2 * dim, a, e, dim, p, enorm, a, eR, N, dim);
        if (recompute && recomputePrev != null) recomputePrev.run();
        for (int b = 0; b < B; b++)
            RmsNorm.backwardInput(d, prev + b * Tprev * dim, dim, d, cat + b * Tk * 2 * dim + dim, 2 * dim,
                    a, prevA + b * Tprev * dim, dim, p, hnorm, a, hR + b * Tk, Tk, dim);
        Profiler.stop(TrainModel.P_MTP, t0);
    }

    /** Weight part, including this depth's share of the shared embedding and head gradients. */
    void backwardWeights(Arenas s, int embed, int head) {
        int N = B * Tk;
        float[] g = s.grads, a = s.acts, d = s.dacts, p = s.params;
        long t0 = Profiler.start();
        if (recompute) RmsNorm.recompute(a, hknA, dim, a, hk, dim, p, headNorm, a, hkR, N, dim);
        Linear.backwardWeight(g, head, d, logits, a, hknA, N, dim, vocab);
        RmsNorm.backwardWeight(g, headNorm, d, hkn, dim, a, hk, dim, a, hkR, N, dim);
        Profiler.stop(TrainModel.P_HEAD, t0);
        block.backwardWeights(s, hp, hk, B, Tk);
        t0 = Profiler.start();
        if (recompute) {
            if (recomputePrev != null) recomputePrev.run();
            RmsNorm.recompute(a, catA, 2 * dim, a, e, dim, p, enorm, a, eR, N, dim);
            for (int b = 0; b < B; b++)
                RmsNorm.recompute(a, catA + b * Tk * 2 * dim + dim, 2 * dim, a, prevA + b * Tprev * dim, dim, p, hnorm, a, hR + b * Tk, Tk, dim);
        }
        Linear.backwardWeight(g, eh, d, hp, a, catA, N, 2 * dim, dim);
        RmsNorm.backwardWeight(g, enorm, d, cat, 2 * dim, a, e, dim, a, eR, N, dim);
        for (int b = 0; b < B; b++)
            RmsNorm.backwardWeight(g, hnorm, d, cat + b * Tk * 2 * dim + dim, 2 * dim, a, prevA + b * Tprev * dim, dim, a, hR + b * Tk, Tk, dim);
        Embedding.backwardWeight(g, embed, d, e, tokensK, 0, N, dim);
        Profiler.stop(TrainModel.P_MTP, t0);
    }
}
