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
        long t0 = StepProfile.start();
        attnNorm.forward(h, x, T);
        StepProfile.stop(Phase.NORM, t0);
        attn.forward(x, T, startPos, cache, layer, cos, sin, y, ws);
        residualAndFfn(h, x, y, n, T, ws);
    }

    /**
     * Updates h[M, dim] in place for a decode step of M sequences: row i is sequence i's newest token at
     * positions[i] with cache caches[i] ({@link Mla#forwardBatch}). The FFN runs over all M rows at once (the MoE
     * groups them by expert).
     */
    public void forwardBatch(float[] h, int M, int[] positions, KvCache[] caches, float[] cos, float[] sin, Workspace ws) {
        int n = M * attnNorm.dim();
        float[] x = ws.f(Buf.BLOCK_X, n), y = ws.f(Buf.BLOCK_Y, n);
        long t0 = StepProfile.start();
        attnNorm.forward(h, x, M);
        StepProfile.stop(Phase.NORM, t0);
        attn.forwardBatch(x, M, positions, caches, layer, cos, sin, y, ws);
        residualAndFfn(h, x, y, n, M, ws);
    }

    /** h += y (the attention output), then the FFN's residual branch h += FFN(RMSNorm(h)) over {@code rows} rows (x, y: scratch). */
    private void residualAndFfn(float[] h, float[] x, float[] y, int n, int rows, Workspace ws) {
        long t0 = StepProfile.start();
        for (int i = 0; i < n; i++) h[i] += y[i];
        StepProfile.stop(Phase.RESIDUAL, t0);
        t0 = StepProfile.start();
        ffnNorm.forward(h, x, rows);
        StepProfile.stop(Phase.NORM, t0);
        ffn.forward(x, rows, y, ws);
        t0 = StepProfile.start();
        for (int i = 0; i < n; i++) h[i] += y[i];
        StepProfile.stop(Phase.RESIDUAL, t0);
    }
}
