package dev.jseek.train;

import dev.jseek.model.ModelConfig;

/**
 * Model FLOPs of one training step (forward + backward) of {@link TrainModel}, for MFU. Counted as "model FLOPs"
 * (no recomputation; the flash-style recompute of P in the attention backward is not counted):
 * <ul>
 *   <li>every Linear (docs/architecture.md §3.1, §5.1, §6.1; router included, embedding lookup excluded): 6 * in * out per row it
 *       processes (2 forward + 2 dgrad + 2 wgrad). Rows: B*T for the main model and lm_head, B*(T-k) for MTP depth
 *       k; each MoE layer's routed experts process exactly K rows per token (top-K, no token dropping, docs/architecture.md §5.2), the
 *       shared experts (width moe_inter * n_shared) and the router every token;</li>
 *   <li>causal attention core (docs/architecture.md §3.2): per layer, sequence and head, forward 2 * (qk_head_dim + v_head_dim) * T(T+1)/2
 *       (QK^T and PV over the causal triangle, diagonal included); backward twice the forward; so 3x in total.</li>
 * </ul>
 * Equivalently, per token: 6 * (active Linear parameters per token) + attention, the usual 6N + attention rule with
 * N = the parameters a token actually multiplies (K routed experts, not all).
 */
public final class TrainFlops {
    private TrainFlops() {}

    /** Linear parameters one token multiplies in attention layer {@code l} (projections q, kv_a, kv_b, o). */
    static long attnParams(ModelConfig c) {
        long dim = c.hiddenSize(), H = c.numAttentionHeads(), qk = c.qkHeadDim();
        long q = c.hasQLora() ? dim * c.qLoraRank() + (long) c.qLoraRank() * H * qk : dim * H * qk;
        long kva = dim * (c.kvLoraRank() + c.qkRopeHeadDim());
        long kvb = (long) c.kvLoraRank() * H * (c.qkNopeHeadDim() + c.vHeadDim());
        long o = H * c.vHeadDim() * dim;
        return q + kva + kvb + o;
    }

    /** Linear parameters one token multiplies in the FFN of layer {@code layer} (dense, or router + K + shared experts). */
    static long ffnParams(ModelConfig c, int layer) {
        long dim = c.hiddenSize();
        if (!c.isMoeLayer(layer)) return 3 * dim * c.intermediateSize();
        long I = c.moeIntermediateSize();
        return dim * c.nRoutedExperts() + (long) c.numExpertsPerTok() * 3 * dim * I + 3 * dim * I * c.nSharedExperts();
    }

    /** Active Linear parameters per token of the main model (all layers and lm_head; no MTP, no embedding). */
    public static long activeParamsPerToken(ModelConfig c) {
        long n = (long) c.hiddenSize() * c.vocabSize();
        for (int l = 0; l < c.numHiddenLayers(); l++) n += attnParams(c) + ffnParams(c, l);
        return n;
    }

    /** Linear FLOPs (forward + backward) of one step of B sequences of T tokens, MTP included. */
    public static long linearFlops(ModelConfig c, int B, int T) {
        long rows = (long) B * T;
        long f = 6 * rows * activeParamsPerToken(c);
        long dim = c.hiddenSize();
        for (int k = 1; k <= c.numNextnPredictLayers(); k++) {
            int layer = c.numHiddenLayers() + k - 1;
            long rk = (long) B * (T - k);
            f += 6 * rk * (2 * dim * dim + attnParams(c) + ffnParams(c, layer) + dim * c.vocabSize());
        }
        return f;
    }

    /**
     * Extra Linear FLOPs the recompute mode executes (docs/architecture.md §7.1; not model FLOPs): the MLA up-projections (q_b_proj or
     * q_proj, and kv_b_proj) run forward once more in backward, 2 * in * out per row, in every block, MTP included.
     */
    public static long recomputeFlops(ModelConfig c, int B, int T) {
        long H = c.numAttentionHeads();
        long up = (c.hasQLora() ? (long) c.qLoraRank() : c.hiddenSize()) * H * c.qkHeadDim()
                + (long) c.kvLoraRank() * H * (c.qkNopeHeadDim() + c.vHeadDim());
        long rows = (long) B * T * c.numHiddenLayers();
        for (int k = 1; k <= c.numNextnPredictLayers(); k++) rows += (long) B * (T - k);
        return 2 * rows * up;
    }

    /** Causal attention-core FLOPs (forward + backward) of one step, MTP blocks included. */
    public static long attentionFlops(ModelConfig c, int B, int T) {
        long perPair = 2L * (c.qkHeadDim() + c.vHeadDim()) * c.numAttentionHeads();
        long f = 3 * perPair * B * c.numHiddenLayers() * tri(T);
        for (int k = 1; k <= c.numNextnPredictLayers(); k++) f += 3 * perPair * B * tri(T - k);
        return f;
    }

    /** All model FLOPs of one training step. */
    public static long stepFlops(ModelConfig c, int B, int T) { return linearFlops(c, B, T) + attentionFlops(c, B, T); }

    private static long tri(long t) { return t * (t + 1) / 2; }
}
