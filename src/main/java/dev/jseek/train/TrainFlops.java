package dev.jseek.train;

import dev.jseek.model.ModelConfig;
import dev.jseek.model.TensorSchema;

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
 * N = the parameters a token actually multiplies (K routed experts, not all), counted over the {@link TensorSchema}.
 */
public final class TrainFlops {
    private TrainFlops() {}

    /**
     * Linear parameters one token multiplies, counted over the {@link TensorSchema}: index l < L + depth the layer l
     * (main layers, then the MTP modules with their eh_proj and shared head), the last index the main lm_head. A
     * tensor counts when a token multiplies it: Linear projections, the router, the head, and of the routed experts
     * K (the first K stand for any K; all experts of a layer have one shape).
     */
    private static long[] activeLinear(ModelConfig c) {
        int layers = c.numHiddenLayers() + c.numNextnPredictLayers();
        long[] n = new long[layers + 1];
        for (TensorSchema.Tensor t : new TensorSchema(c).tensors()) {
            TensorSchema.Kind k = t.kind();
            boolean multiplied = k == TensorSchema.Kind.LINEAR || k == TensorSchema.Kind.ROUTER || k == TensorSchema.Kind.HEAD
                    || k == TensorSchema.Kind.EH_PROJ || t.slot() == TensorSchema.Slot.MTP_HEAD;
            if (multiplied && t.expert() < c.numExpertsPerTok()) n[t.layer() < 0 ? layers : t.layer()] += t.elements();
        }
        return n;
    }

    /** Active Linear parameters per token of the main model (all layers and lm_head; no MTP, no embedding). */
    public static long activeParamsPerToken(ModelConfig c) {
        long[] n = activeLinear(c);
        long s = n[n.length - 1];
        for (int l = 0; l < c.numHiddenLayers(); l++) s += n[l];
        return s;
    }

    /** Linear FLOPs (forward + backward) of one step of B sequences of T tokens, MTP included. */
    public static long linearFlops(ModelConfig c, int B, int T) {
        long[] n = activeLinear(c);
        long f = 6L * B * T * activeParamsPerToken(c);
        for (int k = 1; k <= c.numNextnPredictLayers(); k++) f += 6L * B * (T - k) * n[c.numHiddenLayers() + k - 1];
        return f;
    }

    /**
     * Extra Linear FLOPs the recompute mode executes (docs/architecture.md §7.1; not model FLOPs): the MLA up-projections (q_b_proj or
     * q_proj, and kv_b_proj) run forward once more in backward, 2 * in * out per row, in every block, MTP included.
     */
    public static long recomputeFlops(ModelConfig c, int B, int T) {
        TensorSchema s = new TensorSchema(c);
        long f = 0;
        for (int l = 0; l < c.numHiddenLayers() + c.numNextnPredictLayers(); l++) {
            long rows = (long) B * (l < c.numHiddenLayers() ? T : T - (l - c.numHiddenLayers() + 1));
            f += 2 * rows * (s.get(l, c.hasQLora() ? TensorSchema.Slot.Q_B : TensorSchema.Slot.Q).elements() + s.get(l, TensorSchema.Slot.KV_B).elements());
        }
        return f;
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
