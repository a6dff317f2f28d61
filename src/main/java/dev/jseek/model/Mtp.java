package dev.jseek.model;

import dev.jseek.kernels.Gemm;
import dev.jseek.model.Workspace.Buf;
import dev.jseek.tensor.Matrix;

/**
 * One Multi-Token Prediction module (docs/architecture.md §6.1), checkpoint layer num_hidden_layers + k: for the pair (h_i, t_{i+1})
 * h'_i = eh_proj([enorm(Emb(t_{i+1})) ; hnorm(h_i)]) (embedding FIRST; h_i is the main model's hidden AFTER
 * model.norm), then a full transformer {@link Block} with its own cache, then shared_head.norm; the logits use the
 * main model's lm_head. Emb and the head are the main model's (the layer's own copies are not loaded).
 *
 * @param ehProj {@code eh_proj} [dim, 2·dim]
 */
public record Mtp(RmsNorm enorm, RmsNorm hnorm, Matrix ehProj, Block block, RmsNorm headNorm) {
    /** Loads "model.layers.{layerId}."; its block uses cache layer 0 of an MTP cache. */
    public static Mtp load(WeightSource w, TensorSchema s, int layerId) {
        ModelConfig cfg = s.config();
        return new Mtp(RmsNorm.load(w, s.get(layerId, TensorSchema.Slot.ENORM), cfg),
                RmsNorm.load(w, s.get(layerId, TensorSchema.Slot.HNORM), cfg),
                w.matrix(s.get(layerId, TensorSchema.Slot.EH_PROJ)),
                Block.load(w, s, layerId, 0),
                RmsNorm.load(w, s.get(layerId, TensorSchema.Slot.SHARED_HEAD_NORM), cfg));
    }

    /**
     * Checkpoint layer id of the first MTP module's tensors ("model.layers.{id}.eh_proj.weight" ...).
     */
    public static int firstLayerId(ModelConfig cfg) { return cfg.numHiddenLayers(); }

    /**
     * out[T, dim] = shared_head.norm(Block(eh_proj([enorm(emb[t]) ; hnorm(hidden[t])]))) for T pairs placed at
     * positions startPos..startPos+T-1; {@code emb} holds the embeddings of the next tokens [T, dim].
     */
    public void forward(float[] emb, float[] hidden, int T, int startPos, KvCache cache, float[] cos, float[] sin,
                        float[] out, Workspace ws) {
        float[] h = project(emb, hidden, T, ws);
        block.forward(h, T, startPos, cache, cos, sin, ws);
        headNorm.forward(h, out, T);
    }

    /**
     * The last row of {@link #forward} (out[dim]) and the same cache entries, bit for bit (up to
     * {@link Gemm#GEMV_MAX_M} pairs), for less work: the pairs before the last only write their cache entries
     * ({@link Block#writeCache}: no queries, attention or FFN for rows whose output nobody reads), then the last runs
     * the whole block against them. Speculative decoding's pending pairs, of which only the last drafts. NAIVE
     * caches run {@link #forward}. {@code half}: the width of a row of cos and sin (qk_rope_head_dim / 2).
     */
    public void forwardLast(float[] emb, float[] hidden, int T, int startPos, KvCache cache, float[] cos, float[] sin,
                            int half, float[] out, Workspace ws) {
        int dim = enorm.dim();
        if (cache.mode != AttnMode.ABSORB || T == 1) {
            float[] all = T == 1 ? out : new float[T * dim];
            forward(emb, hidden, T, startPos, cache, cos, sin, all, ws);
            if (T > 1) System.arraycopy(all, (T - 1) * dim, out, 0, dim);
            return;
        }
        float[] h = project(emb, hidden, T, ws);
        block.writeCache(h, T - 1, startPos, cache, cos, sin, ws);
        float[] last = java.util.Arrays.copyOfRange(h, (T - 1) * dim, T * dim);
        float[] c = java.util.Arrays.copyOfRange(cos, (T - 1) * half, T * half), s = java.util.Arrays.copyOfRange(sin, (T - 1) * half, T * half);
        block.forward(last, 1, startPos + T - 1, cache, c, s, ws);
        headNorm.forward(last, out, 1);
    }

    /** eh_proj([enorm(emb[r]) ; hnorm(hidden[r])]) for {@code rows} rows, into the workspace's MTP_H buffer (returned). */
    private float[] project(float[] emb, float[] hidden, int rows, Workspace ws) {
        int dim = enorm.dim();
        float[] cat = ws.f(Buf.MTP_CAT, rows * 2 * dim);
        enorm.forward(emb, 0, dim, cat, 0, 2 * dim, rows);
        hnorm.forward(hidden, 0, dim, cat, dim, 2 * dim, rows);
        float[] h = ws.f(Buf.MTP_H, rows * dim);
        Gemm.linear(h, 0, cat, 0, rows, ehProj, false);
        return h;
    }

    /**
     * As {@link #forward} for M pairs of several sequences in one step: pair i at positions[i] of caches[i] (rows of
     * one sequence at consecutive positions, in order). The block runs {@link Block#forwardBatch}, so row i equals a
     * one-pair {@link #forward} bit for bit up to {@link Gemm#GEMV_MAX_M} rows.
     */
    public void forwardBatch(float[] emb, float[] hidden, int M, int[] positions, KvCache[] caches, float[] cos, float[] sin,
                             float[] out, Workspace ws) {
        float[] h = project(emb, hidden, M, ws);
        block.forwardBatch(h, M, positions, caches, cos, sin, ws);
        headNorm.forward(h, out, M);
    }
}
