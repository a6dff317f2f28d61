package dev.jseek.model;

import dev.jseek.kernels.Gemm;
import dev.jseek.kernels.Ops;
import dev.jseek.kernels.Parallel;
import dev.jseek.kernels.Vec;
import dev.jseek.kernels.WeightRows;
import dev.jseek.model.StepProfile.Phase;
import dev.jseek.model.Workspace.Buf;
import dev.jseek.tensor.Matrix;
import jdk.incubator.vector.FloatVector;

/**
 * Multi-head Latent Attention (report §2.1.1). Projections (docs/architecture.md §3.1): q = W_qb · RMSNorm(W_qa x) (or W_q x without q_lora_rank),
 * viewed [heads][nope | rope]; kv_a = W_kva x = [c_kv | k_pe]; c_kv_n = RMSNorm(c_kv); interleaved RoPE on every
 * q_pe and the one shared k_pe. kv_b_proj [heads·(nope + v), kv_lora_rank] is head-major: per head rows
 * [W_UK (nope rows) ; W_UV (v rows)].
 * <ul>
 *   <li>{@link AttnMode#NAIVE} (§3.2): k = [W_UK c_kv_n ; k_pe], v = W_UV c_kv_n per head; softmax(σ q·k) v.</li>
 *   <li>{@link AttnMode#ABSORB} (§3.3): q_abs = W_UK^T q_nope; score = σ(q_abs·c_kv_n + q_pe·k_pe) against the latent
 *       cache (one shared 576-wide key); o_lat = Σ P c_kv_n; o = W_UV o_lat.</li>
 * </ul>
 * Both end with out = W_o concat_h(o^h). σ = {@link ModelConfig#softmaxScale()}. Query t (absolute position
 * startPos + t) attends to cache positions 0..startPos+t.
 */
public final class Mla {
    /** Upper bound on the floats of one score tile (queries are processed in tiles to bound memory; tests lower it). */
    static int scoreTileFloats = 1 << 22;

    public final int heads, nope, rope, qkDim, vDim, kvRank;
    public final float softmaxScale;
    /** q_proj [heads·qkDim, dim] when there is no query compression, else null. */
    public final Matrix qProj;
    /** q_a_proj [q_lora_rank, dim], q_a_layernorm, q_b_proj [heads·qkDim, q_lora_rank]; null without q_lora_rank. */
    public final Matrix qAProj, qBProj;
    public final RmsNorm qANorm;
    /** kv_a_proj_with_mqa [kv_lora_rank + rope, dim], kv_a_layernorm [kv_lora_rank], o_proj [dim, heads·vDim]. */
    public final Matrix kvAProj, oProj;
    /** kv_b_proj, or null until {@link #kvBProj()} first needs it (see there). */
    private volatile Matrix kvBProj;
    private final java.util.function.Supplier<Matrix> kvBLoader;
    public final RmsNorm kvANorm;
    /**
     * kv_b_proj's halves as the weight source stores them apart (a GGUF's attn_k_b, attn_v_b; {@link
     * WeightSource#kvBHalves}), or null: W_UK^T per head [heads * kvRank, nope] and W_UV [heads * vDim, kvRank], in
     * the file's type. {@link #attendHeads} then multiplies them by the weight type's GEMV kernel (q_abs^h = kB^h
     * q_nope^h, o^h = vB^h o_lat^h), and prefill's tiled attention by the packed GEMM ({@link Gemm#linearSlice}),
     * reading the stored (quantized) bytes instead of kv_b_proj, which a block-typed file would rebuild in F32
     * ({@link #kvBProj()}).
     */
    public final Matrix kB, vB;

    /**
     * kvBProj supplies kv_b_proj: called here without the halves kB and vB, else on first use of {@link #kvBProj()}
     * (only the naive attention mode reads kv_b_proj then).
     */
    public Mla(ModelConfig cfg, Matrix qProj, Matrix qAProj, RmsNorm qANorm, Matrix qBProj,
               Matrix kvAProj, RmsNorm kvANorm, java.util.function.Supplier<Matrix> kvBProj, Matrix oProj, Matrix kB, Matrix vB) {
        if ((kB == null) != (vB == null)) throw new IllegalArgumentException("kv_b halves: both or neither");
        heads = cfg.numAttentionHeads();
        nope = cfg.qkNopeHeadDim();
        rope = cfg.qkRopeHeadDim();
        qkDim = cfg.qkHeadDim();
        vDim = cfg.vHeadDim();
        kvRank = cfg.kvLoraRank();
        softmaxScale = (float) cfg.softmaxScale();
        this.qProj = qProj;
        this.qAProj = qAProj;
        this.qANorm = qANorm;
        this.qBProj = qBProj;
        this.kvAProj = kvAProj;
        this.kvANorm = kvANorm;
        this.kvBLoader = kvBProj;
        if (kB == null) this.kvBProj = kvBProj.get();
        this.oProj = oProj;
        this.kB = kB;
        this.vB = vB;
    }

    /** Loads the attention tensors of {@code layer} of the {@link TensorSchema}. */
    public static Mla load(WeightSource w, TensorSchema s, int layer) {
        ModelConfig cfg = s.config();
        Matrix q = null, qa = null, qb = null;
        RmsNorm qn = null;
        if (cfg.hasQLora()) {
            qa = w.matrix(s.get(layer, TensorSchema.Slot.Q_A));
            qn = RmsNorm.load(w, s.get(layer, TensorSchema.Slot.Q_A_NORM), cfg);
            qb = w.matrix(s.get(layer, TensorSchema.Slot.Q_B));
        } else {
            q = w.matrix(s.get(layer, TensorSchema.Slot.Q));
        }
        TensorSchema.Tensor kvB = s.get(layer, TensorSchema.Slot.KV_B);
        Matrix[] halves = w.kvBHalves(kvB.name(), cfg.numAttentionHeads(), cfg.qkNopeHeadDim(), cfg.vHeadDim(), cfg.kvLoraRank());
        return new Mla(cfg, q, qa, qn, qb,
                w.matrix(s.get(layer, TensorSchema.Slot.KV_A)),
                RmsNorm.load(w, s.get(layer, TensorSchema.Slot.KV_A_NORM), cfg),
                () -> w.matrix(kvB),
                w.matrix(s.get(layer, TensorSchema.Slot.O)),
                halves == null ? null : halves[0], halves == null ? null : halves[1]);
    }

    /**
     * kv_b_proj [heads·(nope + v), kvRank]. With {@link #kB} and {@link #vB} (a block-typed GGUF) no attention of the
     * ABSORB mode reads it, so it is built (in F32, 4x the bytes of Q8_0: 61 x 512 x 128 x 256 floats, about 4 GB,
     * for DeepSeek-V3) only when first asked for here, by the naive mode; else it is the weight loaded with the model.
     */
    public Matrix kvBProj() {
        Matrix m = kvBProj;
        if (m == null) {
            synchronized (this) {
                m = kvBProj;
                if (m == null) kvBProj = m = kvBLoader.get();
            }
        }
        return m;
    }

    /**
     * Weight bytes one absorbed-attention decode step of this block reads: the q, kv_a and o projections and W_UK /
     * W_UV (the stored halves when there are, else kv_b_proj as loaded; a lazy naive-mode copy is not counted).
     */
    public long decodeWeightBytes() {
        long n = (qProj != null ? qProj.byteSize() : qAProj.byteSize() + qBProj.byteSize()) + kvAProj.byteSize() + oProj.byteSize();
        if (kB != null) return n + kB.byteSize() + vB.byteSize();
        Matrix m = kvBProj;
        return m == null ? n : n + m.byteSize();
    }

    /** Heap bytes {@link #kvBProj()} will allocate on first use (its F32 rebuild), 0 once built or when loaded with the model. */
    public long kvBPendingHeapBytes() { return kvBProj == null ? 4L * heads * (nope + vDim) * kvRank : 0; }

    /**
     * Bytes of kv_b_proj held on the Java heap: a block-typed GGUF's F32 rebuild once built (0 while {@link #kvBProj()}
     * has not been asked for), 0 for a view of a mapped file or an off-heap permutation.
     */
    public long kvBHeapBytes() {
        Matrix m = kvBProj;
        return m != null && m.data().heapBase().isPresent() ? m.byteSize() : 0;
    }

    /**
     * out[T, dim] = MLA(x[T, dim]) for the tokens at positions startPos..startPos+T-1, writing their entries into
     * {@code layer} of {@code cache}. cos/sin are the RoPE tables of those positions ([T, rope/2], see {@link Rope}).
     */
    public void forward(float[] x, int T, int startPos, KvCache cache, int layer, float[] cos, float[] sin,
                        float[] out, Workspace ws) {
        int aWidth = kvRank + rope;
        float[] q = project(x, T, cos, sin, ws);
        float[] a = ws.f(Buf.MLA_KVA, T * aWidth), ckv = ws.f(Buf.MLA_CKV, T * kvRank);

        float[] oHeads = ws.f(Buf.MLA_OHEADS, T * heads * vDim);
        if (cache.mode == AttnMode.ABSORB && T <= rowProductsMaxT) {
            long t0 = StepProfile.start();
            for (int t = 0; t < T; t++) cache.writeLatent(layer, startPos + t, ckv, t * kvRank, a, t * aWidth + kvRank);
            StepProfile.stop(Phase.CACHE, t0);
            attendHeads(q, T, cache, startPos, null, null, layer, oHeads, ws);
        } else if (cache.mode == AttnMode.ABSORB) {
            long t0 = StepProfile.start();
            for (int t = 0; t < T; t++) cache.writeLatent(layer, startPos + t, ckv, t * kvRank, a, t * aWidth + kvRank);
            float[] lat = cache.latentRows(layer, startPos + T, cache.isPaged() ? ws.f(Buf.MLA_LAT, (startPos + T) * aWidth) : null);
            StepProfile.stop(Phase.CACHE, t0);
            attendAbsorbed(q, T, startPos, lat, oHeads, ws);
        } else {
            float[] kc = cache.keys(layer), vc = cache.values(layer);
            int kvbWidth = heads * (nope + vDim);
            float[] kv = ws.f(Buf.MLA_KV, T * kvbWidth);
            Gemm.linear(kv, 0, ckv, 0, T, kvBProj(), false);
            for (int t = 0; t < T; t++) {
                int pos = startPos + t;
                for (int h = 0; h < heads; h++) {
                    int src = t * kvbWidth + h * (nope + vDim), k = (pos * heads + h) * qkDim;
                    System.arraycopy(kv, src, kc, k, nope);
                    System.arraycopy(a, t * aWidth + kvRank, kc, k + nope, rope);
                    System.arraycopy(kv, src + nope, vc, (pos * heads + h) * vDim, vDim);
                }
            }
            attendNaive(q, T, startPos, kc, vc, oHeads, ws);
        }
        long t0 = StepProfile.start();
        Gemm.linear(out, 0, oHeads, 0, T, oProj, false);
        StepProfile.stop(Phase.ATTN_OUT, t0);
    }

    /**
     * Writes the ABSORB cache entries of T tokens at positions startPos.. of {@code layer}, bitwise those {@link #forward}
     * writes (kv_a, its norm, RoPE on k_pe; up to {@link Gemm#GEMV_MAX_M} rows, the products sum each row alike for any
     * row count), without the queries or the attention: for rows whose output nobody reads (the MTP drafts' pairs
     * before the last, {@link Mtp#forwardLast}).
     */
    void writeCache(float[] x, int T, int startPos, KvCache cache, int layer, float[] cos, float[] sin, Workspace ws) {
        if (cache.mode != AttnMode.ABSORB) throw new IllegalArgumentException("writeCache needs an ABSORB cache");
        int aWidth = kvRank + rope, half = rope / 2;
        float[] a = ws.f(Buf.MLA_KVA, T * aWidth), ckv = ws.f(Buf.MLA_CKV, T * kvRank);
        long t0 = StepProfile.start();
        Gemm.linear(a, 0, x, 0, T, kvAProj, false);
        StepProfile.stop(Phase.ATTN_PROJ, t0);
        latentNormRope(a, aWidth, ckv, T, cos, sin, half);
        t0 = StepProfile.start();
        for (int t = 0; t < T; t++) cache.writeLatent(layer, startPos + t, ckv, t * kvRank, a, t * aWidth + kvRank);
        StepProfile.stop(Phase.CACHE, t0);
    }

    /**
     * The decode step of a batch of M sequences, one new token each: row i of x[M, dim] is sequence i's token at
     * position positions[i], attending to its own ABSORB cache caches[i]. The projections run as M-row Linear
     * layers; each sequence's attention runs alone against its cache, exactly as a 1-token {@link #forward} does it
     * (same kernels, same shapes), so row i's result does not depend on the other rows when the Linear layers sum
     * every row the same way for any M ({@code kernels.Gemv}). cos/sin hold one row per sequence.
     */
    public void forwardBatch(float[] x, int M, int[] positions, KvCache[] caches, int layer, float[] cos, float[] sin,
                             float[] out, Workspace ws) {
        int aWidth = kvRank + rope;
        float[] q = project(x, M, cos, sin, ws);
        float[] a = ws.f(Buf.MLA_KVA, M * aWidth), ckv = ws.f(Buf.MLA_CKV, M * kvRank);
        long t0 = StepProfile.start();
        for (int i = 0; i < M; i++) {
            if (caches[i].mode != AttnMode.ABSORB) throw new IllegalArgumentException("batched decode needs ABSORB caches");
            caches[i].writeLatent(layer, positions[i], ckv, i * kvRank, a, i * aWidth + kvRank);
        }
        StepProfile.stop(Phase.CACHE, t0);
        float[] oHeads = ws.f(Buf.MLA_OHEADS, M * heads * vDim);
        attendHeads(q, M, null, 0, caches, positions, layer, oHeads, ws);
        t0 = StepProfile.start();
        Gemm.linear(out, 0, oHeads, 0, M, oProj, false);
        StepProfile.stop(Phase.ATTN_OUT, t0);
    }

    /**
     * Queries [T][heads][nope | rope] with RoPE on each head's rope part (returned, in {@link Buf#MLA_Q}), and the
     * latent kv_a = [c_kv | k_pe] with c_kv_n = RMSNorm(c_kv) in {@link Buf#MLA_CKV} and k_pe rotated in place in
     * {@link Buf#MLA_KVA}. With query compression, kv_a and q_a (both read x) run as one parallel job
     * ({@link Gemm#linearMany}, the same values as two {@link Gemm#linear} calls); the q_a rows sit after kv_a's T
     * rows in {@link Buf#MLA_KVA}.
     */
    private float[] project(float[] x, int T, float[] cos, float[] sin, Workspace ws) {
        int half = rope / 2, qWidth = heads * qkDim, aWidth = kvRank + rope;
        float[] q = ws.f(Buf.MLA_Q, T * qWidth);
        float[] a;
        long t0 = StepProfile.start();
        if (qProj != null) {
            a = ws.f(Buf.MLA_KVA, T * aWidth);
            Gemm.linear(q, 0, x, 0, T, qProj, false);
            Gemm.linear(a, 0, x, 0, T, kvAProj, false);
        } else {
            int qr = qAProj.rows(), cq = T * aWidth;
            a = ws.f(Buf.MLA_KVA, T * (aWidth + qr));
            Matrix[] mats = ws.matrices(2);
            int[] jobs = ws.i(Buf.MLA_JOBS, 6);
            mats[0] = kvAProj;
            jobs[0] = 0; jobs[1] = T; jobs[2] = 0;
            mats[1] = qAProj;
            jobs[3] = 0; jobs[4] = T; jobs[5] = cq;
            Gemm.linearMany(2, mats, x, a, jobs);
            StepProfile.stop(Phase.ATTN_PROJ, t0);
            t0 = StepProfile.start();
            qANorm.forward(a, cq, qr, a, cq, qr, T);
            StepProfile.stop(Phase.NORM, t0);
            t0 = StepProfile.start();
            Gemm.linear(q, 0, a, cq, T, qBProj, false);
        }
        StepProfile.stop(Phase.ATTN_PROJ, t0);
        t0 = StepProfile.start();
        for (int t = 0; t < T; t++)
            for (int h = 0; h < heads; h++) Ops.ropeInterleaved(q, t * qWidth + h * qkDim + nope, cos, sin, t * half, half);
        StepProfile.stop(Phase.ROPE, t0);

        latentNormRope(a, aWidth, ws.f(Buf.MLA_CKV, T * kvRank), T, cos, sin, half);
        return q;
    }

    /** c_kv = kv_a_layernorm of the first kvRank columns of a's T rows into ckv; RoPE on a's k_pe columns in place. */
    private void latentNormRope(float[] a, int aWidth, float[] ckv, int T, float[] cos, float[] sin, int half) {
        long t0 = StepProfile.start();
        kvANorm.forward(a, 0, aWidth, ckv, 0, kvRank, T);
        StepProfile.stop(Phase.NORM, t0);
        t0 = StepProfile.start();
        for (int t = 0; t < T; t++) Ops.ropeInterleaved(a, t * aWidth + kvRank, cos, sin, t * half, half);
        StepProfile.stop(Phase.ROPE, t0);
    }

    /** Naive mode (docs/architecture.md §3.2): per head, scores = σ q_h K_h^T over the cached keys, causal softmax, o_h = P V_h. */
    private void attendNaive(float[] q, int T, int startPos, float[] kc, float[] vc, float[] oHeads, Workspace ws) {
        int qWidth = heads * qkDim, end = startPos + T;
        int tile = Math.max(1, Math.min(T, scoreTileFloats / end));
        float[] scores = ws.f(Buf.MLA_SCORES, tile * end);
        for (int h = 0; h < heads; h++) {
            for (int t0 = 0; t0 < T; t0 += tile) {
                int n = Math.min(tile, T - t0), len = startPos + t0 + n;
                Gemm.sgemm(false, true, n, len, qkDim, softmaxScale, q, t0 * qWidth + h * qkDim, qWidth,
                        kc, h * qkDim, qWidth, 0f, scores, 0, len);
                causalSoftmax(scores, n, len, startPos + t0, 1);
                Gemm.sgemm(false, false, n, vDim, len, 1f, scores, 0, len, vc, h * vDim, heads * vDim,
                        0f, oHeads, t0 * heads * vDim + h * vDim, heads * vDim);
            }
        }
    }

    /**
     * Absorbed mode (docs/architecture.md §3.3): q_abs = W_UK^T q_nope per head; all heads of a query share the latent key, so the scores of a tile of
     * queries are one [tile·heads, len] product; o_lat = P c_kv_n; o_h = W_UV o_lat_h.
     */
    private void attendAbsorbed(float[] q, int T, int startPos, float[] lat, float[] oHeads, Workspace ws) {
        if (prefillTile > 0) {
            attendAbsorbedTiles(q, T, startPos, lat, oHeads, ws);
            return;
        }
        int end = startPos + T;
        float[] qAbs = absorbQueries(q, T, ws);
        float[] oLat = ws.f(Buf.MLA_OLAT, T * heads * kvRank);
        int tile = Math.max(1, Math.min(T, scoreTileFloats / (heads * end)));
        for (int t0 = 0; t0 < T; t0 += tile) {
            int n = Math.min(tile, T - t0);
            attendTile(qAbs, q, t0, n, startPos + t0, startPos + t0 + n, lat, oLat, ws);
        }
        expandValues(oLat, T, oHeads, ws);
    }

    /**
     * Query rows per task of {@link #attendAbsorbedTiles} (system property {@code jseek.prefillAttnTile}, default 64;
     * 0 runs the previous path, {@link #attendAbsorbed}'s one tile of every query against every key, each product a
     * parallel GEMM of its own, for A/B runs).
     */
    static int prefillTile = Integer.getInteger("jseek.prefillAttnTile", 64);

    /**
     * The prefill attention as one parallel job over query tiles of {@link #prefillTile} rows, latest tile first
     * (it has the most keys): per tile, q_abs = W_UK^T q_nope per head, the scores of the tile's queries against the
     * keys up to its last position only (causal: about half the products of a tile covering every key), the causal
     * softmax, o_lat = P c_kv and o = W_UV o_lat per head, on one thread (the GEMMs inside run serially). Each value
     * is the one {@link #attendAbsorbed}'s single tile computes: the GEMMs sum an element the same way whatever their
     * row split, the score and value products have one k slice per element or the same KC slices from key 0 on, and
     * the keys a tile leaves out are the ones the causal softmax gives probability 0 (whose products add +0 to a
     * nonzero sum).
     */
    private void attendAbsorbedTiles(float[] q, int T, int startPos, float[] lat, float[] oHeads, Workspace ws) {
        int end = startPos + T, qWidth = heads * qkDim, aWidth = kvRank + rope;
        int tile = Math.max(1, Math.min(T, Math.min(prefillTile, scoreTileFloats / (heads * end))));
        int tiles = (T + tile - 1) / tile, threads = Parallel.threads(), per = tile * heads * end;
        float[] qAbs = ws.f(Buf.MLA_QABS, T * heads * kvRank), oLat = ws.f(Buf.MLA_OLAT, T * heads * kvRank);
        // every head's W_UK^h and W_UV^h decoded once (a block-typed GGUF's kB/vB halves are decoded while packed)
        float[] wKvb = kB != null ? null : ws.f(Buf.MLA_WHEAD, heads * (nope + vDim) * kvRank);
        float[] scores = ws.f(Buf.MLA_SCORES, threads * per);
        long t00 = StepProfile.start();
        if (wKvb != null) decodeRows(kvBProj(), 0, heads * (nope + vDim), wKvb);
        Parallel.parallelFor(tiles, (i, w) -> {
            int t0 = (tiles - 1 - i) * tile, n = Math.min(tile, T - t0), len = startPos + t0 + n, rows = n * heads, so = w * per;
            for (int h = 0; h < heads; h++)
                if (wKvb == null)
                    Gemm.linearSlice(qAbs, t0 * heads * kvRank + h * kvRank, heads * kvRank, q, t0 * qWidth + h * qkDim, qWidth, n,
                            kB, h * kvRank, kvRank);
                else
                    Gemm.sgemm(false, false, n, kvRank, nope, 1f, q, t0 * qWidth + h * qkDim, qWidth,
                            wKvb, h * (nope + vDim) * kvRank, kvRank, 0f, qAbs, t0 * heads * kvRank + h * kvRank, heads * kvRank);
            Gemm.sgemm(false, true, rows, len, kvRank, softmaxScale, qAbs, t0 * heads * kvRank, kvRank,
                    lat, 0, aWidth, 0f, scores, so, len);
            Gemm.sgemm(false, true, rows, len, rope, softmaxScale, q, t0 * qWidth + nope, qkDim,
                    lat, kvRank, aWidth, 1f, scores, so, len);
            causalSoftmax(scores, so, n, len, startPos + t0, heads);
            Gemm.sgemm(false, false, rows, kvRank, len, 1f, scores, so, len, lat, 0, aWidth,
                    0f, oLat, t0 * heads * kvRank, kvRank);
            for (int h = 0; h < heads; h++)
                if (wKvb == null)
                    Gemm.linearSlice(oHeads, t0 * heads * vDim + h * vDim, heads * vDim, oLat, t0 * heads * kvRank + h * kvRank,
                            heads * kvRank, n, vB, h * vDim, vDim);
                else
                    Gemm.sgemm(false, true, n, vDim, kvRank, 1f, oLat, t0 * heads * kvRank + h * kvRank, heads * kvRank,
                            wKvb, (h * (nope + vDim) + nope) * kvRank, kvRank, 0f, oHeads, t0 * heads * vDim + h * vDim, heads * vDim);
        });
        StepProfile.stop(Phase.ATTN_HEADS, t00);
    }

    /**
     * ABSORB calls with at most this many query rows (decode, speculative verify; a batch engine step always) run
     * {@link #attendHeads}; longer ones (prefill) the tiled per-head GEMMs of {@link #attendAbsorbed} (tests lower it to
     * reach that path with few tokens). System property {@code jseek.attnRowsMaxT} (default {@link Gemm#GEMV_MAX_M}):
     * the batch engine's 64-token prefill chunks take attendHeads by default, which costs more work than the tiled
     * path in one thread (docs/serving.md, "Stacked prefill"); speculative verify needs at least its row count here.
     */
    static int rowProductsMaxT = Integer.getInteger("jseek.attnRowsMaxT", Gemm.GEMV_MAX_M);

    /** Below this many multiply-adds {@link #attendHeads} runs on the calling thread (a parallel section costs more). */
    private static final long SERIAL_MACS = 1L << 17;

    /** {@link #attendQueryBlocked} (default) or {@link #attendQuery} (system property {@code jseek.attnBlocked=false}): the same bits. */
    static boolean blocked = Boolean.parseBoolean(System.getProperty("jseek.attnBlocked", "true"));

    /** Keys per tile of {@link #attendQuery}: a tile of latent rows stays in L2 while every head of a group reads it. */
    private static final int KEY_TILE = 64;

    /**
     * Absorbed attention (docs/architecture.md §3.3) of a few query rows as one parallel job over groups of heads
     * (one group per pool thread): per head, q_abs = W_UK^T q_nope ({@link #absorbHead}: from {@link #kB} by the GEMV
     * kernel, or from kv_b rows decoded one at a time), per query the scores against its cache, softmax and o_lat = P c_kv ({@link #attendQuery}),
     * then o = W_UV o_lat ({@link #expandHead}). Query t reads cache {@code caches[t]} at position {@code positions[t]}
     * (caches null: {@code cache} at startPos + t), up to and including its own position; paged caches are read
     * block by block where they lie. Every value of query t is computed the same way whatever the other rows are, so a
     * row's result does not depend on how many rows the call has (speculative verify, batch invariance).
     */
    private void attendHeads(float[] q, int T, KvCache cache, int startPos, KvCache[] caches, int[] positions, int layer,
                             float[] oHeads, Workspace ws) {
        long t0 = StepProfile.start();
        int maxLen = 0;
        for (int t = 0; t < T; t++) maxLen = Math.max(maxLen, (caches == null ? startPos + t : positions[t]) + 1);
        float[] qAbs = ws.f(Buf.MLA_QABS, T * heads * kvRank), oLat = ws.f(Buf.MLA_OLAT, T * heads * kvRank);
        int threads = Parallel.threads(), per = (heads + threads - 1) / threads, groups = (heads + per - 1) / per, len = maxLen;
        float[] rows = ws.f(Buf.MLA_WHEAD, threads * kvRank), scores = ws.f(Buf.MLA_SCORES, threads * per * maxLen);
        float[] partial = blocked ? ws.f(Buf.MLA_PARTIAL, threads * KEY_TILE * Vec.LANES) : null;
        Parallel.Task body = (g, w) -> {
            int h0 = g * per, h1 = Math.min(heads, h0 + per);
            for (int h = h0; h < h1; h++) absorbHead(h, q, T, qAbs, rows, w * kvRank);
            for (int t = 0; t < T; t++) {
                KvCache c = caches == null ? cache : caches[t];
                int pos = caches == null ? startPos + t : positions[t];
                if (partial != null) attendQueryBlocked(t, h0, h1, c, pos, layer, qAbs, q, oLat, scores, w * per * len, partial, w * KEY_TILE * Vec.LANES);
                else attendQuery(t, h0, h1, c, pos, layer, qAbs, q, oLat, scores, w * per * len);
            }
            for (int h = h0; h < h1; h++) expandHead(h, oLat, T, oHeads);
        };
        // multiply-adds: kv_b rows once per head and row, scores and P c_kv per head, row and key
        long macs = (long) heads * T * ((long) (nope + vDim) * kvRank + (long) maxLen * (2 * kvRank + rope));
        if (macs < SERIAL_MACS) for (int g = 0; g < groups; g++) body.run(g, 0);
        else Parallel.parallelFor(groups, body);
        StepProfile.stop(Phase.ATTN_HEADS, t0);
    }

    /**
     * Heads h0..h1-1 of query row t at position pos against rows 0..pos of cache c (layer): scores
     * σ (q_abs · c_kv_j + q_pe · k_pe_j) into s[so + (h - h0) len + j], softmax, o_lat = Σ_j P_j c_kv_j into
     * oLat [t][h] (summed over j ascending with one fused multiply-add per element).
     */
    private void attendQuery(int t, int h0, int h1, KvCache c, int pos, int layer, float[] qAbs, float[] q, float[] oLat,
                             float[] s, int so) {
        int len = pos + 1, w = kvRank + rope, qWidth = heads * qkDim;
        for (int j0 = 0; j0 < len; ) {
            float[] lat = c.latentArray(layer, j0);
            int off = c.latentOffset(layer, j0), n = Math.min(KEY_TILE, Math.min(len - j0, c.latentRun(j0)));
            for (int h = h0; h < h1; h++) {
                int qa = (t * heads + h) * kvRank, qp = t * qWidth + h * qkDim + nope, sh = so + (h - h0) * len + j0;
                for (int j = 0; j < n; j++) s[sh + j] = softmaxScale * score(qAbs, qa, q, qp, lat, off + j * w);
            }
            j0 += n;
        }
        for (int h = h0; h < h1; h++) {
            Ops.softmax(s, so + (h - h0) * len, len);
            java.util.Arrays.fill(oLat, (t * heads + h) * kvRank, (t * heads + h + 1) * kvRank, 0f);
        }
        for (int j0 = 0; j0 < len; ) {
            float[] lat = c.latentArray(layer, j0);
            int off = c.latentOffset(layer, j0), n = Math.min(KEY_TILE, Math.min(len - j0, c.latentRun(j0)));
            for (int h = h0; h < h1; h++) {
                int sh = so + (h - h0) * len + j0, o = (t * heads + h) * kvRank;
                for (int j = 0; j < n; j++) fmaInto(s[sh + j], lat, off + j * w, oLat, o, kvRank);
            }
            j0 += n;
        }
    }

    /**
     * {@link #attendQuery}'s values, bit for bit, with less work per key (the default; system property
     * {@code jseek.attnBlocked=false}: attendQuery, for comparison). Scores: four keys at a time, each with
     * {@link #score}'s two accumulators (so four independent chains, and each q vector loaded once for the four), the
     * accumulators' sums stored and their lanes added in {@link Vec#sum}'s order by plain loads instead of sixteen
     * lane extractions per key. o_lat: per head, four vectors of o_lat at a time held in registers over all keys
     * (each lane is the same chain of fused multiply-adds over ascending keys, from zero, as {@link #fmaInto}'s
     * loads and stores of o_lat per key compute it).
     */
    private void attendQueryBlocked(int t, int h0, int h1, KvCache c, int pos, int layer, float[] qAbs, float[] q, float[] oLat,
                                    float[] s, int so, float[] part, int po) {
        int len = pos + 1, w = kvRank + rope, qWidth = heads * qkDim, L = Vec.LANES;
        for (int j0 = 0; j0 < len; ) {
            float[] lat = c.latentArray(layer, j0);
            int off = c.latentOffset(layer, j0), n = Math.min(KEY_TILE, Math.min(len - j0, c.latentRun(j0)));
            for (int h = h0; h < h1; h++) {
                int qa = (t * heads + h) * kvRank, qp = t * qWidth + h * qkDim + nope, sh = so + (h - h0) * len + j0;
                int j = 0;
                for (; j + 4 <= n; j += 4) partial4(qAbs, qa, q, qp, lat, off + j * w, w, part, po + j * L);
                for (; j < n; j++) partial1(qAbs, qa, q, qp, lat, off + j * w, part, po + j * L);
                for (j = 0; j < n; j++) {
                    int pj = po + j * L;
                    float sum = 0f;
                    for (int i = 0; i < L; i++) sum += part[pj + i];
                    int lo = off + j * w;
                    for (int i = kvRank - kvRank % L; i < kvRank; i++) sum += qAbs[qa + i] * lat[lo + i];
                    for (int i = rope - rope % L; i < rope; i++) sum += q[qp + i] * lat[lo + kvRank + i];
                    s[sh + j] = softmaxScale * sum;
                }
            }
            j0 += n;
        }
        for (int h = h0; h < h1; h++) Ops.softmax(s, so + (h - h0) * len, len);
        int cv = kvRank - kvRank % L;
        for (int h = h0; h < h1; h++) {
            int o = (t * heads + h) * kvRank, sh = so + (h - h0) * len;
            int ci = 0;
            for (; ci + 4 * L <= cv; ci += 4 * L) values4(c, layer, len, w, s, sh, ci, oLat, o + ci);
            for (; ci < cv; ci += L) values1(c, layer, len, w, s, sh, ci, oLat, o + ci);
            for (int i = cv; i < kvRank; i++) {
                float acc = 0f;
                for (int j = 0; j < len; j++) acc = Math.fma(s[sh + j], c.latentArray(layer, j)[c.latentOffset(layer, j) + i], acc);
                oLat[o + i] = acc;
            }
        }
    }

    /** {@link #score}'s vector accumulators a0 + a1 of the 4 latent rows at lat[lo ..], lat[lo + w ..], ... into part[po ..] (one vector each). */
    private void partial4(float[] qAbs, int qa, float[] q, int qp, float[] lat, int lo, int w, float[] part, int po) {
        int L = Vec.LANES, i = 0, j = 0, l1 = lo + w, l2 = l1 + w, l3 = l2 + w;
        FloatVector z = FloatVector.zero(Vec.F), a0 = z, a1 = z, b0 = z, b1 = z, c0 = z, c1 = z, d0 = z, d1 = z;
        for (; i + 2 * L <= kvRank; i += 2 * L) {
            FloatVector u = FloatVector.fromArray(Vec.F, qAbs, qa + i), v = FloatVector.fromArray(Vec.F, qAbs, qa + i + L);
            a0 = u.fma(FloatVector.fromArray(Vec.F, lat, lo + i), a0);
            a1 = v.fma(FloatVector.fromArray(Vec.F, lat, lo + i + L), a1);
            b0 = u.fma(FloatVector.fromArray(Vec.F, lat, l1 + i), b0);
            b1 = v.fma(FloatVector.fromArray(Vec.F, lat, l1 + i + L), b1);
            c0 = u.fma(FloatVector.fromArray(Vec.F, lat, l2 + i), c0);
            c1 = v.fma(FloatVector.fromArray(Vec.F, lat, l2 + i + L), c1);
            d0 = u.fma(FloatVector.fromArray(Vec.F, lat, l3 + i), d0);
            d1 = v.fma(FloatVector.fromArray(Vec.F, lat, l3 + i + L), d1);
        }
        for (; i + L <= kvRank; i += L) {
            FloatVector u = FloatVector.fromArray(Vec.F, qAbs, qa + i);
            a0 = u.fma(FloatVector.fromArray(Vec.F, lat, lo + i), a0);
            b0 = u.fma(FloatVector.fromArray(Vec.F, lat, l1 + i), b0);
            c0 = u.fma(FloatVector.fromArray(Vec.F, lat, l2 + i), c0);
            d0 = u.fma(FloatVector.fromArray(Vec.F, lat, l3 + i), d0);
        }
        for (; j + L <= rope; j += L) {
            FloatVector u = FloatVector.fromArray(Vec.F, q, qp + j);
            a1 = u.fma(FloatVector.fromArray(Vec.F, lat, lo + kvRank + j), a1);
            b1 = u.fma(FloatVector.fromArray(Vec.F, lat, l1 + kvRank + j), b1);
            c1 = u.fma(FloatVector.fromArray(Vec.F, lat, l2 + kvRank + j), c1);
            d1 = u.fma(FloatVector.fromArray(Vec.F, lat, l3 + kvRank + j), d1);
        }
        a0.add(a1).intoArray(part, po);
        b0.add(b1).intoArray(part, po + L);
        c0.add(c1).intoArray(part, po + 2 * L);
        d0.add(d1).intoArray(part, po + 3 * L);
    }

    /** {@link #partial4} for one latent row. */
    private void partial1(float[] qAbs, int qa, float[] q, int qp, float[] lat, int lo, float[] part, int po) {
        partialVector(qAbs, qa, q, qp, lat, lo).intoArray(part, po);
    }

    /**
     * The vector part of q_abs · c_kv + q_pe · k_pe for the latent row at lat[lo ..]: whole vectors of c_kv (two
     * accumulators), then of k_pe (into the second), the two added; the scalar tails are {@link #score}'s.
     */
    private FloatVector partialVector(float[] qAbs, int qa, float[] q, int qp, float[] lat, int lo) {
        int L = Vec.LANES, i = 0, j = 0;
        FloatVector a0 = FloatVector.zero(Vec.F), a1 = a0;
        for (; i + 2 * L <= kvRank; i += 2 * L) {
            a0 = FloatVector.fromArray(Vec.F, qAbs, qa + i).fma(FloatVector.fromArray(Vec.F, lat, lo + i), a0);
            a1 = FloatVector.fromArray(Vec.F, qAbs, qa + i + L).fma(FloatVector.fromArray(Vec.F, lat, lo + i + L), a1);
        }
        for (; i + L <= kvRank; i += L) a0 = FloatVector.fromArray(Vec.F, qAbs, qa + i).fma(FloatVector.fromArray(Vec.F, lat, lo + i), a0);
        for (; j + L <= rope; j += L) a1 = FloatVector.fromArray(Vec.F, q, qp + j).fma(FloatVector.fromArray(Vec.F, lat, lo + kvRank + j), a1);
        return a0.add(a1);
    }

    /** oLat[o .. o + 4L) = Σ_j p_j c_kv_j[ci .. ci + 4L) over keys 0..len-1 ascending, fused multiply-adds from zero. */
    private static void values4(KvCache c, int layer, int len, int w, float[] s, int sh, int ci, float[] oLat, int o) {
        int L = Vec.LANES;
        FloatVector z = FloatVector.zero(Vec.F), a0 = z, a1 = z, a2 = z, a3 = z;
        for (int j0 = 0; j0 < len; ) {
            float[] lat = c.latentArray(layer, j0);
            int off = c.latentOffset(layer, j0) + ci, n = Math.min(len - j0, c.latentRun(j0));
            for (int j = 0; j < n; j++) {
                FloatVector p = FloatVector.broadcast(Vec.F, s[sh + j0 + j]);
                int r = off + j * w;
                a0 = p.fma(FloatVector.fromArray(Vec.F, lat, r), a0);
                a1 = p.fma(FloatVector.fromArray(Vec.F, lat, r + L), a1);
                a2 = p.fma(FloatVector.fromArray(Vec.F, lat, r + 2 * L), a2);
                a3 = p.fma(FloatVector.fromArray(Vec.F, lat, r + 3 * L), a3);
            }
            j0 += n;
        }
        a0.intoArray(oLat, o);
        a1.intoArray(oLat, o + L);
        a2.intoArray(oLat, o + 2 * L);
        a3.intoArray(oLat, o + 3 * L);
    }

    /** {@link #values4} for one vector of o_lat. */
    private static void values1(KvCache c, int layer, int len, int w, float[] s, int sh, int ci, float[] oLat, int o) {
        FloatVector a = FloatVector.zero(Vec.F);
        for (int j0 = 0; j0 < len; ) {
            float[] lat = c.latentArray(layer, j0);
            int off = c.latentOffset(layer, j0) + ci, n = Math.min(len - j0, c.latentRun(j0));
            for (int j = 0; j < n; j++) a = FloatVector.broadcast(Vec.F, s[sh + j0 + j]).fma(FloatVector.fromArray(Vec.F, lat, off + j * w), a);
            j0 += n;
        }
        a.intoArray(oLat, o);
    }

    /** q_abs · c_kv + q_pe · k_pe for the latent row at lat[lo ..] = [c_kv | k_pe]: vector partial sums over both, one reduction, then the scalar tails. */
    private float score(float[] qAbs, int qa, float[] q, int qp, float[] lat, int lo) {
        int L = Vec.LANES, i = kvRank - kvRank % L, j = rope - rope % L;
        float sum = Vec.sum(partialVector(qAbs, qa, q, qp, lat, lo));
        for (; i < kvRank; i++) sum += qAbs[qa + i] * lat[lo + i];
        for (; j < rope; j++) sum += q[qp + j] * lat[lo + kvRank + j];
        return sum;
    }

    /** q_abs [T][heads][kvRank] = W_UK^h^T q_nope^h for every query row and head (in {@link Buf#MLA_QABS}). */
    private float[] absorbQueries(float[] q, int T, Workspace ws) {
        int qWidth = heads * qkDim;
        float[] qAbs = ws.f(Buf.MLA_QABS, T * heads * kvRank);
        long t0 = StepProfile.start();
        if (kB != null) { // q_abs^h = q_nope^h kB^h^T, kB^h = W_UK^h^T [kvRank, nope] decoded while packed
            for (int h = 0; h < heads; h++)
                Gemm.linearSlice(qAbs, h * kvRank, heads * kvRank, q, h * qkDim, qWidth, T, kB, h * kvRank, kvRank);
            StepProfile.stop(Phase.ATTN_ABSORB, t0);
            return qAbs;
        }
        float[] wHead = ws.f(Buf.MLA_WHEAD, Math.max(nope, vDim) * kvRank);
        for (int h = 0; h < heads; h++) {
            decodeRows(kvBProj, h * (nope + vDim), nope, wHead);                    // W_UK^h [nope, kvRank]
            Gemm.sgemm(false, false, T, kvRank, nope, 1f, q, h * qkDim, qWidth, wHead, 0, kvRank,
                    0f, qAbs, h * kvRank, heads * kvRank);
        }
        StepProfile.stop(Phase.ATTN_ABSORB, t0);
        return qAbs;
    }

    /**
     * Query rows t0..t0+n-1 (the first at absolute position pos0) against latent rows 0..len-1: scores, causal
     * softmax, o_lat rows.
     */
    private void attendTile(float[] qAbs, float[] q, int t0, int n, int pos0, int len, float[] lat, float[] oLat,
                            Workspace ws) {
        int qWidth = heads * qkDim, aWidth = kvRank + rope, rows = n * heads;
        float[] scores = ws.f(Buf.MLA_SCORES, rows * len);
        long start = StepProfile.start();
        Gemm.sgemm(false, true, rows, len, kvRank, softmaxScale, qAbs, t0 * heads * kvRank, kvRank,
                lat, 0, aWidth, 0f, scores, 0, len);
        Gemm.sgemm(false, true, rows, len, rope, softmaxScale, q, t0 * qWidth + nope, qkDim,
                lat, kvRank, aWidth, 1f, scores, 0, len);
        causalSoftmax(scores, n, len, pos0, heads);
        Gemm.sgemm(false, false, rows, kvRank, len, 1f, scores, 0, len, lat, 0, aWidth,
                0f, oLat, t0 * heads * kvRank, kvRank);
        StepProfile.stop(Phase.ATTN_CORE, start);
    }

    /**
     * The absorb of a head without {@link #kB} by {@link Gemm#linearTransposedRows} (per query row, q_abs held in
     * registers while the head's W_UK rows stream past) unless the system property {@code jseek.absorbRows} is false
     * (then each W_UK row decoded once and added to every query row's q_abs in memory): the same bits.
     */
    static final boolean ABSORB_ROWS = Boolean.parseBoolean(System.getProperty("jseek.absorbRows", "true"));

    /**
     * Head h of {@link #absorbQueries} for T query rows: q_abs^h[c] = Σ_p q_nope^h[p] W_UK^h[p][c]. With {@link #kB}:
     * the kvRank rows of kB^h times each row's q_nope^h by the weight type's GEMV kernel ({@link Gemm#linearRows});
     * else from zero with one fused multiply-add per element and W_UK row, p ascending (the order in which the GEMM's
     * micro-kernel sums a single k slice; {@link #ABSORB_ROWS}).
     */
    private void absorbHead(int h, float[] q, int T, float[] qAbs, float[] row, int ro) {
        int qWidth = heads * qkDim, stride = heads * kvRank;
        if (kB != null) {
            for (int t = 0; t < T; t++)
                Gemm.linearRows(qAbs, t * stride + h * kvRank, q, t * qWidth + h * qkDim, kB, h * kvRank, (h + 1) * kvRank);
            return;
        }
        if (ABSORB_ROWS) {
            for (int t = 0; t < T; t++)
                Gemm.linearTransposedRows(qAbs, t * stride + h * kvRank, q, t * qWidth + h * qkDim, kvBProj, h * (nope + vDim), nope);
            return;
        }
        for (int t = 0; t < T; t++) java.util.Arrays.fill(qAbs, t * stride + h * kvRank, t * stride + (h + 1) * kvRank, 0f);
        for (int p = 0; p < nope; p++) {
            WeightRows.decode(kvBProj, h * (nope + vDim) + p, 0, kvRank, row, ro);
            for (int t = 0; t < T; t++) fmaInto(q[t * qWidth + h * qkDim + p], row, ro, qAbs, t * stride + h * kvRank, kvRank);
        }
    }

    /**
     * Head h of {@link #expandValues} for T rows: o_h = W_UV^h o_lat_h, the kv_b rows of W_UV^h times each row's
     * o_lat_h by the GEMV kernel of the weight's type ({@link Gemm#linearRows}, on this thread).
     */
    private void expandHead(int h, float[] oLat, int T, float[] oHeads) {
        Matrix w = vB != null ? vB : kvBProj;
        int r0 = vB != null ? h * vDim : h * (nope + vDim) + nope;
        for (int t = 0; t < T; t++)
            Gemm.linearRows(oHeads, (t * heads + h) * vDim, oLat, (t * heads + h) * kvRank, w, r0, r0 + vDim);
    }

    /** y[yo + i] = fma(a, x[xo + i], y[yo + i]) for i < n. */
    private static void fmaInto(float a, float[] x, int xo, float[] y, int yo, int n) {
        FloatVector av = FloatVector.broadcast(Vec.F, a);
        int i = 0, L = Vec.LANES;
        for (; i + L <= n; i += L)
            av.fma(FloatVector.fromArray(Vec.F, x, xo + i), FloatVector.fromArray(Vec.F, y, yo + i)).intoArray(y, yo + i);
        for (; i < n; i++) y[yo + i] = Math.fma(a, x[xo + i], y[yo + i]);
    }

    /** o_h = W_UV^h o_lat_h for every row: oHeads [T][heads][vDim]. */
    private void expandValues(float[] oLat, int T, float[] oHeads, Workspace ws) {
        long t0 = StepProfile.start();
        if (vB != null) { // o^h = o_lat^h vB^h^T, vB^h = W_UV^h [vDim, kvRank] decoded while packed
            for (int h = 0; h < heads; h++)
                Gemm.linearSlice(oHeads, h * vDim, heads * vDim, oLat, h * kvRank, heads * kvRank, T, vB, h * vDim, vDim);
            StepProfile.stop(Phase.ATTN_EXPAND, t0);
            return;
        }
        float[] wHead = ws.f(Buf.MLA_WHEAD, Math.max(nope, vDim) * kvRank);
        for (int h = 0; h < heads; h++) {
            decodeRows(kvBProj, h * (nope + vDim) + nope, vDim, wHead);             // W_UV^h [vDim, kvRank]
            Gemm.sgemm(false, true, T, vDim, kvRank, 1f, oLat, h * kvRank, heads * kvRank, wHead, 0, kvRank,
                    0f, oHeads, h * vDim, heads * vDim);
        }
        StepProfile.stop(Phase.ATTN_EXPAND, t0);
    }

    /**
     * Softmax of score rows [n queries × rowsPerQuery][len]: query i (absolute position pos0 + i) keeps keys
     * 0..pos0+i; later keys get probability 0.
     */
    private static void causalSoftmax(float[] s, int n, int len, int pos0, int rowsPerQuery) {
        causalSoftmax(s, 0, n, len, pos0, rowsPerQuery);
    }

    /** {@link #causalSoftmax} of the score rows at s[so ..]. */
    private static void causalSoftmax(float[] s, int so, int n, int len, int pos0, int rowsPerQuery) {
        for (int i = 0; i < n; i++) {
            int keep = pos0 + i + 1;
            for (int r = 0; r < rowsPerQuery; r++) {
                int off = so + (i * rowsPerQuery + r) * len;
                Ops.softmax(s, off, keep);
                java.util.Arrays.fill(s, off + keep, off + len, 0f);
            }
        }
    }

    private static void decodeRows(Matrix w, int row0, int n, float[] dst) {
        for (int r = 0; r < n; r++) WeightRows.decodeRow(w, row0 + r, dst, r * w.cols());
    }
}
