package dev.jseek.train;

import dev.jseek.model.ModelConfig;

import dev.jseek.fp8.ScaleFormat;
import dev.jseek.kernels.Router;

/**
 * DeepSeekMoE FFN with aux-loss-free routing (report §2.1.2; docs/architecture.md §5.1-§5.4), one layer, on the arenas. Parameters (prefix
 * {@code model.layers.L.mlp.}): gate.weight [E, dim] (router), gate.e_score_correction_bias [E] (non-trainable),
 * experts.e.{gate,up,down}_proj.weight, shared_experts.{gate,up,down}_proj.weight (width moe_inter * n_shared).
 *
 * <p>Forward per token u: s = sigmoid(u Wr^T); selection on c = s + bias: group score = sum of the top-2 c in each of
 * n_group groups, keep topk_group groups (others -inf), top-K experts; weights g_k = rsf * s_k / (sum_sel s + 1e-20)
 * (or rsf * s_k without norm_topk_prob); y = shared(u) + sum_k g_k FFN_k(u). The router math (scores, selection
 * with its tie and NaN rule, weights and their backward) is {@link Router}, shared with inference. Token-to-expert assignments are sorted
 * by expert (stable in token order) so each expert runs one GEMM over its rows. The balance loss (alpha > 0) is
 * computed on s and the selection.
 *
 * <p>Backward: selection is piecewise constant, so the gradient reaches the router only through the selected
 * scores (via g) and through the balance loss (all scores); ds -> dlogit = ds s (1 - s) -> router weight and input.
 * The bias gets no gradient; {@link #load()} counts tokens per expert for the bias update (docs/architecture.md §5.3).
 *
 * <p>FP8 ({@link Precision#FP8}; report §3.3.3 "Low-Precision Communication"): each token's input is quantized
 * to E4M3 with power-of-two scales before the dispatch, and the dispatched rows are cached in that form for the
 * experts' Wgrad (no float copy is kept); the activation gradient before the down-projections (dy of each expert)
 * is quantized with power-of-two scales too. The experts' SwiGLU inputs are cached in E4M3 ({@link SwiGluFfn}).
 * Expert parallel sends the dispatch as those E4M3 codes and scales ({@link ExpertParallel#dispatchFp8}) and the
 * combine as BF16 ({@link ExpertParallel#combineBf16}, report §3.3.3): its experts' outputs are rounded to BF16 before
 * they are weighted and summed. The backward exchanges are BF16 as well (the report keeps the combine's backward in
 * BF16): the experts' output gradients travel as a BF16 dispatch and their input gradients as a BF16 combine. One
 * rank keeps all of these in float unless {@link #setBf16Combine} asks for the same roundings, which makes its
 * forward compute the bits of expert parallel.
 */
public final class Moe {
    private final int dim, E, K, I;
    private final Router router;
    private final Router.Scratch routeScratch;
    /** The router's centroids gate.weight [E, dim] and its selection bias e_score_correction_bias [E] (not trained). */
    final Param wr, bias;
    final Param[] wg, wu, wd;
    final SwiGluFfn shared;
    /** The routed experts' stacked activations (g, u, h of all N*K dispatched rows). */
    final SwiGluFfn experts;
    /** E4M3 cache of the dispatched inputs (FP8 layout only). */
    final CacheSlot xgC;
    // activations: router logits and scores [N, E], routing weights [N, K], the dispatched expert inputs and the
    // experts' outputs [N*K, dim] (rows sorted by expert), the balance loss's per-token f [N, E]
    final Act logits, scores, weights, expertIn, expertOut, balanceF;
    // routing state of the last forward
    private final int[] idx, tokOf, slotOf, posOf, start, fill;
    private final long[] load;
    private final int[] lastCount;
    private float alpha;
    private int balSeqs, balSeqLen;
    /** Expert parallel (null: every expert runs here): the owners' exchange; {@link #rows} are the expert row ranges run here. */
    private ExpertParallel ep;
    private int[] rows;
    /** Expert parallel: this rank's (token, expert) rows' outputs and gradients, source-sorted, [N*K, dim]. */
    private float[] home, homeGrad;
    private final int capacity;
    /** FP8: round the routed experts' outputs to BF16 (the BF16 combine; on under expert parallel, {@link #setBf16Combine}). */
    private boolean bf16Combine;
    /** True when the layout holds only some routed experts ({@link ExpertShard}): runs only expert parallel. */
    private boolean partial;
    /** Node-limited routing (null: the config's group-limited gate); its selection keys. */
    private dev.jseek.parallel.NodeLimitedRouting nodeLimit;
    private final float[] nodeKey;
    static final int P_ROUTER = Profiler.section("moe router + balance loss"), P_DISPATCH = Profiler.section("moe dispatch + combine"),
            P_EXPERTS = Profiler.section("moe routed experts");

    public Moe(ModelConfig c, String prefix, ParamLayout pl, ActLayout al, int maxN) {
        dim = c.hiddenSize(); E = c.nRoutedExperts(); K = c.numExpertsPerTok(); I = c.moeIntermediateSize();
        if (!c.hasRouterBias())
            throw new dev.jseek.model.ConfigException(null, "topk_method", "\"" + c.topkMethod() + "\" (DeepSeek-V2's softmax router) is "
                    + "supported for inference only; training runs DeepSeek-V3's router (scoring_func sigmoid, topk_method noaux_tc)");
        router = new Router(E, K, c.nGroup(), c.topkGroup(), c.normTopkProb(), (float) c.routedScalingFactor());
        routeScratch = router.scratch();
        wr = pl.matrix(prefix + "gate.weight");
        bias = pl.vector(prefix + "gate.e_score_correction_bias");
        wg = new Param[E]; wu = new Param[E]; wd = new Param[E];
        for (int e = 0; e < E; e++) {
            String ep = prefix + "experts." + e + ".";
            wg[e] = pl.matrix(ep + "gate_proj.weight");
            wu[e] = pl.matrix(ep + "up_proj.weight");
            wd[e] = pl.matrix(ep + "down_proj.weight");
        }
        for (Param w : wg) partial |= w.offset() < 0;
        long n = maxN, nk = n * K, rowsHere = expertRows(maxN, K, E, pl.shard());
        logits = al.act(prefix + "router_logits", n, E);
        scores = al.act(prefix + "scores", n, E);
        weights = al.act(prefix + "routing_weights", n, K);
        expertIn = al.fp8Cached(prefix + "expert_inputs", rowsHere, dim, null);
        xgC = al.cache(Fp8Recipe.EXPERT_INPUT, prefix + "expert_inputs", rowsHere, dim);
        experts = new SwiGluFfn(dim, I, prefix + "expert_", al, (int) rowsHere);
        expertOut = al.act(prefix + "expert_out", rowsHere, dim);
        balanceF = al.act(prefix + "balance_f", n, E);
        shared = c.nSharedExperts() > 0
                ? SwiGluFfn.declared(prefix + "shared_experts.", pl, al, maxN) : null;
        idx = new int[(int) nk];
        tokOf = new int[(int) nk];
        slotOf = new int[(int) nk];
        posOf = new int[(int) nk];
        start = new int[E + 1];
        fill = new int[E + 1];
        load = new long[E];
        lastCount = new int[E];
        rows = start;
        capacity = (int) rowsHere;
        nodeKey = new float[E];
    }

    /**
     * The (token, expert) rows the routed experts of this layer can be given in one forward of at most {@code maxN}
     * tokens per rank: maxN K on one rank; for a model that holds the experts of one rank of an expert-parallel group
     * of G ({@code shard}), the most that rank can receive: each of the G ranks sends it at most min(K, E/G) rows per
     * token (one per selected expert it holds), so maxN min(G K, E). (A model without a shard that runs expert
     * parallel is built with maxN covering the whole group's tokens instead.)
     */
    static long expertRows(int maxN, int K, int E, ExpertShard shard) {
        return (long) maxN * (shard == null ? K : Math.min((long) shard.group() * K, E));
    }

    /**
     * Node-limited routing (report §2.1.2, §3.2.2; null: off): each token's top-K experts lie on at most
     * {@code maxNodes} of the nodes of {@code ranksPerNode} of {@code ranks} expert-parallel ranks
     * ({@link dev.jseek.parallel.NodeLimitedRouting}); it replaces the config's group-limited gate, which is the same
     * rule with the expert groups as nodes. maxNodes = all nodes is plain top-K.
     */
    void setNodeLimit(int ranks, int ranksPerNode, int maxNodes) {
        nodeLimit = ranks <= 0 ? null : new dev.jseek.parallel.NodeLimitedRouting(E, ranks, ranksPerNode, maxNodes, K);
    }

    /**
     * Shards the routed experts over groups of {@code group} consecutive ranks of {@code comm} (expert parallel,
     * report §3.2.2; null or 1: back to all experts here). Every rank must make the same sequence of forward and backward calls. The expert-side buffers hold
     * {@link #expertRows} rows, so a rank's experts can run at most that many rows per forward: a model holding one
     * rank's expert shard is laid out for what that rank can receive; one without a shard must be constructed with
     * maxN covering the rows a rank receives (at most the group's total tokens times K).
     */
    void setExpertParallel(dev.jseek.parallel.Communicator comm, int group) {
        if (comm == null || group == 1) { ep = null; rows = start; home = homeGrad = null; return; }
        ep = new ExpertParallel(comm, group, E, dim);
        bf16Combine = true;
        rows = ep.localStart;
        home = new float[idx.length * dim];              // this rank's own (token, expert) rows: at most maxN K
        homeGrad = new float[idx.length * dim];
    }

    /**
     * FP8 only: rounds the routed experts' outputs to BF16 before they are weighted and summed, as the BF16 combine of
     * expert parallel does (set by {@link #setExpertParallel}); on one rank it gives the same forward bits as expert
     * parallel, and rounds the experts' output and input gradients to BF16 as its backward exchanges do.
     */
    void setBf16Combine(boolean on) { bf16Combine = on; }

    /** Bytes of this layer's own expert-parallel rows: its tokens' expert outputs and their gradients (0 without expert parallel). */
    long homeBytes() { return home == null ? 0 : 4L * ((long) home.length + homeGrad.length); }

    /**
     * The most the communicator's exchange buffers (scratch slots 2-5, shared by the layers) hold for this layer: FP32
     * rows, a dispatch's send and receive and a combine's send and receive (0 without expert parallel).
     */
    long exchangeScratchBytes() { return ep == null ? 0 : 8L * dim * ((long) idx.length + capacity); }

    /** The expert-parallel exchange of this layer (null when all experts run here). */
    ExpertParallel expertParallel() { return ep; }

    /**
     * y = MoE(x) for N = B*T rows. With alpha > 0 adds the balance loss over B sequences of T tokens
     * ({@code seqWise}) or over the batch as one group (classic); returns it (0 when alpha == 0).
     */
    public double forward(Arenas s, int x, int y, int B, int T, float alpha, boolean seqWise) {
        int N = B * T;
        if (partial && ep == null)
            throw new IllegalStateException("this layer holds only some routed experts (an expert shard); set its expert-parallel group first");
        float[] p = s.params, a = s.acts;
        long t0 = Profiler.start();
        final int sc = scores.acts(), gw = weights.acts(), xg = expertIn.acts(), ey = expertOut.acts();
        Linear.forward(Precision.FP32, logits.value(s, N), View.of(a, x, N, dim), wr.value(s));        // z = u Wr^T
        router.scores(a, sc, a, logits.acts(), N * E);                                                 // s = sigmoid(z)
        java.util.Arrays.fill(lastCount, 0);
        for (int t = 0; t < N; t++) {
            if (nodeLimit == null) router.route(a, sc + t * E, p, bias.offset(), idx, t * K, a, gw + t * K, routeScratch);
            else {
                for (int e = 0; e < E; e++) {                             // a NaN key counts as -inf (Router's rule)
                    float v = a[sc + t * E + e] + p[bias.offset() + e];
                    nodeKey[e] = v != v ? Float.NEGATIVE_INFINITY : v;
                }
                nodeLimit.select(nodeKey, 0, idx, t * K);
                router.weights(a, sc + t * E, idx, t * K, a, gw + t * K);
            }
            for (int j = 0; j < K; j++) lastCount[idx[t * K + j]]++;
        }
        start[0] = 0;
        for (int e = 0; e < E; e++) { start[e + 1] = start[e] + lastCount[e]; load[e] += lastCount[e]; }
        Profiler.stop(P_ROUTER, t0);
        t0 = Profiler.start();
        System.arraycopy(start, 0, fill, 0, E + 1);
        for (int t = 0; t < N; t++)
            for (int j = 0; j < K; j++) {
                int r = fill[idx[t * K + j]]++;
                tokOf[r] = t;
                slotOf[r] = t * K + j;
                posOf[t * K + j] = r;
            }
        int NK = N * K;
        if (ep != null) {
            ep.plan(start);
            if (ep.received() > capacity)
                throw new IllegalStateException("expert parallel: this rank receives " + ep.received() + " (token, expert) rows for its experts, more than the "
                        + capacity + " the layer was laid out for; build the model with its expert shard, or with maxBatch x expert-parallel ranks");
            if (xgC != null) ep.dispatchFp8(a, r -> tokOf[r], x, s.cache, xgC, Fp8Recipe.EXPERT_INPUT.scales());
            else ep.dispatch(a, r -> tokOf[r], x, a, xg);
        } else if (xgC != null) // FP8 (Fp8Recipe.EXPERT_INPUT): quantize-then-dispatch, each row's 1x128 tiles are its token's
            TrainPool.forRange(NK, TrainPool.grain(NK, 16), (lo, hi, w) -> {
                for (int r = lo; r < hi; r++) s.cache.storeE4m3(xgC, r, a, x + tokOf[r] * dim, 1, Fp8Recipe.EXPERT_INPUT.scales());
            });
        else
            TrainPool.forRange(NK, TrainPool.grain(NK, 16), (lo, hi, w) -> {
                for (int r = lo; r < hi; r++) System.arraycopy(a, x + tokOf[r] * dim, a, xg + r * dim, dim);
            });
        SwiGluFfn.Input xin = expertInput();
        Profiler.stop(P_DISPATCH, t0);
        t0 = Profiler.start();
        forEachExpert((e, r0, m) -> experts.forward(s, wg[e], wu[e], wd[e], xin, ey, r0, m));
        if (xgC != null && bf16Combine) {      // FP8 with a BF16 combine: the values expert parallel sends, on one rank too when set
            int n = (ep == null ? NK : ep.received()) * dim;
            TrainPool.forRange(n, TrainPool.grain(n, 4096), (lo, hi, w) -> {
                for (int i = ey + lo; i < ey + hi; i++) a[i] = dev.jseek.tensor.Bf16.round(a[i]);
            });
        }
        Profiler.stop(P_EXPERTS, t0);
        final float[] out = ep == null ? a : home;
        final int oo = ep == null ? ey : 0;
        if (ep != null) {
            t0 = Profiler.start();
            if (xgC != null) ep.combineBf16(a, ey, home, 0);
            else ep.combine(a, ey, home, 0);
            Profiler.stop(P_DISPATCH, t0);
        }
        if (shared != null) shared.forward(s, x, y, N);
        else java.util.Arrays.fill(a, y, y + N * dim, 0f);
        t0 = Profiler.start();
        TrainPool.forRange(N, TrainPool.grain(N, 4), (lo, hi, w) -> {
            for (int t = lo; t < hi; t++)
                for (int j = 0; j < K; j++) VecOps.axpy(a[gw + t * K + j], out, oo + posOf[t * K + j] * dim, a, y + t * dim, dim);
        });
        Profiler.stop(P_DISPATCH, t0);
        t0 = Profiler.start();
        this.alpha = alpha;
        balSeqs = seqWise ? B : 1;
        balSeqLen = seqWise ? T : N;
        double bl = alpha > 0 ? BalanceLoss.forward(a, sc, idx, balSeqs, balSeqLen, E, K, alpha, a, balanceF.acts()) : 0.0;
        Profiler.stop(P_ROUTER, t0);
        return bl;
    }

    /**
     * Input part of backward, the mirror of {@link #forward}: combine's backward (d weights = dy . expert out,
     * d expert out = g dy), the experts' backward, dispatch's backward (sum each token's K input gradients), the
     * weights' backward into the scores ({@link Router#weightsBackward}) plus the balance loss's, the sigmoid's, and
     * du += dz Wr; then the shared expert. dacts[x] += dMoE/dx^T dacts[y]; {@code balScale} is the upstream gradient
     * of the balance loss.
     */
    public void backwardInput(Arenas s, int x, int y, int B, int T, float balScale) {
        int N = B * T;
        float[] p = s.params, a = s.acts, d = s.dacts;
        final int sc = scores.acts(), gw = weights.acts(), xgD = expertIn.dacts(), ey = expertOut.acts();
        long t0 = Profiler.start();
        int NK = N * K;
        final float[] out = ep == null ? a : home, dout = ep == null ? d : homeGrad;
        final int oo = ep == null ? ey : 0;
        if (ep != null) java.util.Arrays.fill(homeGrad, 0, NK * dim, 0f);
        TrainPool.forRange(NK, TrainPool.grain(NK, 16), (lo, hi, w) -> {
            for (int r = lo; r < hi; r++) {
                int yo = y + tokOf[r] * dim, eo = oo + r * dim, j = slotOf[r];
                d[gw + j] += (float) VecOps.dot(d, yo, out, eo, dim);
                VecOps.axpy(a[gw + j], d, yo, dout, eo, dim);
            }
        });
        if (ep != null) {                                                   // the backward of combine is a dispatch
            if (xgC != null) ep.dispatchBf16(homeGrad, r -> r, 0, d, ey);    // FP8: in BF16, as the forward combine
            else ep.dispatch(homeGrad, r -> r, 0, d, ey);
        } else if (xgC != null && bf16Combine) roundBf16(d, ey, NK * dim);
        Profiler.stop(P_DISPATCH, t0);
        t0 = Profiler.start();
        SwiGluFfn.Input xin = expertInput();
        forEachExpert((e, r0, m) -> experts.backwardInput(s, wg[e], wu[e], wd[e], xin, ey, r0, m, Fp8Recipe.EXPERT_OUTPUT_GRAD.scales()));
        Profiler.stop(P_EXPERTS, t0);
        t0 = Profiler.start();
        if (ep != null) {                                                   // the backward of dispatch is a combine
            if (xgC != null) ep.combineBf16(d, xgD, homeGrad, 0);            // FP8: in BF16
            else ep.combine(d, xgD, homeGrad, 0);
        } else if (xgC != null && bf16Combine) roundBf16(d, xgD, NK * dim);
        final float[] dxg = ep == null ? d : homeGrad;
        final int xo = ep == null ? xgD : 0;
        TrainPool.forRange(N, TrainPool.grain(N, 4), (lo, hi, w) -> {
            for (int t = lo; t < hi; t++)
                for (int j = 0; j < K; j++) VecOps.add(d, x + t * dim, d, x + t * dim, dxg, xo + posOf[t * K + j] * dim, dim);
        });
        Profiler.stop(P_DISPATCH, t0);
        t0 = Profiler.start();
        for (int t = 0; t < N; t++) router.weightsBackward(a, sc + t * E, idx, t * K, d, gw + t * K, d, sc + t * E);
        if (alpha > 0) BalanceLoss.backward(a, sc, a, balanceF.acts(), balSeqs, balSeqLen, E, alpha, balScale, d, sc);
        int lg = logits.dacts();
        for (int i = 0; i < N * E; i++) {                                                              // dz = ds s (1 - s)
            float sv = a[sc + i];
            d[lg + i] += d[sc + i] * sv * (1f - sv);
        }
        Linear.backwardInput(Precision.FP32, View.of(d, x, N, dim), logits.grad(s, N), wr.value(s));   // du += dz Wr
        Profiler.stop(P_ROUTER, t0);
        if (shared != null) shared.backwardInput(s, x, y, N);
    }

    /** a[off, off + n) rounded to BF16 in place (one rank doing the rounding of expert parallel's BF16 exchanges). */
    private static void roundBf16(float[] a, int off, int n) {
        TrainPool.forRange(n, TrainPool.grain(n, 4096), (lo, hi, w) -> {
            for (int i = off + lo; i < off + hi; i++) a[i] = dev.jseek.tensor.Bf16.round(a[i]);
        });
    }

    /** Weight part of backward: the routed experts' and the router's weight gradients, then the shared expert's. */
    public void backwardWeights(Arenas s, int x, int y, int B, int T) {
        int N = B * T;
        float[] a = s.acts;
        final int ey = expertOut.acts();
        long t0 = Profiler.start();
        SwiGluFfn.Input xin = expertInput();
        forEachExpert((e, r0, m) -> experts.backwardWeights(s, wg[e], wu[e], wd[e], xin, ey, r0, m, Fp8Recipe.EXPERT_OUTPUT_GRAD.scales()));
        Profiler.stop(P_EXPERTS, t0);
        t0 = Profiler.start();
        Linear.backwardWeight(Precision.FP32, wr.grad(s), logits.grad(s, N), View.of(a, x, N, dim));  // dWr += dz^T u
        Profiler.stop(P_ROUTER, t0);
        if (shared != null) shared.backwardWeights(s, x, y, N);
    }

    /** One expert's rows [r0, r0+m) of the dispatched (expert-sorted) rows. */
    private interface ExpertRows { void run(int e, int r0, int m); }

    /** Runs {@code body} for every expert with at least one row, experts in parallel (each writes its own rows). */
    private void forEachExpert(ExpertRows body) {
        TrainPool.forRange(E, 1, (lo, hi, w) -> {
            for (int e = lo; e < hi; e++) {
                int m = rows[e + 1] - rows[e];
                if (m > 0) body.run(e, rows[e], m);
            }
        });
    }

    /** The routed experts' input: dispatched float rows, or (FP8) their E4M3 cache with power-of-two scales. */
    private SwiGluFfn.Input expertInput() {
        return xgC != null ? new SwiGluFfn.Input(-1, expertIn.dacts(), xgC, Fp8Recipe.EXPERT_INPUT.scales())
                : new SwiGluFfn.Input(expertIn.acts(), expertIn.dacts(), null, Fp8Recipe.LINEAR_INPUT.scales());
    }

    /** Tokens routed to each expert, accumulated over forwards since the last {@link #resetLoad()}. */
    public long[] load() { return load; }

    /** Tokens routed to each expert by the last forward. */
    public int[] lastCount() { return lastCount; }

    /** Expert ids chosen for token t by the last forward (largest biased score first). */
    public int[] selected(int t) { return java.util.Arrays.copyOfRange(idx, t * K, t * K + K); }

    public void resetLoad() { java.util.Arrays.fill(load, 0); }

    /** Offset of the routing bias in the parameter arena. */
    public int biasOffset() { return bias.offset(); }

    public int experts() { return E; }

    /** GEMM precision of the routed and shared experts' projections; the router's gate stays FP32 (report §3.3). */
    void setPrecision(Precision p) {
        experts.precision = p;
        if (shared != null) shared.precision = p;
    }
}
