package dev.jseek.model;

import dev.jseek.model.Workspace.Buf;

/**
 * DeepSeekMoE FFN (report §2.1.2): y = Σ_{i ∈ top-k} g_i · FFN_i(u) + FFN_shared(u). For a batch of tokens the routed part
 * is computed expert by expert: the tokens routed to an expert are gathered, run through it as one GEMM batch, and
 * their weighted outputs are added back in FP32 (ascending expert id). The shared expert (width
 * n_shared_experts · moe_intermediate_size) is added with weight 1.
 *
 * @param shared the shared expert, or null when n_shared_experts = 0
 */
public record Moe(Gate gate, Mlp[] experts, Mlp shared) implements FeedForward {
    /** Loads {@code prefix} = "model.layers.L.mlp.". */
    public static Moe load(WeightSource w, String prefix, ModelConfig cfg) {
        int dim = cfg.hiddenSize(), inter = cfg.moeIntermediateSize();
        Mlp[] experts = new Mlp[cfg.nRoutedExperts()];
        for (int e = 0; e < experts.length; e++) experts[e] = Mlp.load(w, prefix + "experts." + e + ".", dim, inter);
        Mlp shared = cfg.nSharedExperts() == 0 ? null
                : Mlp.load(w, prefix + "shared_experts.", dim, inter * cfg.nSharedExperts());
        return new Moe(Gate.load(w, prefix + "gate.", cfg), experts, shared);
    }

    @Override public void forward(float[] x, int m, float[] out, Workspace ws) {
        int dim = gate.weight().cols(), k = gate.topK(), n = experts.length;
        int[] idx = ws.i(Buf.MOE_IDX, m * k);
        float[] w = ws.f(Buf.MOE_W, m * k);
        gate.forward(x, m, idx, w, ws);

        // Bucket the (token, slot) pairs by expert: start[e] .. start[e+1] in order[].
        int[] start = ws.i(Buf.MOE_COUNT, n + 1);
        java.util.Arrays.fill(start, 0, n + 1, 0);
        for (int s = 0; s < m * k; s++) start[idx[s] + 1]++;
        for (int e = 0; e < n; e++) start[e + 1] += start[e];
        int[] order = ws.i(Buf.MOE_ORDER, m * k);
        int[] fill = new int[n];
        for (int s = 0; s < m * k; s++) order[start[idx[s]] + fill[idx[s]]++] = s;

        java.util.Arrays.fill(out, 0, m * dim, 0f);
        for (int e = 0; e < n; e++) {
            int cnt = start[e + 1] - start[e];
            if (cnt == 0) continue;
            float[] xe = ws.f(Buf.MOE_XE, cnt * dim), ye = ws.f(Buf.MOE_YE, cnt * dim);
            for (int j = 0; j < cnt; j++) System.arraycopy(x, order[start[e] + j] / k * dim, xe, j * dim, dim);
            experts[e].forward(xe, cnt, ye, ws);
            for (int j = 0; j < cnt; j++) {
                int s = order[start[e] + j], t = s / k;
                float g = w[s];
                for (int c = 0; c < dim; c++) out[t * dim + c] += g * ye[j * dim + c];
            }
        }
        if (shared != null) {
            float[] ys = ws.f(Buf.MOE_SHARED, m * dim);
            shared.forward(x, m, ys, ws);
            for (int i = 0; i < m * dim; i++) out[i] += ys[i];
        }
    }
}
