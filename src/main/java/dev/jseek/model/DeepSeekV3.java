package dev.jseek.model;

import dev.jseek.io.Checkpoint;
import dev.jseek.kernels.Gemm;
import dev.jseek.model.Workspace.Buf;
import dev.jseek.tensor.Matrix;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The DeepSeek-V3 model for inference (docs/architecture.md §3.6, §6.1): embedding → num_hidden_layers {@link Block}s → model.norm
 * → lm_head, plus the optional {@link Mtp} module(s). Weights stay where the {@link WeightSource} has them
 * (mmapped checkpoint tensors in any dtype, FP8 with block scales); activations are FP32.
 *
 * <p>The whole inference path:
 * <pre>
 *   KvCache cache = model.newCache(capacity, AttnMode.ABSORB);
 *   float[] hidden = model.forwardHidden(tokens, startPos, cache);   // [T, dim], after model.norm
 *   float[] logits = model.logits(hidden, 0, T);                     // [T, vocab]
 *   float[] draft  = model.mtpLogits(nextTokens, hidden, startPos, mtpCache);  // MTP depth 1
 * </pre>
 * A call at startPos processes positions startPos..startPos+T-1 against everything cached before them (causal:
 * query i sees keys 0..startPos+i), so prefill in chunks or decode token by token give the same logits as one
 * call. Not thread-safe (one {@link Workspace} of scratch arrays is reused across calls).
 */
public final class DeepSeekV3 implements AutoCloseable {
    public final ModelConfig config;
    public final Embedding embed;
    public final Block[] layers;
    public final RmsNorm norm;
    /** lm_head [vocab, dim] (the embedding when tie_word_embeddings). */
    public final Matrix lmHead;
    /** MTP modules found in the weights (length 0 when none). */
    public final Mtp[] mtp;
    public final Rope rope;
    private final Workspace ws = new Workspace();
    private final int[] stepToken = new int[1];
    private final RopeRows ropeRows = new RopeRows();
    private final AutoCloseable owner;

    private DeepSeekV3(ModelConfig config, Embedding embed, Block[] layers, RmsNorm norm, Matrix lmHead, Mtp[] mtp,
                       AutoCloseable owner) {
        this.config = config;
        this.embed = embed;
        this.layers = layers;
        this.norm = norm;
        this.lmHead = lmHead;
        this.mtp = mtp;
        this.rope = new Rope(config);
        this.owner = owner;
        dev.jseek.kernels.DecodeOrder.forModel(decodeWeightBytes());
    }

    /**
     * Weight bytes one decode step reads (docs/quantization.md, "The decode step"): every main layer's attention and
     * feed-forward matrices, routed experts at num_experts_per_tok / n_routed_experts of their bytes (the step reads
     * only the selected ones), the router and shared experts whole, and the lm_head; not the embedding table (one row
     * per token) nor the MTP modules.
     */
    public long decodeWeightBytes() {
        long n = lmHead.byteSize();
        for (Block b : layers) {
            n += b.attn().decodeWeightBytes();
            if (b.ffn() instanceof Mlp f) n += mlpBytes(f);
            else if (b.ffn() instanceof Moe moe) {
                n += moe.gate().weight().byteSize() + (moe.shared() == null ? 0 : mlpBytes(moe.shared()));
                long routed = 0;
                for (Mlp e : moe.experts()) routed += mlpBytes(e);
                n += routed * config.numExpertsPerTok() / Math.max(1, moe.experts().length);
            }
        }
        return n;
    }

    private static long mlpBytes(Mlp f) { return f.gateProj().byteSize() + f.upProj().byteSize() + f.downProj().byteSize(); }

    /**
     * Builds the model over {@code w} (HF tensor names, docs/architecture.md §2.2). MTP modules are loaded when
     * num_nextn_predict_layers > 0 and their tensors are present. {@code owner} (may be null) is closed by
     * {@link #close()}, e.g. the checkpoint whose mmapped memory the weights live in.
     */
    public static DeepSeekV3 load(ModelConfig cfg, WeightSource w, AutoCloseable owner) {
        TensorSchema s = new TensorSchema(cfg);
        Embedding embed = new Embedding(w.matrix(s.get(TensorSchema.Slot.EMBED)));
        Block[] layers = new Block[cfg.numHiddenLayers()];
        for (int l = 0; l < layers.length; l++) layers[l] = Block.load(w, s, l, l);
        RmsNorm norm = RmsNorm.load(w, s.get(TensorSchema.Slot.FINAL_NORM), cfg);
        Matrix head = cfg.tieWordEmbeddings() ? embed.weight() : w.matrix(s.get(TensorSchema.Slot.HEAD));
        int nMtp = 0;
        while (nMtp < cfg.numNextnPredictLayers()
                && w.has(s.get(Mtp.firstLayerId(cfg) + nMtp, TensorSchema.Slot.EH_PROJ).name())) nMtp++;
        Mtp[] mtp = new Mtp[nMtp];
        for (int k = 0; k < nMtp; k++) mtp[k] = Mtp.load(w, s, Mtp.firstLayerId(cfg) + k);
        return new DeepSeekV3(cfg, embed, layers, norm, head, mtp, owner);
    }

    public static DeepSeekV3 load(ModelConfig cfg, WeightSource w) { return load(cfg, w, null); }

    /**
     * Opens a Hugging Face model directory: {@code config.json} ({@link ConfigException} when bad) and its
     * safetensors ({@code dev.jseek.io.FormatException} when missing, mis-shaped or corrupt). The weights stay
     * mmapped until {@link #close()}. (A path that may also be a GGUF file: {@code dev.jseek.source.ModelSource}.)
     */
    public static DeepSeekV3 open(Path dir) {
        if (!Files.isDirectory(dir)) throw new ConfigException(dir, "no such model directory", (Throwable) null);
        ModelConfig cfg = ModelConfig.load(dir.resolve("config.json"));
        Checkpoint ckpt = Checkpoint.open(dir);
        try {
            if (FiniteWeights.enabled()) FiniteWeights.check(ckpt);
            return load(cfg, WeightSource.of(ckpt), ckpt);
        } catch (RuntimeException e) {
            ckpt.close();
            throw e;
        }
    }

    /** A cache for the main layers (for {@link AttnMode#NAIVE}, after {@link #requireNaiveHeap}). */
    public KvCache newCache(int capacity, AttnMode mode) {
        if (mode == AttnMode.NAIVE) requireNaiveHeap();
        return new KvCache(config, layers.length, capacity, mode);
    }

    /**
     * Heap bytes the naive attention mode still has to allocate before its first forward: the F32 kv_b_proj of every
     * layer (and MTP block) whose file stores it as block-typed halves and has not built it yet ({@link
     * Mla#kvBPendingHeapBytes}), plus the transient decode of one layer's halves while a copy is built.
     */
    public long naiveHeapBytes() {
        long n = 0, one = 0;
        for (Block b : layers) { n += b.attn().kvBPendingHeapBytes(); one = Math.max(one, b.attn().kvBPendingHeapBytes()); }
        for (Mtp m : mtp) { n += m.block().attn().kvBPendingHeapBytes(); one = Math.max(one, m.block().attn().kvBPendingHeapBytes()); }
        return n == 0 ? 0 : n + one;
    }

    /**
     * Fails with an {@link dev.jseek.io.InsufficientMemoryException} naming the bytes when the naive mode's kv_b_proj
     * copies ({@link #naiveHeapBytes}) do not fit in the heap room left, before any is built.
     */
    public void requireNaiveHeap() {
        long need = naiveHeapBytes();
        if (need > 0)
            dev.jseek.io.MemoryBudget.requireHeap("--attn naive", "its F32 kv_b_proj copies (rebuilt from the file's block-typed attn_k_b / attn_v_b; "
                    + "the default absorbed attention reads those as stored)", need);
    }

    /** A cache for the (first) MTP module's block. */
    public KvCache newMtpCache(int capacity, AttnMode mode) {
        if (mode == AttnMode.NAIVE) requireNaiveHeap();
        return new KvCache(config, 1, capacity, mode);
    }

    public boolean hasMtp() { return mtp.length > 0; }

    /**
     * Bytes of weights this model holds on the Java heap as a rebuilt copy ({@link Mla#kvBHeapBytes}: kv_b_proj
     * decoded to F32 from a block-typed GGUF's attn_k_b / attn_v_b, which only the naive attention mode builds);
     * every other matrix is a view of the mapped file. Commands print it at load ({@code cli/LoadReport}).
     */
    public long heapWeightCopyBytes() {
        long n = 0;
        for (Block b : layers) n += b.attn().kvBHeapBytes();
        for (Mtp m : mtp) n += m.block().attn().kvBHeapBytes();
        return n;
    }

    /**
     * Runs the main layers over {@code tokens} at positions startPos..startPos+T-1 and returns the hidden states
     * after model.norm, [T, dim] (a new array: the lm_head input and the MTP hnorm input).
     */
    public float[] forwardHidden(int[] tokens, int startPos, KvCache cache) {
        float[] out = new float[tokens.length * config.hiddenSize()];
        hiddenInto(tokens, startPos, cache, out);
        return out;
    }

    /** {@link #forwardHidden} into out[0 .. T * dim). */
    private void hiddenInto(int[] tokens, int startPos, KvCache cache, float[] out) {
        int T = tokens.length;
        checkTokens(tokens);
        checkCache(cache, layers.length, startPos, T);
        long t0 = StepProfile.start();
        float[] h = embedded(Buf.HIDDEN, tokens, T);
        RopeRows r = ropeRows.at(startPos, T);
        StepProfile.stop(StepProfile.Phase.EMBED, t0);
        for (Block b : layers) b.forward(h, T, startPos, cache, r.cos, r.sin, ws);
        t0 = StepProfile.start();
        norm.forward(h, out, T);
        StepProfile.stop(StepProfile.Phase.FINAL_NORM, t0);
    }

    /**
     * One decode step without allocation once warm: the logits [vocab] of {@code token} at {@code pos}, the values
     * {@code forward(new int[] {token}, pos, cache)} returns, in an array this model reuses (at least vocab long): valid until its next
     * decodeStep call (the {@code Generator}'s loop samples from it before the next step).
     */
    public float[] decodeStep(int token, int pos, KvCache cache) {
        int dim = config.hiddenSize();
        stepToken[0] = token;
        float[] hidden = ws.f(Buf.STEP_HIDDEN, dim);
        hiddenInto(stepToken, pos, cache, hidden);
        long t0 = StepProfile.start();
        float[] out = ws.f(Buf.STEP_LOGITS, config.vocabSize());
        Gemm.linear(out, 0, hidden, 0, 1, lmHead, false);
        StepProfile.stop(StepProfile.Phase.LM_HEAD, t0);
        return out;
    }

    /**
     * One decode step of M sequences (continuous batching): tokens[i] is sequence i's newest token, at position
     * positions[i] of its own ABSORB cache caches[i] (contiguous or paged). Returns the hidden states after
     * model.norm, [M, dim]. Row i equals what {@code forwardHidden(new int[] {tokens[i]}, positions[i], caches[i])}
     * returns, bit for bit, for M up to {@link Gemm#GEMV_MAX_M} (the Linear layers then sum every row in the same
     * order whatever M is; {@code BatchForwardTest} checks it).
     */
    public float[] forwardBatchHidden(int[] tokens, int[] positions, KvCache[] caches, int M) {
        float[] out = new float[M * config.hiddenSize()];
        batchHiddenInto(tokens, positions, caches, M, out);
        return out;
    }

    /**
     * The batch engine's decode step without allocation once warm: {@code logits(forwardBatchHidden(...), 0, M)},
     * the same values, in an array this model reuses ([M, vocab]; valid until its next decodeStep or decodeBatch).
     */
    public float[] decodeBatch(int[] tokens, int[] positions, KvCache[] caches, int M) {
        float[] hidden = ws.f(Buf.STEP_HIDDEN, M * config.hiddenSize());
        batchHiddenInto(tokens, positions, caches, M, hidden);
        long t0 = StepProfile.start();
        float[] out = ws.f(Buf.STEP_LOGITS, Math.multiplyExact(M, config.vocabSize()));
        Gemm.linear(out, 0, hidden, 0, M, lmHead, false);
        StepProfile.stop(StepProfile.Phase.LM_HEAD, t0);
        return out;
    }

    private void batchHiddenInto(int[] tokens, int[] positions, KvCache[] caches, int M, float[] out) {
        if (M < 1 || tokens.length < M || positions.length < M || caches.length < M)
            throw new IllegalArgumentException("a batch of " + M + " rows needs that many tokens, positions and caches");
        checkTokens(java.util.Arrays.copyOf(tokens, M));
        for (int i = 0; i < M; i++) checkCache(caches[i], layers.length, positions[i], 1);
        float[] h = embedded(Buf.HIDDEN, tokens, M);
        RopeRows r = ropeRows.at(positions, M);
        for (Block b : layers) b.forwardBatch(h, M, positions, caches, r.cos, r.sin, ws);
        norm.forward(h, out, M);
    }

    /**
     * Prefill of several segments in one forward (the batch engine's stacked prefill): segment i is tokens[i] at
     * positions startPos[i].. of cache caches[i], at most {@link Gemm#GEMV_MAX_M} tokens; its rows follow the previous
     * segment's in the result [Σ T_i, dim] (hidden states after model.norm). Segments run in order within every layer,
     * so a segment may continue an earlier one of the same sequence (same cache, the positions right after it).
     * Attention and the dense layers run segment by segment; the MoE layers read each expert's weights once for the
     * rows of all segments. When {@link #canStackPrefill} holds, segment i's rows are bitwise what
     * {@code forwardHidden(tokens[i], startPos[i], caches[i])} returns (after the earlier segments of its sequence),
     * and so are the cache entries ({@code BatchForwardTest}).
     */
    public float[] forwardStackedHidden(int[][] tokens, int[] startPos, KvCache[] caches, int segs) {
        int dim = config.hiddenSize();
        if (segs < 1 || tokens.length < segs || startPos.length < segs || caches.length < segs)
            throw new IllegalArgumentException("a stack of " + segs + " segments needs that many token arrays, positions and caches");
        int[] segStart = new int[segs + 1];
        for (int i = 0; i < segs; i++) {
            int T = tokens[i].length;
            if (T > Gemm.GEMV_MAX_M)
                throw new IllegalArgumentException("segment " + i + " has " + T + " tokens, more than jseek.gemvMaxM = " + Gemm.GEMV_MAX_M);
            checkTokens(tokens[i]);
            checkCache(caches[i], layers.length, startPos[i], T);
            segStart[i + 1] = Math.addExact(segStart[i], T);
        }
        int R = segStart[segs];
        int[] all = new int[R], positions = new int[R];
        for (int i = 0; i < segs; i++)
            for (int t = 0; t < tokens[i].length; t++) {
                all[segStart[i] + t] = tokens[i][t];
                positions[segStart[i] + t] = startPos[i] + t;
            }
        long t0 = StepProfile.start();
        float[] h = embedded(Buf.HIDDEN, all, R);
        RopeRows r = ropeRows.at(positions, R);
        StepProfile.stop(StepProfile.Phase.EMBED, t0);
        for (Block b : layers) b.forwardStacked(h, R, segStart, segs, startPos, caches, r.cos, r.sin, ws);
        float[] out = new float[R * dim];
        t0 = StepProfile.start();
        norm.forward(h, out, R);
        StepProfile.stop(StepProfile.Phase.FINAL_NORM, t0);
        return out;
    }

    /**
     * True when {@link #forwardStackedHidden} gives every segment of up to {@code chunk} tokens its alone values:
     * chunk <= {@link Gemm#GEMV_MAX_M}. Float-typed experts ({@link Moe#stackable}) run the rows of all segments in
     * one product each; block-typed ones (Q8_0, K-quants) one product per segment ({@link Moe#forwardStacked}).
     * System property {@code jseek.engine.stackBlockExperts=false}: block-typed experts do not stack (the engine
     * prefills their prompts one chunk per step, as before they could).
     */
    public boolean canStackPrefill(int chunk) {
        if (chunk > Gemm.GEMV_MAX_M) return false;
        if (!STACK_BLOCK_EXPERTS) for (Block b : layers) if (b.ffn() instanceof Moe moe && !moe.stackable()) return false;
        return true;
    }

    private static final boolean STACK_BLOCK_EXPERTS = Boolean.parseBoolean(System.getProperty("jseek.engine.stackBlockExperts", "true"));

    /** Logits [T, vocab] of {@code tokens} at positions startPos.. (see {@link #forwardHidden}). */
    public float[] forward(int[] tokens, int startPos, KvCache cache) {
        return logits(forwardHidden(tokens, startPos, cache), 0, tokens.length);
    }

    /** lm_head of rows row0..row0+rows-1 of post-norm hidden states [*, dim]: a new [rows, vocab] array. */
    public float[] logits(float[] hidden, int row0, int rows) {
        int dim = config.hiddenSize();
        if (row0 < 0 || rows < 0 || (long) (row0 + rows) * dim > hidden.length)
            throw new IllegalArgumentException("rows " + row0 + ".." + (row0 + rows) + " outside hidden states of " + hidden.length / dim + " rows");
        long t0 = StepProfile.start();
        float[] out = new float[Math.multiplyExact(rows, config.vocabSize())];
        Gemm.linear(out, 0, hidden, row0 * dim, rows, lmHead, false);
        StepProfile.stop(StepProfile.Phase.LM_HEAD, t0);
        return out;
    }

    /**
     * MTP depth 1 (docs/architecture.md §6.1): for pairs (hidden[i], nextTokens[i]) placed at positions startPos+i, returns the
     * module's output after shared_head.norm, [T, dim]. {@code hidden} are main post-norm hidden states
     * ({@link #forwardHidden}) with at least T rows; nextTokens[i] is the token after hidden[i]'s position.
     */
    public float[] mtpHidden(int[] nextTokens, float[] hidden, int startPos, KvCache mtpCache) {
        int T = nextTokens.length;
        float[] emb = mtpInputs(nextTokens, hidden, startPos, mtpCache, 0);
        float[] out = new float[T * config.hiddenSize()];
        mtp[0].forward(emb, hidden, T, startPos, mtpCache, ropeRows.cos, ropeRows.sin, out, ws);
        return out;
    }

    /**
     * The last row of {@link #mtpHidden} ([dim]), with the same MTP cache entries, bit for bit, for less work: the
     * pairs before the last only write their cache entries ({@link Mtp#forwardLast}). Speculative decoding's drafts,
     * which read only the last pair's output.
     */
    public float[] mtpHiddenLast(int[] nextTokens, float[] hidden, int startPos, KvCache mtpCache) {
        float[] emb = mtpInputs(nextTokens, hidden, startPos, mtpCache, 1);
        float[] out = new float[config.hiddenSize()];
        mtp[0].forwardLast(emb, hidden, nextTokens.length, startPos, mtpCache, ropeRows.cos, ropeRows.sin, rope.dim / 2, out, ws);
        return out;
    }

    /**
     * The checks of {@link #mtpHidden} and {@link #mtpHiddenLast} (an MTP module, valid tokens, room in the cache, at
     * least max(T, minRows) hidden rows), then the tokens' embeddings; {@link #ropeRows} holds the rope tables of
     * positions startPos.. after it.
     */
    private float[] mtpInputs(int[] nextTokens, float[] hidden, int startPos, KvCache mtpCache, int minRows) {
        requireMtp();
        int T = nextTokens.length, dim = config.hiddenSize();
        checkTokens(nextTokens);
        checkCache(mtpCache, 1, startPos, T);
        if (T < minRows || hidden.length < (long) T * dim)
            throw new IllegalArgumentException("hidden holds " + hidden.length / dim + " rows, need " + T + (minRows > 0 ? " (at least " + minRows + ")" : ""));
        float[] emb = embedded(Buf.MTP_EMB, nextTokens, T);
        ropeRows.at(startPos, T);
        return emb;
    }

    /**
     * MTP depth 1 for M pairs of several sequences (the batch engine's drafts): pair i is (hidden row i,
     * nextTokens[i]) at position positions[i] of the one-layer MTP cache caches[i]; a sequence's pairs are
     * consecutive rows at consecutive positions. Row i of the result [M, dim] equals the corresponding one-pair
     * {@link #mtpHidden} bit for bit up to {@link Gemm#GEMV_MAX_M} rows.
     */
    public float[] mtpBatchHidden(int[] nextTokens, float[] hidden, int[] positions, KvCache[] caches, int M) {
        requireMtp();
        int dim = config.hiddenSize();
        if (M < 1 || nextTokens.length < M || positions.length < M || caches.length < M || hidden.length < (long) M * dim)
            throw new IllegalArgumentException("a batch of " + M + " MTP rows needs that many tokens, hidden rows, positions and caches");
        checkTokens(java.util.Arrays.copyOf(nextTokens, M));
        for (int i = 0; i < M; i++) checkCache(caches[i], 1, positions[i], 1);
        float[] emb = embedded(Buf.MTP_EMB, nextTokens, M);
        RopeRows r = ropeRows.at(positions, M);
        float[] out = new float[M * dim];
        mtp[0].forwardBatch(emb, hidden, M, positions, caches, r.cos, r.sin, out, ws);
        return out;
    }

    /** MTP depth-1 logits [T, vocab] (draft distribution of the token two ahead of each hidden's position). */
    public float[] mtpLogits(int[] nextTokens, float[] hidden, int startPos, KvCache mtpCache) {
        return logits(mtpHidden(nextTokens, hidden, startPos, mtpCache), 0, nextTokens.length);
    }

    /**
     * Throws {@link dev.jseek.io.FileChangedException} when a file the weights are mapped from changed on disk since it
     * was opened (reading it now could crash the JVM). Cheap (a stat per file); call it before each piece of work.
     */
    public void checkUnchanged() {
        if (owner instanceof dev.jseek.io.FileBacked f) f.checkUnchanged();
    }

    /** Releases the scratch arrays and closes the weight owner (e.g. the checkpoint's mmapped files). */
    @Override public void close() {
        ws.clear();
        if (owner != null) {
            try {
                owner.close();
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException("closing model weights: " + e.getMessage(), e);
            }
        }
    }

    private void requireMtp() {
        if (!hasMtp()) throw new IllegalStateException("this model has no MTP module (num_nextn_predict_layers = "
                + config.numNextnPredictLayers() + ", or its layer " + Mtp.firstLayerId(config) + " tensors are absent)");
    }

    /** The embeddings of tokens[0..rows) in workspace slot {@code slot}, [rows, dim] (the MTP module shares the main embedding, report §2.2). */
    private float[] embedded(Buf slot, int[] tokens, int rows) {
        float[] e = ws.f(slot, rows * config.hiddenSize());
        embed.forward(tokens, rows, e);
        return e;
    }

    /** The rope tables cos and sin [rows, rope/2] of the rows of one forward, in the workspace (ROPE_COS, ROPE_SIN); valid until the next {@code at}. */
    private final class RopeRows {
        float[] cos, sin;

        /** The tables of positions start..start+rows-1. */
        RopeRows at(int start, int rows) {
            size(rows);
            rope.table(start, rows, cos, sin);
            return this;
        }

        /** The tables of positions[0..rows). */
        RopeRows at(int[] positions, int rows) {
            size(rows);
            rope.table(positions, rows, cos, sin);
            return this;
        }

        private void size(int rows) {
            int half = rope.dim / 2;
            cos = ws.f(Buf.ROPE_COS, rows * half);
            sin = ws.f(Buf.ROPE_SIN, rows * half);
        }
    }

    private void checkTokens(int[] tokens) {
        if (tokens.length == 0) throw new IllegalArgumentException("no tokens");
        for (int i = 0; i < tokens.length; i++)
            if (tokens[i] < 0 || tokens[i] >= config.vocabSize())
                throw new IllegalArgumentException("token " + i + " is " + tokens[i] + ", outside the vocabulary 0.." + (config.vocabSize() - 1));
    }

    private static void checkCache(KvCache cache, int layers, int startPos, int T) {
        if (cache.layers() != layers)
            throw new IllegalArgumentException("cache has " + cache.layers() + " layers, this model part needs " + layers);
        if (startPos < 0) throw new IllegalArgumentException("startPos " + startPos + " < 0");
        if ((long) startPos + T > cache.capacity)
            throw new IllegalArgumentException("positions " + startPos + ".." + (startPos + T - 1) + " exceed the cache capacity " + cache.capacity);
        cache.ensure(startPos + T);
    }
}
