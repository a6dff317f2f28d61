package dev.jseek.model;

import dev.jseek.model.StepProfile.Phase;
import dev.jseek.model.Workspace.Buf;

/**
 * One pre-norm transformer block (docs/architecture.md §3.6): h ← h + MLA(attn_norm(h)); h ← h + FFN(ffn_norm(h)), with FFN the
 * dense {@link Mlp} for layers below first_k_dense_replace and the {@link Moe} otherwise.
 *
 * @param layer this block's index in the {@link KvCache} it reads and writes
 */
public record Block(int layer, RmsNorm attnNorm, Mla attn, RmsNorm ffnNorm, FeedForward ffn) {
    /**
     * Loads "model.layers.{layerId}." ({@code layerId} is the checkpoint id: MTP blocks continue after the main
     * layers); {@code cacheLayer} is the index used in the cache.
     */
    public static Block load(WeightSource w, TensorSchema s, int layerId, int cacheLayer) {
        ModelConfig cfg = s.config();
        FeedForward ffn = cfg.isMoeLayer(layerId)
                ? Moe.load(w, s, layerId)
                : Mlp.load(w, s.get(layerId, TensorSchema.Slot.MLP_GATE), s.get(layerId, TensorSchema.Slot.MLP_UP),
                        s.get(layerId, TensorSchema.Slot.MLP_DOWN));
        return new Block(cacheLayer,
                RmsNorm.load(w, s.get(layerId, TensorSchema.Slot.ATTN_NORM), cfg),
                Mla.load(w, s, layerId),
                RmsNorm.load(w, s.get(layerId, TensorSchema.Slot.FFN_NORM), cfg),
                ffn);
    }

    /** Updates h[T, dim] in place for the tokens at positions startPos..startPos+T-1. */
    public void forward(float[] h, int T, int startPos, KvCache cache, float[] cos, float[] sin, Workspace ws) {
        int n = T * attnNorm.dim();
        float[] x = ws.f(Buf.BLOCK_X, n), y = ws.f(Buf.BLOCK_Y, n);
        norm(attnNorm, h, x, T);
        attn.forward(x, T, startPos, cache, layer, cos, sin, y, ws);
        residualAndFfn(h, x, y, n, T, ws);
    }

    /**
     * The attention cache entries of T rows of h at positions startPos.., bitwise those {@link #forward} writes, without
     * computing the rows' outputs (h is left as it is; ABSORB caches, {@link Mla#writeCache}).
     */
    void writeCache(float[] h, int T, int startPos, KvCache cache, float[] cos, float[] sin, Workspace ws) {
        float[] x = ws.f(Buf.BLOCK_X, T * attnNorm.dim());
        long t0 = StepProfile.start();
        attnNorm.forward(h, x, T);
        StepProfile.stop(Phase.NORM, t0);
        attn.writeCache(x, T, startPos, cache, layer, cos, sin, ws);
    }

    /**
     * Updates h[M, dim] in place for a decode step of M sequences: row i is sequence i's newest token at
     * positions[i] with cache caches[i] ({@link Mla#forwardBatch}). The FFN runs over all M rows at once (the MoE
     * groups them by expert).
     */
    public void forwardBatch(float[] h, int M, int[] positions, KvCache[] caches, float[] cos, float[] sin, Workspace ws) {
        int n = M * attnNorm.dim();
        float[] x = ws.f(Buf.BLOCK_X, n), y = ws.f(Buf.BLOCK_Y, n);
        norm(attnNorm, h, x, M);
        attn.forwardBatch(x, M, positions, caches, layer, cos, sin, y, ws);
        residualAndFfn(h, x, y, n, M, ws);
    }

    /**
     * Updates h[R, dim] in place for several segments stacked as rows (the batch engine's stacked prefill): segment i
     * is rows segStart[i] .. segStart[i+1]-1, tokens at positions startPos[i].. of cache caches[i]; cos/sin hold one
     * row per row of h. Attention (and a dense FFN) run segment by segment, each exactly as {@link #forward} runs it
     * alone, in order (so a segment may continue the one before it in the same cache: it reads that segment's rows of
     * this layer); the MoE runs all rows at once ({@link Moe#forwardStacked}). So when {@link Moe#stackable} holds,
     * every row is bitwise what {@link #forward} of its segment alone gives.
     */
    public void forwardStacked(float[] h, int R, int[] segStart, int segs, int[] startPos, KvCache[] caches, float[] cos,
                               float[] sin, Workspace ws) {
        int dim = attnNorm.dim(), n = R * dim, half = attn.rope / 2;
        float[] x = ws.f(Buf.BLOCK_X, n), y = ws.f(Buf.BLOCK_Y, n);
        norm(attnNorm, h, x, R);
        for (int i = 0; i < segs; i++) {
            int r0 = segStart[i], T = segStart[i + 1] - r0;
            float[] xs = ws.f(Buf.STACK_X, T * dim), ys = ws.f(Buf.STACK_Y, T * dim);
            float[] cs = ws.f(Buf.STACK_COS, T * half), sn = ws.f(Buf.STACK_SIN, T * half);
            System.arraycopy(x, r0 * dim, xs, 0, T * dim);
            System.arraycopy(cos, r0 * half, cs, 0, T * half);
            System.arraycopy(sin, r0 * half, sn, 0, T * half);
            attn.forward(xs, T, startPos[i], caches[i], layer, cs, sn, ys, ws);
            System.arraycopy(ys, 0, y, r0 * dim, T * dim);
        }
        addResidual(h, y, n);
        norm(ffnNorm, h, x, R);
        if (ffn instanceof Moe moe) moe.forwardStacked(x, R, segStart, segs, y, ws);
        else for (int i = 0; i < segs; i++) {
            int r0 = segStart[i], T = segStart[i + 1] - r0;
            float[] xs = ws.f(Buf.STACK_X, T * dim), ys = ws.f(Buf.STACK_Y, T * dim);
            System.arraycopy(x, r0 * dim, xs, 0, T * dim);
            ffn.forward(xs, T, ys, ws);
            System.arraycopy(ys, 0, y, r0 * dim, T * dim);
        }
        addResidual(h, y, n);
    }

    /** h += y (the attention output), then the FFN's residual branch h += FFN(RMSNorm(h)) over {@code rows} rows (x, y: scratch). */
    private void residualAndFfn(float[] h, float[] x, float[] y, int n, int rows, Workspace ws) {
        addResidual(h, y, n);
        norm(ffnNorm, h, x, rows);
        ffn.forward(x, rows, y, ws);
        addResidual(h, y, n);
    }

    /** out = norm(h) over {@code rows} rows, timed as {@link Phase#NORM}. */
    private static void norm(RmsNorm norm, float[] h, float[] out, int rows) {
        long t0 = StepProfile.start();
        norm.forward(h, out, rows);
        StepProfile.stop(Phase.NORM, t0);
    }

    /** h[0..n) += y, the residual connection, timed as {@link Phase#RESIDUAL}. */
    private static void addResidual(float[] h, float[] y, int n) {
        long t0 = StepProfile.start();
        for (int i = 0; i < n; i++) h[i] += y[i];
        StepProfile.stop(Phase.RESIDUAL, t0);
    }
}
