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
    /** kv_a_proj_with_mqa [kv_lora_rank + rope, dim], kv_a_layernorm [kv_lora_rank], kv_b_proj, o_proj [dim, heads·vDim]. */
    public final Matrix kvAProj, kvBProj, oProj;
    public final RmsNorm kvANorm;

    public Mla(ModelConfig cfg, Matrix qProj, Matrix qAProj, RmsNorm qANorm, Matrix qBProj,
               Matrix kvAProj, RmsNorm kvANorm, Matrix kvBProj, Matrix oProj) {
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
        this.kvBProj = kvBProj;
        this.oProj = oProj;
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
        return new Mla(cfg, q, qa, qn, qb,
                w.matrix(s.get(layer, TensorSchema.Slot.KV_A)),
                RmsNorm.load(w, s.get(layer, TensorSchema.Slot.KV_A_NORM), cfg),
                w.matrix(s.get(layer, TensorSchema.Slot.KV_B)),
                w.matrix(s.get(layer, TensorSchema.Slot.O)));
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
        if (cache.mode == AttnMode.ABSORB) {
            long t0 = StepProfile.start();
            for (int t = 0; t < T; t++) cache.writeLatent(layer, startPos + t, ckv, t * kvRank, a, t * aWidth + kvRank);
            float[] lat = cache.latentRows(layer, startPos + T, cache.isPaged() ? ws.f(Buf.MLA_LAT, (startPos + T) * aWidth) : null);
            StepProfile.stop(Phase.CACHE, t0);
            attendAbsorbed(q, T, startPos, lat, oHeads, ws);
        } else {
            float[] kc = cache.keys(layer), vc = cache.values(layer);
            int kvbWidth = heads * (nope + vDim);
            float[] kv = ws.f(Buf.MLA_KV, T * kvbWidth);
            Gemm.linear(kv, 0, ckv, 0, T, kvBProj, false);
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
        int maxEnd = 0;
        long t0 = StepProfile.start();
        for (int i = 0; i < M; i++) {
            if (caches[i].mode != AttnMode.ABSORB) throw new IllegalArgumentException("batched decode needs ABSORB caches");
            caches[i].writeLatent(layer, positions[i], ckv, i * kvRank, a, i * aWidth + kvRank);
            maxEnd = Math.max(maxEnd, positions[i] + 1);
        }
        StepProfile.stop(Phase.CACHE, t0);
        float[] qAbs = absorbQueries(q, M, ws);
        float[] oLat = ws.f(Buf.MLA_OLAT, M * heads * kvRank);
        float[] scratch = ws.f(Buf.MLA_LAT, maxEnd * aWidth);
        for (int i = 0; i < M; i++) {
            int end = positions[i] + 1;
            t0 = StepProfile.start();
            float[] lat = caches[i].latentRows(layer, end, caches[i].isPaged() ? scratch : null);
            StepProfile.stop(Phase.CACHE, t0);
            attendTile(qAbs, q, i, 1, positions[i], end, lat, oLat, ws);
        }
        float[] oHeads = ws.f(Buf.MLA_OHEADS, M * heads * vDim);
        expandValues(oLat, M, oHeads, ws);
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

        float[] ckv = ws.f(Buf.MLA_CKV, T * kvRank);
        t0 = StepProfile.start();
        kvANorm.forward(a, 0, aWidth, ckv, 0, kvRank, T);
        StepProfile.stop(Phase.NORM, t0);
        t0 = StepProfile.start();
        for (int t = 0; t < T; t++) Ops.ropeInterleaved(a, t * aWidth + kvRank, cos, sin, t * half, half);
        StepProfile.stop(Phase.ROPE, t0);
        return q;
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
     * Calls with at most this many query rows (decode, speculative verify, a batch engine step) absorb and expand
     * head by head from kv_b rows decoded one at a time ({@link #absorbHead}, {@link #expandHead}), the heads spread
     * over the pool in one job each; longer calls (prefill) run per-head GEMMs. Per query row the values do not depend
     * on how many rows the call has.
     */
    static final int ROW_PRODUCTS_MAX_T = Gemm.GEMV_MAX_M;

    /** q_abs [T][heads][kvRank] = W_UK^h^T q_nope^h for every query row and head (in {@link Buf#MLA_QABS}). */
    private float[] absorbQueries(float[] q, int T, Workspace ws) {
        int qWidth = heads * qkDim;
        float[] qAbs = ws.f(Buf.MLA_QABS, T * heads * kvRank);
        long t0 = StepProfile.start();
        if (T <= ROW_PRODUCTS_MAX_T) {
            float[] rows = ws.f(Buf.MLA_WHEAD, Parallel.threads() * kvRank);
            Parallel.parallelFor(heads, (h, w) -> absorbHead(h, q, T, qAbs, rows, w * kvRank));
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
     * Head h of {@link #absorbQueries} for T query rows: q_abs^h[c] = Σ_p q_nope^h[p] W_UK^h[p][c], each W_UK row
     * decoded once into row[ro ..] and applied to every query with one fused multiply-add per element, p ascending
     * (the order in which the GEMM's micro-kernel sums a single k slice).
     */
    private void absorbHead(int h, float[] q, int T, float[] qAbs, float[] row, int ro) {
        int qWidth = heads * qkDim, stride = heads * kvRank;
        for (int t = 0; t < T; t++) java.util.Arrays.fill(qAbs, t * stride + h * kvRank, t * stride + (h + 1) * kvRank, 0f);
        for (int p = 0; p < nope; p++) {
            WeightRows.decode(kvBProj, h * (nope + vDim) + p, 0, kvRank, row, ro);
            for (int t = 0; t < T; t++) fmaInto(q[t * qWidth + h * qkDim + p], row, ro, qAbs, t * stride + h * kvRank, kvRank);
        }
    }

    /** Head h of {@link #expandValues} for T rows: o_h[v] = W_UV^h[v] · o_lat_h, each W_UV row decoded once into row[ro ..]. */
    private void expandHead(int h, float[] oLat, int T, float[] oHeads, float[] row, int ro) {
        for (int v = 0; v < vDim; v++) {
            WeightRows.decode(kvBProj, h * (nope + vDim) + nope + v, 0, kvRank, row, ro);
            for (int t = 0; t < T; t++)
                oHeads[(t * heads + h) * vDim + v] = Ops.dot(row, ro, oLat, (t * heads + h) * kvRank, kvRank);
        }
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
        if (T <= ROW_PRODUCTS_MAX_T) {
            float[] rows = ws.f(Buf.MLA_WHEAD, Parallel.threads() * kvRank);
            Parallel.parallelFor(heads, (h, w) -> expandHead(h, oLat, T, oHeads, rows, w * kvRank));
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
        for (int i = 0; i < n; i++) {
            int keep = pos0 + i + 1;
            for (int r = 0; r < rowsPerQuery; r++) {
                int off = (i * rowsPerQuery + r) * len;
                Ops.softmax(s, off, keep);
                java.util.Arrays.fill(s, off + keep, off + len, 0f);
            }
        }
    }

    private static void decodeRows(Matrix w, int row0, int n, float[] dst) {
        for (int r = 0; r < n; r++) WeightRows.decodeRow(w, row0 + r, dst, r * w.cols());
    }
}
