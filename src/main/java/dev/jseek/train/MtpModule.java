package dev.jseek.train;

import dev.jseek.model.ModelConfig;

/**
 * One Multi-Token Prediction depth k (report §2.2; docs/architecture.md §6.1, §6.2), HF layer id L = num_hidden_layers + k - 1. For the B sequences
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
    // parameters (model.layers.L.)
    final Param enorm, hnorm, eh, headNorm;
    final Block block;
    // activations: Emb(tok[t+k]) and the rstd of its norm; hnorm's rstd; [enorm(e) ; hnorm(h)]; h' = eh_proj(concat);
    // the block's output h_k; shared_head.norm(h_k) and its rstd; the logits (probabilities after the loss)
    final Act e, eRstd, hRstd, cat, projected, hidden, hiddenNormed, hiddenRstd, logits;
    final boolean recompute;
    /** Recompute mode: refills the previous depth's hidden in acts before backward reads it (null: it is kept). */
    Runnable recomputePrev;
    final int[] tokensK, targetsK;
    private int Tk, Tprev, B;
    private Act prev;
    double lastCe, lastBal;

    public MtpModule(ModelConfig c, int depth, ParamLayout pl, ActLayout al, int maxN, Rotary rope) {
        this.depth = depth;
        layer = c.numHiddenLayers() + depth - 1;
        dim = c.hiddenSize();
        vocab = c.vocabSize();
        eps = (float) c.rmsNormEps();
        String pre = "model.layers." + layer + ".";
        enorm = pl.vector(pre + "enorm.weight");
        hnorm = pl.vector(pre + "hnorm.weight");
        eh = pl.matrix(pre + "eh_proj.weight");
        block = new Block(c, layer, pl, al, maxN, rope);
        headNorm = pl.vector(pre + "shared_head.norm.weight");
        pl.alias(pre + "embed_tokens.weight", "model.embed_tokens.weight");
        pl.alias(pre + "shared_head.head.weight", "lm_head.weight");
        long n = maxN;
        e = al.act(pre + "embedding", n, dim);
        eRstd = al.act(pre + "enorm.rstd", n, 1);
        hRstd = al.act(pre + "hnorm.rstd", n, 1);
        cat = al.recomputed(pre + "concat", n, 2 * dim, "mtp.concat");
        projected = al.act(pre + "projected", n, dim);
        hidden = al.act(pre + "hidden", n, dim);
        hiddenNormed = al.recomputed(pre + "hidden_normed", n, dim, "norm.out");
        hiddenRstd = al.act(pre + "shared_head.norm.rstd", n, 1);
        logits = al.act(pre + "logits", n, vocab);
        tokensK = new int[maxN];
        targetsK = new int[maxN];
        recompute = al.recompute();
    }

    /**
     * Forward over B sequences: {@code prev} is the previous depth's hidden [B, prevT, dim] (prevT = T-k+1).
     * Sets {@link #lastCe} (mean CE) and {@link #lastBal} (balance loss of the block); logits become probabilities.
     */
    void forward(Arenas s, int[] tokens, int[] targets, int B, int T, Act prev, int prevT, Param embed, Param head,
                 float alpha, boolean seqWise) {
        forwardLogits(s, tokens, B, T, prev, prevT, embed, head, alpha, seqWise);
        long t0 = Profiler.start();
        for (int b = 0; b < B; b++)
            for (int t = 0; t < Tk; t++)
                targetsK[b * Tk + t] = s.docs == null || s.docs.sameDocument(b, t, depth) ? targets[b * T + t + depth] : -1;
        lastCe = CrossEntropy.forward(logits.value(s, B * Tk), targetsK);
        Profiler.stop(TrainModel.P_HEAD, t0);
    }

    /** The hnorm half of the concatenation for sequence b: rows [b*Tk, (b+1)*Tk), columns [dim, 2*dim). */
    private static View hHalf(View cat, int b, int Tk, int dim) { return cat.rows(b * Tk, Tk).cols(dim, dim); }

    /** Sequence b's first Tk rows of the previous hidden (whose sequences are Tprev rows apart). */
    private View prevRows(View prev, int b) { return prev.rows(b * Tprev, Tk); }

    /**
     * Forward up to the logits [B*(T-k), vocab] (no loss): h' = eh_proj([enorm(Emb(tok[t+k])) ; hnorm(h_t)]),
     * h_k = Block(h'), logits = lm_head(shared_head.norm(h_k)).
     */
    void forwardLogits(Arenas s, int[] tokens, int B, int T, Act prev, int prevT, Param embed, Param head,
                       float alpha, boolean seqWise) {
        this.B = B;
        Tk = T - depth;
        Tprev = prevT;
        this.prev = prev;
        int N = B * Tk;
        long t0 = Profiler.start();
        for (int b = 0; b < B; b++)
            for (int t = 0; t < Tk; t++) tokensK[b * Tk + t] = tokens[b * T + t + depth];
        Embedding.forward(e.value(s, N), embed.value(s), tokensK);
        View catv = cat.value(s, N), pv = prev.value(s, B * prevT);
        RmsNorm.forward(catv.cols(0, dim), e.value(s, N), enorm.value(s), eRstd.value(s, N), eps);
        for (int b = 0; b < B; b++)
            RmsNorm.forward(hHalf(catv, b, Tk, dim), prevRows(pv, b), hnorm.value(s), hRstd.value(s, N).rows(b * Tk, Tk), eps);
        Linear.forward(Precision.FP32, projected.value(s, N), catv, eh.value(s));
        Profiler.stop(TrainModel.P_MTP, t0);
        lastBal = block.forward(s, projected.acts(), hidden.acts(), B, Tk, alpha, seqWise);
        t0 = Profiler.start();
        RmsNorm.forward(hiddenNormed.value(s, N), hidden.value(s, N), headNorm.value(s), hiddenRstd.value(s, N), eps);
        Linear.forward(Precision.FP32, logits.value(s, N), hiddenNormed.value(s, N), head.value(s));
        Profiler.stop(TrainModel.P_HEAD, t0);
    }

    /** Input part of backward, the forward in reverse (dacts of hidden may already hold the next depth's share). */
    void backwardInput(Arenas s, Param head, float ceScale, float balScale) {
        int N = B * Tk;
        long t0 = Profiler.start();
        CrossEntropy.backward(logits.grad(s, N), logits.value(s, N), targetsK, ceScale);
        Linear.backwardInput(Precision.FP32, hiddenNormed.grad(s, N), logits.grad(s, N), head.value(s));
        RmsNorm.backwardInput(hidden.grad(s, N), hiddenNormed.grad(s, N), hidden.value(s, N), headNorm.value(s), hiddenRstd.value(s, N));
        Profiler.stop(TrainModel.P_HEAD, t0);
        block.backwardInput(s, projected.dacts(), hidden.dacts(), B, Tk, balScale);
        t0 = Profiler.start();
        View dcat = cat.grad(s, N);
        Linear.backwardInput(Precision.FP32, dcat, projected.grad(s, N), eh.value(s));
        RmsNorm.backwardInput(e.grad(s, N), dcat.cols(0, dim), e.value(s, N), enorm.value(s), eRstd.value(s, N));
        if (recompute && recomputePrev != null) recomputePrev.run();
        View pv = prev.value(s, B * Tprev), dprev = prev.grad(s, B * Tprev);
        for (int b = 0; b < B; b++)
            RmsNorm.backwardInput(prevRows(dprev, b), hHalf(dcat, b, Tk, dim), prevRows(pv, b), hnorm.value(s), hRstd.value(s, N).rows(b * Tk, Tk));
        Profiler.stop(TrainModel.P_MTP, t0);
    }

    /** Weight part, including this depth's share of the shared embedding and head gradients. */
    void backwardWeights(Arenas s, Param embed, Param head) {
        int N = B * Tk;
        long t0 = Profiler.start();
        if (recompute) RmsNorm.recompute(hiddenNormed.value(s, N), hidden.value(s, N), headNorm.value(s), hiddenRstd.value(s, N));
        Linear.backwardWeight(Precision.FP32, head.grad(s), logits.grad(s, N), hiddenNormed.value(s, N));
        RmsNorm.backwardWeight(headNorm.grad(s), hiddenNormed.grad(s, N), hidden.value(s, N), hiddenRstd.value(s, N));
        Profiler.stop(TrainModel.P_HEAD, t0);
        block.backwardWeights(s, projected.acts(), hidden.acts(), B, Tk);
        t0 = Profiler.start();
        View catv = cat.value(s, N), dcat = cat.grad(s, N), pv = prev.value(s, B * Tprev);
        if (recompute) {
            if (recomputePrev != null) recomputePrev.run();
            RmsNorm.recompute(catv.cols(0, dim), e.value(s, N), enorm.value(s), eRstd.value(s, N));
            for (int b = 0; b < B; b++)
                RmsNorm.recompute(hHalf(catv, b, Tk, dim), prevRows(pv, b), hnorm.value(s), hRstd.value(s, N).rows(b * Tk, Tk));
        }
        Linear.backwardWeight(Precision.FP32, eh.grad(s), projected.grad(s, N), catv);
        RmsNorm.backwardWeight(enorm.grad(s), dcat.cols(0, dim), e.value(s, N), eRstd.value(s, N));
        for (int b = 0; b < B; b++)
            RmsNorm.backwardWeight(hnorm.grad(s), hHalf(dcat, b, Tk, dim), prevRows(pv, b), hRstd.value(s, N).rows(b * Tk, Tk));
        Embedding.backwardWeight(embed.grad(s), e.grad(s, N), tokensK);
        Profiler.stop(TrainModel.P_MTP, t0);
    }
}
