package dev.jseek.model;

import dev.jseek.kernels.Gemm;
import dev.jseek.kernels.Ops;
import dev.jseek.model.Workspace.Buf;
import dev.jseek.tensor.Matrix;

/**
 * The MoE router with aux-loss-free, group-limited top-k ("noaux_tc", docs/architecture.md §5.2), all in FP32:
 * s = sigmoid(W_gate u); choice c = s + bias (the bias steers selection only); group score = sum of the top-2 c in each
 * of n_group groups; keep the topk_group best groups and mask the others with -inf (never 0: docs/architecture.md §5.2); pick the top-k
 * experts by masked c; weights = the ORIGINAL s of those experts, normalized to sum 1 (norm_topk_prob) and times
 * routed_scaling_factor.
 *
 * @param weight router centroids {@code mlp.gate.weight} [n_routed_experts, dim]
 * @param bias   {@code mlp.gate.e_score_correction_bias} [n_routed_experts]
 */
public record Gate(Matrix weight, float[] bias, int topK, int nGroup, int topkGroup, boolean normTopkProb, float routeScale) {
    /** Loads the router weight and bias of {@code layer} of the {@link TensorSchema}. */
    public static Gate load(WeightSource w, TensorSchema s, int layer) {
        ModelConfig cfg = s.config();
        return new Gate(w.matrix(s.get(layer, TensorSchema.Slot.ROUTER)),
                w.floats(s.get(layer, TensorSchema.Slot.ROUTER_BIAS)),
                cfg.numExpertsPerTok(), cfg.nGroup(), cfg.topkGroup(), cfg.normTopkProb(), (float) cfg.routedScalingFactor());
    }

    public int experts() { return weight.rows(); }

    /**
     * Routes m tokens x[m, dim]: writes expert ids into idx[t·topK + j] (best first) and their weights into
     * w[t·topK + j].
     */
    public void forward(float[] x, int m, int[] idx, float[] w, Workspace ws) {
        int e = experts();
        float[] logits = ws.f(Buf.GATE_LOGITS, m * e);
        Gemm.linear(logits, 0, x, 0, m, weight, false);
        float[] choice = ws.f(Buf.GATE_CHOICE, e);
        float[] groupScore = ws.f(Buf.GATE_GROUP, nGroup);
        int[] keptGroups = ws.i(Buf.GATE_GROUP_IDX, Math.max(topkGroup, 2));
        int[] top = ws.i(Buf.GATE_TOP, topK);
        int[] best2 = new int[2];
        for (int t = 0; t < m; t++) {
            int off = t * e;
            for (int i = 0; i < e; i++) {
                float s = sigmoid(logits[off + i]);
                logits[off + i] = s;              // logits now holds the original scores s
                choice[i] = s + bias[i];
            }
            select(choice, groupScore, keptGroups, best2, top);
            float denom = 1f;
            if (normTopkProb) {
                float sum = 0;
                for (int j = 0; j < topK; j++) sum += logits[off + top[j]];
                denom = sum + 1e-20f;
            }
            for (int j = 0; j < topK; j++) {
                idx[t * topK + j] = top[j];
                w[t * topK + j] = logits[off + top[j]] / denom * routeScale;
            }
        }
    }

    /** Group-limited top-k on the biased scores {@code choice} (modified: masked entries become -inf). */
    void select(float[] choice, float[] groupScore, int[] keptGroups, int[] best2, int[] top) {
        int e = experts(), per = e / nGroup;
        if (nGroup > 1) {
            int k2 = Math.min(2, per);
            for (int g = 0; g < nGroup; g++) {
                Ops.topK(choice, g * per, per, k2, best2);
                float s = 0;
                for (int j = 0; j < k2; j++) s += choice[g * per + best2[j]];
                groupScore[g] = s;
            }
            Ops.topK(groupScore, 0, nGroup, topkGroup, keptGroups);
            for (int g = 0; g < nGroup; g++) {
                boolean kept = false;
                for (int j = 0; j < topkGroup; j++) kept |= keptGroups[j] == g;
                if (!kept) java.util.Arrays.fill(choice, g * per, (g + 1) * per, Float.NEGATIVE_INFINITY);
            }
        }
        Ops.topK(choice, 0, e, topK, top);
    }

    static float sigmoid(float z) { return 1f / (1f + (float) Math.exp(-z)); }
}
