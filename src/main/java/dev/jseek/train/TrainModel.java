package dev.jseek.train;

import dev.jseek.model.ModelConfig;
import dev.jseek.model.TensorSchema;

import dev.jseek.io.Checkpoint;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The whole DeepSeek-V3 model for training (report §2.1-§2.2; docs/architecture.md §3-§6), llm.c style: a flat parameter arena laid out with HF tensor
 * names ({@link #layout()}), a gradient arena with the same layout, and activation / activation-gradient arenas sized
 * for {@code maxBatch x maxSeqLen} tokens.
 *
 * <p>{@link #forwardBackward} computes, for B sequences of T tokens with next-token targets (negative = ignored),
 * loss = CE_main + lambda * mean_k CE_MTP_k + balance, where balance = sum over MoE layers (main and MTP) of
 * alpha * mean over sequences of sum_i f_i P_i (docs/architecture.md §5.4; or the classic batch-wise variant), and ADDS all parameter
 * gradients (times {@code gradScale}) into {@link #grads()} (call {@link #zeroGrad()} first; accumulation over
 * micro-batches is by repeated calls). MTP depth k (report §2.2) uses T-k positions per sequence; T must exceed the number
 * of MTP depths. The routing bias is not trained by gradient; {@link #updateBias} applies the aux-loss-free rule
 * (docs/architecture.md §5.3) from the expert loads counted since the previous update.
 *
 * <p>Recomputation (docs/architecture.md §7.1, on by default; {@link #TrainModel(ModelConfig, int, int, boolean)}): the outputs of
 * every RMSNorm (input_layernorm, post_attention_layernorm, q_a_layernorm, kv_a_layernorm, model.norm, MTP enorm,
 * hnorm, shared_head.norm) and the MLA up-projections (q_b_proj / q_proj, kv_b_proj, and k built from them) are not
 * kept per layer: they share scratch slots of the activation arena and backward recomputes them (saved input and
 * rstd, the same GEMMs) just before reading them, so the arena is smaller ({@link ActLayout#actsSize()}) and every
 * loss and gradient is bit-identical to the mode that keeps them.
 */
public final class TrainModel {
    private final ModelConfig c;
    private final int maxBatch, maxSeqLen, dim, vocab;
    private final ParamLayout pl;
    private final ActLayout al;
    private final boolean recompute;
    private final Arenas s;
    // parameters outside the blocks: model.embed_tokens, model.norm, lm_head (shared with the MTP modules)
    private final Param embed, finalNorm, head;
    private final Block[] blocks;
    private final MtpModule[] mtp;
    private final List<Moe> moes = new ArrayList<>();
    private final List<Integer> moeLayerIds = new ArrayList<>();
    // activations: the residual stream before each block and after the last; model.norm's output (recomputed) and
    // rstd; the logits (probabilities after the loss)
    private final Act[] resid;
    private final Act finalOut, finalRstd, logits;
    // hyper-parameters of the loss
    private float mtpLambda = 0.3f, balanceAlpha = 1e-4f;
    private boolean seqWiseBalance = true;
    private Precision precision = Precision.FP32;
    // state of the last forward
    private int[] tokens, targets;
    private int B, T;
    private double lastMain, lastBal;
    private final double[] lastMtp;
    /** Per-row weights of the last objective forward (null: the plain losses with MTP). */
    private float[] rowWeights;
    static final int P_EMBED = Profiler.section("embedding"), P_HEAD = Profiler.section("final norms + lm_head + cross-entropy"),
            P_ZERO = Profiler.section("zero activation grads"), P_MTP = Profiler.section("mtp embed/norms/eh_proj");

    /** A model with recomputation on (docs/architecture.md §7.1). */
    public TrainModel(ModelConfig c, int maxBatch, int maxSeqLen) { this(c, maxBatch, maxSeqLen, true); }

    /**
     * @param recompute true: RMSNorm outputs and MLA up-projections are recomputed in backward (smaller activation
     *                  arena, a few extra GEMMs, identical results); false: every activation is kept.
     */
    public TrainModel(ModelConfig c, int maxBatch, int maxSeqLen, boolean recompute) { this(c, maxBatch, maxSeqLen, recompute, Precision.FP32); }

    /**
     * @param precision GEMM precision of the attention and FFN Linears ({@link Precision}). {@link Precision#FP8}
     *                  also lays the activations out for FP8 caching ({@link ActLayout#fp8()}): such a model runs
     *                  only in FP8, and FP32/BF16 models cannot switch to FP8 ({@link #setPrecision}).
     */
    public TrainModel(ModelConfig c, int maxBatch, int maxSeqLen, boolean recompute, Precision precision) {
        this(c, maxBatch, maxSeqLen, recompute, precision, null, null);
    }

    /**
     * A model that holds only the routed experts of {@code shard} (expert parallel, report §3.2.2; null: all): its
     * parameter and gradient arenas store the shared tensors and this rank's experts ({@link ParamLayout#ParamLayout(TensorSchema, ExpertShard)}),
     * so the routed experts' parameters, gradients and optimizer state are divided by the group size. Such a model runs
     * only after {@link #setExpertParallel} with the same group; {@link #initRandom} draws the same weights as the
     * whole model's.
     */
    public TrainModel(ModelConfig c, int maxBatch, int maxSeqLen, boolean recompute, Precision precision, ExpertShard shard) {
        this(c, maxBatch, maxSeqLen, recompute, precision, null, shard);
    }

    /**
     * A model whose parameter and gradient arenas are those of {@code shared} (same config and sizes) with activation
     * arenas of its own: one more micro-batch in flight for pipeline schedules ({@code dev.jseek.pipeline}). It takes
     * shared's loss settings and node-limited routing.
     */
    public TrainModel(TrainModel shared) {
        this(shared.c, shared.maxBatch, shared.maxSeqLen, shared.recompute, shared.precision, shared, shared.pl.shard(), shared.units, shared.units);
    }

    /**
     * A micro-batch slot of a pipeline stage (report §3.2.1): the parameter and gradient arenas of {@code shared}, and
     * an activation arena laid out for units [first, end) only (the residuals it reads and writes included), so a
     * micro-batch in flight on a stage holds that stage's activations and no more.
     */
    public TrainModel(TrainModel shared, int first, int end) {
        this(shared.c, shared.maxBatch, shared.maxSeqLen, shared.recompute, shared.precision, shared, shared.pl.shard(), shared.units,
                unitRange(shared.units(), first, end));
        for (int u = first; u < end; u++)
            if (!holdsUnit(u)) throw new IllegalArgumentException("unit " + u + " of stage [" + first + ", " + end + ") is not held by this pipeline rank's arena");
    }

    /**
     * A pipeline rank's parameter holder (report §3.2.1): its parameter and gradient arenas store only the tensors of
     * the pipeline units {@code units} (0 = embedding, 1..L = blocks, L+1 = head with final norm, lm_head and the MTP
     * modules, which also read model.embed_tokens, so a rank holding the head holds that too), laid out by
     * {@link ParamLayout#ParamLayout(TensorSchema, ExpertShard, java.util.function.Predicate)}; it has no activation
     * arena: its stages run on slots ({@link #TrainModel(TrainModel, int, int)}). {@link #initRandom} draws the
     * same weights as the whole model's.
     */
    public static TrainModel forUnits(ModelConfig c, int maxBatch, int maxSeqLen, boolean recompute, Precision precision, boolean[] units) {
        if (units.length != c.numHiddenLayers() + 2)
            throw new IllegalArgumentException(units.length + " pipeline units for a model of " + c.numHiddenLayers() + " layers (" + (c.numHiddenLayers() + 2) + " units)");
        return new TrainModel(c, maxBatch, maxSeqLen, recompute, precision, null, null, units.clone(), new boolean[units.length]);
    }

    /** The pipeline unit holding parameter {@code name} of a model of {@code layers} layers: 0 the embedding, l + 1 block l, layers + 1 the head (final norm, lm_head, MTP layers). */
    public static int unitOf(String name, int layers) {
        if (name.equals("model.embed_tokens.weight")) return 0;
        if (name.startsWith("model.layers.")) {
            int l = Integer.parseInt(name.substring("model.layers.".length(), name.indexOf('.', "model.layers.".length())));
            return l < layers ? l + 1 : layers + 1;   // MTP layers are numbered after the main ones
        }
        return layers + 1;
    }

    /** Whether a rank holding pipeline units {@code units} (null: all) holds parameter {@code name}: its unit's, and the embedding with the MTP head. */
    public static boolean holds(boolean[] units, String name, ModelConfig c) {
        if (units == null) return true;
        int L = c.numHiddenLayers(), u = unitOf(name, L);
        return units[u] || (u == 0 && units[L + 1] && c.numNextnPredictLayers() > 0);
    }

    private static boolean[] unitRange(int n, int first, int end) {
        if (first < 0 || end > n || first >= end) throw new IllegalArgumentException("stage units [" + first + ", " + end + ") outside [0, " + n + ")");
        boolean[] r = new boolean[n];
        for (int u = first; u < end; u++) r[u] = true;
        return r;
    }

    /** Pipeline units whose parameters this model holds (null: all) and whose activations it lays out (null: all). */
    private final boolean[] units, actUnits;

    /** Whether this model's arena holds the parameters of pipeline unit u. */
    public boolean holdsUnit(int u) { return units == null || units[u]; }

    /** Whether this model's activation arena is laid out for pipeline unit u. */
    public boolean hasActivations(int u) { return actUnits == null || actUnits[u]; }

    private TrainModel(ModelConfig c, int maxBatch, int maxSeqLen, boolean recompute, Precision precision, TrainModel shared, ExpertShard shard) {
        this(c, maxBatch, maxSeqLen, recompute, precision, shared, shard, null, null);
    }

    private TrainModel(ModelConfig c, int maxBatch, int maxSeqLen, boolean recompute, Precision precision, TrainModel shared, ExpertShard shard,
                       boolean[] units, boolean[] actUnits) {
        java.util.Objects.requireNonNull(precision, "precision");
        boolean fp8 = precision == Precision.FP8;
        if (maxBatch <= 0 || maxSeqLen <= 0)
            throw new IllegalArgumentException("maxBatch and maxSeqLen must be > 0, got " + maxBatch + ", " + maxSeqLen);
        if ((long) maxBatch * maxSeqLen > Integer.MAX_VALUE / 8)
            throw new IllegalArgumentException("maxBatch * maxSeqLen too large: " + maxBatch + " x " + maxSeqLen);
        this.c = c;
        this.maxBatch = maxBatch;
        this.maxSeqLen = maxSeqLen;
        dim = c.hiddenSize();
        vocab = c.vocabSize();
        this.recompute = recompute;
        int maxN = maxBatch * maxSeqLen;
        Rotary rope = new Rotary(c, maxSeqLen);
        // recompute layouts take two passes: the first only measures (ActLayout.planning)
        ActLayout plan = null;
        ParamLayout pl = null;
        ActLayout al = null;
        Block[] blocks = null;
        MtpModule[] mtp = null;
        Act[] resid = null;
        Param embed = null, finalNorm = null, head = null;
        Act finalOut = null, finalRstd = null, logits = null;
        TensorSchema schema = new TensorSchema(c);
        this.units = units;
        this.actUnits = actUnits;
        int L = c.numHiddenLayers();
        // units without activations here declare theirs into a layout of their own that gets no arena
        ActLayout offPlan = null, off = null;
        for (int pass = recompute || fp8 ? 0 : 1; pass < 2; pass++) {
            pl = new ParamLayout(schema, shard, units == null ? null : name -> holds(units, name, c));
            al = !(recompute || fp8) ? new ActLayout() : pass == 0 ? ActLayout.planning(recompute, fp8) : ActLayout.recomputing(plan);
            off = actUnits == null ? al : !(recompute || fp8) ? new ActLayout() : pass == 0 ? ActLayout.planning(recompute, fp8) : ActLayout.recomputing(offPlan);
            moes.clear();
            moeLayerIds.clear();
            embed = pl.matrix("model.embed_tokens.weight");
            blocks = new Block[L];
            for (int l = 0; l < blocks.length; l++) {
                blocks[l] = new Block(c, l, pl, hasActivations(l + 1) ? al : off, maxN, rope);
                if (blocks[l].moe() != null) { moes.add(blocks[l].moe()); moeLayerIds.add(l); }
            }
            finalNorm = pl.vector("model.norm.weight");
            head = pl.matrix("lm_head.weight");
            ActLayout ha = hasActivations(L + 1) ? al : off;
            mtp = new MtpModule[c.numNextnPredictLayers()];
            for (int k = 1; k <= mtp.length; k++) {
                mtp[k - 1] = new MtpModule(c, k, pl, ha, maxN, rope);
                if (mtp[k - 1].block.moe() != null) { moes.add(mtp[k - 1].block.moe()); moeLayerIds.add(mtp[k - 1].layer); }
            }
            resid = new Act[blocks.length + 1];
            // residual l: the output of unit l (the embedding or block l-1) and the input of unit l+1 (block l or the head)
            for (int l = 0; l <= blocks.length; l++) resid[l] = (hasActivations(l) || hasActivations(l + 1) ? al : off).act("residual." + l, maxN, dim);
            finalOut = ha.recomputed("model.norm.out", maxN, dim, "norm.out");
            finalRstd = ha.act("model.norm.rstd", maxN, 1);
            logits = ha.act("logits", maxN, vocab);
            plan = al;
            offPlan = off;
        }
        pl.requireComplete();
        al.checkAgainstPlan();
        this.pl = pl;
        this.al = al;
        this.blocks = blocks;
        this.mtp = mtp;
        this.resid = resid;
        this.embed = embed;
        this.finalNorm = finalNorm;
        this.head = head;
        this.finalOut = finalOut;
        this.finalRstd = finalRstd;
        this.logits = logits;
        if (recompute && mtp.length > 0) mtp[0].recomputePrev = this::recomputeFinalNorm;
        s = shared == null ? new Arenas(pl, al)
                : new Arenas(shared.s.params, shared.s.grads, new float[al.actsSize()], new float[al.dactsSize()], al.fp8() ? new ActCache(al) : null);
        lastMtp = new double[mtp.length];
        if (shared == null) initDefault();
        else {
            mtpLambda = shared.mtpLambda;
            balanceAlpha = shared.balanceAlpha;
            seqWiseBalance = shared.seqWiseBalance;
            if (shared.nodeLimit != null) setNodeLimitedRouting(shared.nodeLimit[0], shared.nodeLimit[1], shared.nodeLimit[2]);
        }
        setPrecision(precision);
    }

    /** Norm weights 1, routing biases 0, everything else 0 (call {@link #initRandom} or load weights). */
    private void initDefault() {
        for (ParamLayout.Entry e : pl.entries())
            if (e.shape().length == 1 && e.trainable()) Arrays.fill(s.params, e.offset(), e.offset() + e.size(), 1f);
    }

    /** Matrices ~ N(0, std^2) (report §4.2: std 0.006), norm weights 1, routing biases 0; deterministic in seed. */
    public void initRandom(long seed, float std) {
        SplittableRandom rnd = new SplittableRandom(seed);
        for (ParamLayout.Entry e : pl.declared()) {            // experts held elsewhere draw (and drop) their numbers too
            int o = e.offset(), n = e.size();
            if (e.shape().length == 1) { if (o >= 0) Arrays.fill(s.params, o, o + n, e.trainable() ? 1f : 0f); }
            else if (o < 0) for (int i = 0; i < n; i++) gaussian(rnd);
            else for (int i = 0; i < n; i++) s.params[o + i] = (float) (gaussian(rnd) * std);
        }
    }

    private static double gaussian(SplittableRandom r) {
        double u1 = r.nextDouble(), u2 = r.nextDouble();
        return Math.sqrt(-2 * Math.log1p(-u1)) * Math.cos(2 * Math.PI * u2);
    }

    public void zeroGrad() { TrainPool.zero(s.grads, 0, s.grads.length); }

    /** Document boundaries for the following forwards and backwards (packed samples); null = plain causal. */
    public void setDocuments(DocMask docs) { s.docs = docs; }

    /** Forward and backward with gradScale 1; returns the total loss. */
    public float forwardBackward(int[] tokens, int[] targets, int B, int T) {
        return forwardBackward(tokens, targets, B, T, 1f);
    }

    /** Forward, then the input and weight parts of the backward; gradients (times gradScale) are added to grads. */
    public float forwardBackward(int[] tokens, int[] targets, int B, int T, float gradScale) {
        float loss = forward(tokens, targets, B, T);
        backward(gradScale);
        return loss;
    }

    /** Forward with losses; saves what {@link #backward} needs. Returns the total loss. */
    public float forward(int[] tokens, int[] targets, int B, int T) {
        begin(tokens, targets, B, T, true);
        this.rowWeights = null;
        int N = B * T;
        lastBal = forwardMain(tokens, B, T);
        this.tokens = tokens;
        long t0 = Profiler.start();
        lastMain = CrossEntropy.forward(logits.value(s, N), targets);
        Profiler.stop(P_HEAD, t0);
        return mtpForward(tokens, targets, B, T);
    }

    /**
     * The MTP modules after the main head (each on the previous depth's hidden states), adding their balance losses to
     * {@code lastBal}; returns the total loss main + balance + lambda x mean MTP cross-entropy.
     */
    private float mtpForward(int[] tokens, int[] targets, int B, int T) {
        Act prev = finalOut;
        int prevT = T;
        double mtpSum = 0;
        for (MtpModule m : mtp) {
            m.forward(s, tokens, targets, B, T, prev, prevT, embed, head, balanceAlpha, seqWiseBalance);
            lastMtp[m.depth - 1] = m.lastCe;
            lastBal += m.lastBal;
            mtpSum += m.lastCe;
            prev = m.hidden;
            prevT = T - m.depth;
        }
        double loss = lastMain + lastBal + (mtp.length > 0 ? mtpLambda * mtpSum / mtp.length : 0);
        return (float) loss;
    }

    /**
     * Forward and backward of a per-token objective of the main model (post-training, docs/architecture.md §7.5-§7.6): the main
     * forward, each row's log-probability logp_r of its target, {@code objective} turns them into its value L and the
     * weights w_r = dL/dCE_r, then the backward of sum_r w_r CE_r plus the balance loss (times gradScale) is added to
     * the gradients. MTP modules are not run (their parameters get no gradient). {@link #lastMainLoss()} is then the
     * mean cross-entropy over the rows with a target, {@link #lastLogProbs()} the per-row log-probabilities.
     * Returns L + balance.
     */
    public float forwardBackward(int[] tokens, int[] targets, int B, int T, TokenObjective objective, float gradScale) {
        double value = forwardObjective(tokens, targets, B, T, objective);
        backward(gradScale);
        return (float) (value + lastBal);
    }

    /** The forward of {@link #forwardBackward(int[], int[], int, int, TokenObjective, float)}; returns L (no balance). */
    public double forwardObjective(int[] tokens, int[] targets, int B, int T, TokenObjective objective) {
        double[] logp = forwardLogProbs(tokens, targets, B, T);
        int N = B * T;
        float[] w = new float[N];
        double value = objective.evaluate(logp, targets, w);
        for (int r = 0; r < N; r++)
            if (targets[r] < 0) w[r] = 0f;
            else if (!Float.isFinite(w[r])) throw new IllegalArgumentException("objective weight " + w[r] + " at row " + r + " is not finite");
        this.rowWeights = w;
        return value;
    }

    /**
     * Main-model forward (no MTP) that keeps what {@link #backward} needs and returns log pi(target_r) for every row
     * of [B*T] (0 where the target is negative); sets {@link #lastMainLoss()} to the mean CE and
     * {@link #lastBalanceLoss()}. A following {@link #backward} is that of the mean CE (use the objective forms for
     * other losses). Routing loads are counted as in training.
     */
    public double[] forwardLogProbs(int[] tokens, int[] targets, int B, int T) {
        begin(tokens, targets, B, T, false);
        int N = B * T;
        lastBal = forwardMain(tokens, B, T);
        this.tokens = tokens;
        long t0 = Profiler.start();
        double[] rowLoss = new double[N];
        int count = CrossEntropy.forwardRows(logits.value(s, N), targets, rowLoss);
        Profiler.stop(P_HEAD, t0);
        double sum = 0;
        double[] logp = new double[N];
        for (int r = 0; r < N; r++) {
            sum += rowLoss[r];
            logp[r] = targets[r] >= 0 ? -rowLoss[r] : 0.0;
        }
        lastMain = count == 0 ? 0 : sum / count;
        Arrays.fill(lastMtp, 0);
        float[] w = new float[N];
        if (count > 0) for (int r = 0; r < N; r++) if (targets[r] >= 0) w[r] = 1f / count;
        this.rowWeights = w;
        this.lastLogp = logp;
        return logp.clone();
    }

    /** Per-row log-probabilities of the last {@link #forwardLogProbs} / objective forward (0 where no target). */
    public double[] lastLogProbs() {
        if (lastLogp == null) throw new IllegalStateException("no log-prob forward yet");
        return lastLogp.clone();
    }

    private double[] lastLogp;

    /** The main model (report §2.1): h_0 = Emb(tokens); h_l = Block_l(h_{l-1}); logits = lm_head(RMSNorm(h_L)). */
    private double forwardMain(int[] tokens, int B, int T) {
        if (units != null || actUnits != null)
            throw new IllegalStateException("this model holds one pipeline rank's stages; it runs them with forwardStage, not the whole model");
        int N = B * T;
        long t0 = Profiler.start();
        Embedding.forward(resid[0].value(s, N), embed.value(s), tokens);
        Profiler.stop(P_EMBED, t0);
        double bal = 0;
        for (int l = 0; l < blocks.length; l++)
            bal += blocks[l].forward(s, resid[l].acts(), resid[l + 1].acts(), B, T, balanceAlpha, seqWiseBalance);
        t0 = Profiler.start();
        RmsNorm.forward(finalOut.value(s, N), resid[blocks.length].value(s, N), finalNorm.value(s), finalRstd.value(s, N), (float) c.rmsNormEps());
        Linear.forward(Precision.FP32, logits.value(s, N), finalOut.value(s, N), head.value(s));
        Profiler.stop(P_HEAD, t0);
        return bal;
    }

    /** Recompute mode: refills the final norm's output in acts from the saved last residual and rstd. */
    private void recomputeFinalNorm() {
        long t0 = Profiler.start();
        int N = B * T;
        RmsNorm.recompute(finalOut.value(s, N), resid[blocks.length].value(s, N), finalNorm.value(s), finalRstd.value(s, N));
        Profiler.stop(P_HEAD, t0);
    }

    /** The main model's logits [B*T, vocab] (no MTP, no loss); a copy. Routing loads are counted as in training. */
    public float[] forwardLogits(int[] tokens, int B, int T) {
        check(tokens, B, T, "tokens");
        forwardMain(tokens, B, T);
        this.tokens = null; // no backward for this forward
        return Arrays.copyOfRange(s.acts, logits.acts(), logits.acts() + B * T * vocab);
    }

    /**
     * Main logits [B*T, vocab] and, for each MTP depth k, its logits [B*(T-k), vocab] (row b*(T-k)+t predicts token
     * t+k+1 of sequence b); copies, no loss. T must exceed the number of MTP depths.
     */
    public float[][] forwardAllLogits(int[] tokens, int B, int T) {
        check(tokens, B, T, "tokens");
        if (T <= mtp.length)
            throw new IllegalArgumentException("sequence length " + T + " must exceed num_nextn_predict_layers " + mtp.length);
        forwardMain(tokens, B, T);
        float[][] out = new float[1 + mtp.length][];
        out[0] = Arrays.copyOfRange(s.acts, logits.acts(), logits.acts() + B * T * vocab);
        Act prev = finalOut;
        int prevT = T;
        for (MtpModule m : mtp) {
            m.forwardLogits(s, tokens, B, T, prev, prevT, embed, head, balanceAlpha, seqWiseBalance);
            int n = B * (T - m.depth) * vocab;
            out[m.depth] = Arrays.copyOfRange(s.acts, m.logits.acts(), m.logits.acts() + n);
            prev = m.hidden;
            prevT = T - m.depth;
        }
        this.tokens = null;
        return out;
    }

    /**
     * Copies every parameter from an HF checkpoint (any float dtype; FP8 dequantized with its block scales). The MTP
     * layers' {@code embed_tokens}/{@code shared_head.head} copies are not read: the model keeps one shared copy
     * (docs/architecture.md §6.1). A missing or mis-shaped tensor throws naming it.
     */
    public void load(Checkpoint ck) {
        for (ParamLayout.Entry e : pl.entries()) {
            long[] shape = new long[e.shape().length];
            for (int i = 0; i < shape.length; i++) shape[i] = e.shape()[i];
            if (!ck.has(e.name()))
                throw new IllegalArgumentException(ck.dir() + ": checkpoint has no tensor '" + e.name() + "' required by the config");
            float[] v = ck.floats(e.name(), shape);
            System.arraycopy(v, 0, s.params, e.offset(), v.length);
        }
    }

    /** Both backward parts for the last {@link #forward}. */
    public void backward(float gradScale) {
        backwardInput(gradScale);
        backwardWeights();
    }

    /** Input part of the backward for the last forward: all activation gradients (zeroes dacts first). */
    public void backwardInput(float gradScale) {
        if (tokens == null) throw new IllegalStateException("backward before forward");
        int N = B * T;
        float[] d = s.dacts;
        long t0 = Profiler.start();
        TrainPool.zero(d, 0, d.length);
        Profiler.stop(P_ZERO, t0);
        t0 = Profiler.start();
        if (rowWeights != null) CrossEntropy.backwardWeighted(logits.grad(s, N), logits.value(s, N), targets, rowWeights, gradScale);
        else CrossEntropy.backward(logits.grad(s, N), logits.value(s, N), targets, gradScale);
        Profiler.stop(P_HEAD, t0);
        float mtpScale = mtp.length > 0 ? gradScale * mtpLambda / mtp.length : 0f;
        if (rowWeights == null) for (int k = mtp.length - 1; k >= 0; k--) mtp[k].backwardInput(s, head, mtpScale, gradScale);
        t0 = Profiler.start();
        Act last = resid[blocks.length];
        Linear.backwardInput(Precision.FP32, finalOut.grad(s, N), logits.grad(s, N), head.value(s));
        RmsNorm.backwardInput(last.grad(s, N), finalOut.grad(s, N), last.value(s, N), finalNorm.value(s), finalRstd.value(s, N));
        Profiler.stop(P_HEAD, t0);
        for (int l = blocks.length - 1; l >= 0; l--) blocks[l].backwardInput(s, resid[l].acts(), resid[l + 1].acts(), B, T, gradScale);
    }

    /** Weight part of the backward (after {@link #backwardInput}): adds into grads. */
    public void backwardWeights() {
        int N = B * T;
        float[] g = s.grads;
        if (rowWeights == null) for (int k = mtp.length - 1; k >= 0; k--) mtp[k].backwardWeights(s, embed, head);
        if (recompute) recomputeFinalNorm();
        long t0 = Profiler.start();
        Linear.backwardWeight(Precision.FP32, head.grad(s), logits.grad(s, N), finalOut.value(s, N));
        RmsNorm.backwardWeight(finalNorm.grad(s), finalOut.grad(s, N), resid[blocks.length].value(s, N), finalRstd.value(s, N));
        Profiler.stop(P_HEAD, t0);
        for (int l = blocks.length - 1; l >= 0; l--) blocks[l].backwardWeights(s, resid[l].acts(), resid[l + 1].acts(), B, T);
        t0 = Profiler.start();
        Embedding.backwardWeight(embed.grad(s), resid[0].grad(s, N), tokens);
        for (ParamLayout.Entry e : pl.entries())
            if (!e.trainable()) Arrays.fill(g, e.offset(), e.offset() + e.size(), 0f);
        Profiler.stop(P_EMBED, t0);
    }

    // ---- pipeline stages (report §3.2.1): units 0 = embedding, 1..L = blocks 0..L-1, L+1 = head (model.norm,
    // lm_head, cross-entropy and the MTP modules, which read the shared embedding and head). A stage runs the units
    // [first, end); it reads residual.(first-1) from the stage before and hands residual.(end-1) to the next.

    /** Number of pipeline units: embedding, the blocks, the head (with MTP). */
    public int units() { return blocks.length + 2; }

    /** Offset in the activation arena of the residual a stage starting at unit {@code first} (> 0) reads. */
    public int stageInputOffset(int first) { return resid[first - 1].acts(); }

    /** Offset in the activation arena of the residual a stage ending before unit {@code end} (< units) hands on. */
    public int stageOutputOffset(int end) { return resid[end - 1].acts(); }

    /** Offset in the activation-gradient arena of the gradient a stage starting at {@code first} (> 0) sends back. */
    public int stageInputGradOffset(int first) { return resid[first - 1].dacts(); }

    /** Offset in the activation-gradient arena of the gradient a stage ending before {@code end} receives. */
    public int stageOutputGradOffset(int end) { return resid[end - 1].dacts(); }

    /**
     * Forward of units [first, end) of one micro-batch; a stage after the first must find its input residual at
     * {@link #stageInputOffset} of {@link Arenas#acts}. {@code balanceIn} is the balance loss of the stages before
     * (summed in layer order, so the pipeline's loss is the 1-rank loss bit for bit). Returns the balance loss so far,
     * or for the last stage the total loss (as {@link #forward}).
     */
    public double forwardStage(int first, int end, int[] tokens, int[] targets, int B, int T, double balanceIn) {
        check(tokens, B, T, "tokens");
        check(targets, B, T, "targets");
        checkStage(first, end);
        int N = B * T;
        this.targets = targets;
        this.tokens = tokens;
        this.B = B;
        this.T = T;
        this.rowWeights = null;
        double bal = balanceIn;
        if (first == 0) {
            long t0 = Profiler.start();
            Embedding.forward(resid[0].value(s, N), embed.value(s), tokens);
            Profiler.stop(P_EMBED, t0);
        }
        for (int l = Math.max(first, 1) - 1; l < Math.min(end, blocks.length + 1) - 1; l++)
            bal += blocks[l].forward(s, resid[l].acts(), resid[l + 1].acts(), B, T, balanceAlpha, seqWiseBalance);
        lastBal = bal;
        if (end < units()) return bal;
        if (T <= mtp.length)
            throw new IllegalArgumentException("sequence length " + T + " must exceed num_nextn_predict_layers " + mtp.length);
        long t0 = Profiler.start();
        RmsNorm.forward(finalOut.value(s, N), resid[blocks.length].value(s, N), finalNorm.value(s), finalRstd.value(s, N), (float) c.rmsNormEps());
        Linear.forward(Precision.FP32, logits.value(s, N), finalOut.value(s, N), head.value(s));
        lastMain = CrossEntropy.forward(logits.value(s, N), targets);
        Profiler.stop(P_HEAD, t0);
        return mtpForward(tokens, targets, B, T);
    }

    /**
     * Input-gradient part of the backward of units [first, end) for the last {@link #forwardStage}; a stage before
     * the last passes the gradient of its output residual in {@code outGrad} at {@code off}. Afterwards the gradient
     * of the stage's input is at {@link #stageInputGradOffset} of {@link Arenas#dacts}.
     */
    public void backwardInputStage(int first, int end, float gradScale, float[] outGrad, int off) {
        if (tokens == null) throw new IllegalStateException("backward before forward");
        checkStage(first, end);
        int N = B * T;
        long t0 = Profiler.start();
        TrainPool.zero(s.dacts, 0, s.dacts.length);
        Profiler.stop(P_ZERO, t0);
        if (end == units()) {
            t0 = Profiler.start();
            CrossEntropy.backward(logits.grad(s, N), logits.value(s, N), targets, gradScale);
            Profiler.stop(P_HEAD, t0);
            float mtpScale = mtp.length > 0 ? gradScale * mtpLambda / mtp.length : 0f;
            for (int k = mtp.length - 1; k >= 0; k--) mtp[k].backwardInput(s, head, mtpScale, gradScale);
            t0 = Profiler.start();
            Act last = resid[blocks.length];
            Linear.backwardInput(Precision.FP32, finalOut.grad(s, N), logits.grad(s, N), head.value(s));
            RmsNorm.backwardInput(last.grad(s, N), finalOut.grad(s, N), last.value(s, N), finalNorm.value(s), finalRstd.value(s, N));
            Profiler.stop(P_HEAD, t0);
        } else {
            System.arraycopy(outGrad, off, s.dacts, resid[end - 1].dacts(), N * dim);
        }
        for (int l = Math.min(end, blocks.length + 1) - 2; l >= Math.max(first, 1) - 1; l--)
            blocks[l].backwardInput(s, resid[l].acts(), resid[l + 1].acts(), B, T, gradScale);
    }

    /** Weight-gradient part of the backward of units [first, end) (after {@link #backwardInputStage}): adds into grads. */
    public void backwardWeightsStage(int first, int end) {
        checkStage(first, end);
        int N = B * T;
        if (end == units()) {
            for (int k = mtp.length - 1; k >= 0; k--) mtp[k].backwardWeights(s, embed, head);
            if (recompute) recomputeFinalNorm();
            long t0 = Profiler.start();
            Linear.backwardWeight(Precision.FP32, head.grad(s), logits.grad(s, N), finalOut.value(s, N));
            RmsNorm.backwardWeight(finalNorm.grad(s), finalOut.grad(s, N), resid[blocks.length].value(s, N), finalRstd.value(s, N));
            Profiler.stop(P_HEAD, t0);
        }
        for (int l = Math.min(end, blocks.length + 1) - 2; l >= Math.max(first, 1) - 1; l--)
            blocks[l].backwardWeights(s, resid[l].acts(), resid[l + 1].acts(), B, T);
        if (first == 0) {
            long t0 = Profiler.start();
            Embedding.backwardWeight(embed.grad(s), resid[0].grad(s, N), tokens);
            Profiler.stop(P_EMBED, t0);
        }
        for (ParamLayout.Entry e : pl.entries())
            if (!e.trainable()) Arrays.fill(s.grads, e.offset(), e.offset() + e.size(), 0f);
    }

    private void checkStage(int first, int end) {
        if (first < 0 || end > units() || first >= end)
            throw new IllegalArgumentException("stage units [" + first + ", " + end + ") outside [0, " + units() + ")");
        for (int u = first; u < end; u++)
            if (!holdsUnit(u) || !hasActivations(u))
                throw new IllegalStateException("stage units [" + first + ", " + end + "): unit " + u + " has no " + (holdsUnit(u) ? "activation arena" : "parameters") + " in this model");
    }

    /** Checks the batch (and, with MTP, its length) and remembers the shape and targets of the forward that starts. */
    private void begin(int[] tokens, int[] targets, int B, int T, boolean withMtp) {
        check(tokens, B, T, "tokens");
        check(targets, B, T, "targets");
        if (withMtp && T <= mtp.length)
            throw new IllegalArgumentException("sequence length " + T + " must exceed num_nextn_predict_layers " + mtp.length);
        this.targets = targets;
        this.B = B;
        this.T = T;
    }

    private void check(int[] x, int B, int T, String what) {
        if (B <= 0 || T <= 0 || B > maxBatch || T > maxSeqLen)
            throw new IllegalArgumentException("batch " + B + " x " + T + " outside the allocated " + maxBatch + " x " + maxSeqLen);
        if (x == null || x.length < B * T)
            throw new IllegalArgumentException(what + " has " + (x == null ? 0 : x.length) + " entries, need B*T = " + B * T);
    }

    // ---- expert load and the aux-loss-free bias update (docs/architecture.md §5.3) ----

    /** HF layer ids of the MoE layers (main, then MTP), in the order of {@link #expertLoad()}. */
    public List<Integer> moeLayerIds() { return Collections.unmodifiableList(moeLayerIds); }

    /** Tokens routed to each expert per MoE layer, accumulated since the last bias update / reset. [layer][expert]. */
    public long[][] expertLoad() {
        long[][] r = new long[moes.size()][];
        for (int i = 0; i < r.length; i++) r[i] = moes.get(i).load().clone();
        return r;
    }

    public void resetExpertLoad() { for (Moe m : moes) m.resetLoad(); }

    /**
     * Expert parallel (report §3.2.2; comm null or group 1: off): every MoE layer's routed experts are sharded over
     * groups of {@code group} consecutive ranks of {@code comm} ({@link ExpertParallel}), one group per data-parallel
     * replica of the experts; attention, dense layers and shared experts stay replicated on every rank (data parallel
     * over all of comm, as the experts are across groups). The model's maxBatch must cover the rows a rank's experts
     * receive: build it with maxBatch x group.
     */
    public void setExpertParallel(dev.jseek.parallel.Communicator comm, int group) {
        ExpertShard sh = pl.shard();
        if (sh != null && (comm == null || group != sh.group() || comm.rank() % group != sh.index()))
            throw new IllegalArgumentException("this model holds the experts of expert-parallel rank " + sh.index() + " of " + sh.group()
                    + "; it runs only as that rank (got " + (comm == null ? "no communicator" : "rank " + comm.rank() % group + " of groups of " + group) + ")");
        epGroup = comm == null ? 1 : group;
        for (Moe m : moes) m.setExpertParallel(comm, group);
    }

    private int epGroup = 1;

    /**
     * FP8: round the routed experts' outputs to BF16 in every MoE layer, as expert parallel's BF16 combine does (report
     * §3.3.3; {@link #setExpertParallel} turns it on). On one rank it reproduces an expert-parallel FP8 forward bit for bit.
     */
    public void setBf16Combine(boolean on) { for (Moe m : moes) m.setBf16Combine(on); }

    /**
     * Node-limited routing in every MoE layer (report §2.1.2, §3.2.2): the experts are laid over {@code ranks}
     * expert-parallel ranks in nodes of {@code ranksPerNode}, and each token's experts lie on at most
     * {@code maxNodes} nodes (replacing the config's group-limited gate); ranks 0: off.
     */
    public void setNodeLimitedRouting(int ranks, int ranksPerNode, int maxNodes) {
        for (Moe m : moes) m.setNodeLimit(ranks, ranksPerNode, maxNodes);
        nodeLimit = ranks <= 0 ? null : new int[]{ranks, ranksPerNode, maxNodes};
    }

    /** The node-limited routing set (ranks, ranks per node, max nodes; null: off), which a pipeline slot built from this model takes too. */
    private int[] nodeLimit;

    /** The MoE layers (blocks, then MTP modules). */
    List<Moe> moes() { return java.util.Collections.unmodifiableList(moes); }

    /**
     * Bytes of the expert-parallel exchange buffers of this rank (0 without expert parallel): every MoE layer's own
     * rows (its tokens' expert outputs and their gradients, maxN K dim floats each) and the communicator's send and
     * receive buffers at their largest (shared by the layers; allocated on first use, as large as the rows sent and
     * received need, at most this).
     */
    public long expertExchangeBytes() {
        long home = 0, scratch = 0;
        for (Moe m : moes) { home += m.homeBytes(); scratch = Math.max(scratch, m.exchangeScratchBytes()); }
        return home + scratch;
    }

    /** Ranks in an expert-parallel group (1: every expert runs on every rank). */
    public int expertParallelGroup() { return epGroup; }


    /** Replaces the accumulated loads ([layer][expert], as {@link #expertLoad()}); data parallelism sets the global sums. */
    public void setExpertLoad(long[][] load) {
        if (load.length != moes.size()) throw new IllegalArgumentException(load.length + " load rows for " + moes.size() + " MoE layers");
        for (int i = 0; i < load.length; i++) {
            long[] l = moes.get(i).load();
            if (load[i].length != l.length) throw new IllegalArgumentException("layer " + i + ": " + load[i].length + " loads for " + l.length + " experts");
            System.arraycopy(load[i], 0, l, 0, l.length);
        }
    }

    /** MaxVio = (max_i load_i - mean load) / mean load per MoE layer, over the accumulated loads (0 when no tokens). */
    public double[] maxVio() {
        double[] r = new double[moes.size()];
        for (int i = 0; i < r.length; i++) {
            long[] l = moes.get(i).load();
            long sum = 0, max = 0;
            for (long v : l) { sum += v; max = Math.max(max, v); }
            double mean = (double) sum / l.length;
            r[i] = sum == 0 ? 0 : (max - mean) / mean;
        }
        return r;
    }

    /**
     * b_i += gamma * sign(mean_load - load_i) for every MoE layer, from the loads accumulated since the last update
     * (the global batch); then resets the loads.
     */
    public void updateBias(float gamma) {
        for (Moe m : moes) {
            long[] l = m.load();
            long sum = 0;
            for (long v : l) sum += v;
            double mean = (double) sum / l.length;
            int o = m.biasOffset();
            if (o < 0) { m.resetLoad(); continue; }        // a layer held by another pipeline rank
            for (int i = 0; i < l.length; i++) s.params[o + i] += gamma * (float) Math.signum(mean - l[i]);
            m.resetLoad();
        }
    }

    // ---- accessors ----

    /** GEMM precision of the attention and FFN Linears of every block, MTP blocks included (report §3.3). */
    public Precision precision() { return precision; }

    /**
     * Sets the {@link Precision} of the attention and FFN Linears; embedding, heads, router and eh_proj stay FP32.
     * FP32 and BF16 switch freely; FP8 is fixed at construction (its activation layout caches FP8 tensors).
     */
    public void setPrecision(Precision p) {
        java.util.Objects.requireNonNull(p, "precision");
        if ((p == Precision.FP8) != al.fp8())
            throw new IllegalStateException(al.fp8() ? "this model was built for FP8 (FP8 activation cache); it cannot run in " + p
                    : "FP8 needs its activation layout: construct the model with Precision.FP8");
        precision = p;
        for (Block b : blocks) b.setPrecision(p);
        for (MtpModule m : mtp) m.block.setPrecision(p);
    }

    public ModelConfig config() { return c; }
    public ParamLayout layout() { return pl; }
    public ActLayout activationLayout() { return al; }
    /** Bytes held for backward: the float activation arena plus the FP8 activation cache ({@link ActLayout#savedBytes()}). */
    public long activationBytes() { return al.savedBytes(); }
    /** Whether RMSNorm outputs and MLA up-projections are recomputed in backward (docs/architecture.md §7.1). */
    public boolean recompute() { return recompute; }
    public float[] params() { return s.params; }
    public float[] grads() { return s.grads; }
    public Arenas arenas() { return s; }
    public int maxBatch() { return maxBatch; }
    public int maxSeqLen() { return maxSeqLen; }

    /** Main-model cross-entropy of the last forward. */
    public double lastMainLoss() { return lastMain; }

    /** Cross-entropy of each MTP depth in the last forward (unweighted). */
    public double[] lastMtpLosses() { return lastMtp.clone(); }

    /** Balance loss of the last forward (alpha included; sum over MoE layers). */
    public double lastBalanceLoss() { return lastBal; }

    public float mtpLambda() { return mtpLambda; }
    public void setMtpLambda(float lambda) { mtpLambda = lambda; }
    public float balanceAlpha() { return balanceAlpha; }
    public void setBalanceAlpha(float alpha) { balanceAlpha = alpha; }
    public boolean sequenceWiseBalance() { return seqWiseBalance; }
    /** true: sequence-wise balance loss (docs/architecture.md §5.4, default); false: classic batch-wise auxiliary loss. */
    public void setSequenceWiseBalance(boolean seqWise) { seqWiseBalance = seqWise; }
}
