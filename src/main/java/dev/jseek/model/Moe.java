package dev.jseek.model;

import dev.jseek.kernels.Gemm;
import dev.jseek.kernels.Ops;
import dev.jseek.model.StepProfile.Phase;
import dev.jseek.model.Workspace.Buf;
import dev.jseek.tensor.Matrix;

/**
 * DeepSeekMoE FFN (report §2.1.2): y = Σ_{i ∈ top-k} g_i · FFN_i(u) + FFN_shared(u). For a batch of tokens the routed part
 * is computed expert by expert: the tokens routed to an expert are gathered, run through it as one GEMM batch, and
 * their weighted outputs are added back in FP32 (ascending expert id). The shared expert (width
 * n_shared_experts · moe_intermediate_size) is added with weight 1. With few tokens (decode) all the selected experts
 * run side by side in two parallel jobs ({@link #forwardSideBySide}), with the same values.
 *
 * @param shared the shared expert, or null when n_shared_experts = 0
 */
public record Moe(Gate gate, Mlp[] experts, Mlp shared) implements FeedForward {
    /** Loads the router, routed and shared experts of {@code layer} of the {@link TensorSchema}. */
    public static Moe load(WeightSource w, TensorSchema s, int layer) {
        ModelConfig cfg = s.config();
        Mlp[] experts = new Mlp[cfg.nRoutedExperts()];
        for (int e = 0; e < experts.length; e++)
            experts[e] = Mlp.load(w, s.expert(layer, e, TensorSchema.Slot.EXPERT_GATE), s.expert(layer, e, TensorSchema.Slot.EXPERT_UP),
                    s.expert(layer, e, TensorSchema.Slot.EXPERT_DOWN));
        Mlp shared = cfg.nSharedExperts() == 0 ? null
                : Mlp.load(w, s.get(layer, TensorSchema.Slot.SHARED_GATE), s.get(layer, TensorSchema.Slot.SHARED_UP),
                        s.get(layer, TensorSchema.Slot.SHARED_DOWN));
        return new Moe(Gate.load(w, s, layer), experts, shared);
    }

    @Override public void forward(float[] x, int m, float[] out, Workspace ws) {
        int dim = gate.weight().cols(), k = gate.topK(), n = experts.length;
        int[] idx = ws.i(Buf.MOE_IDX, m * k);
        float[] w = ws.f(Buf.MOE_W, m * k);
        gate.forward(x, m, idx, w, ws);

        long t0 = StepProfile.start();
        // Bucket the (token, slot) pairs by expert: start[e] .. start[e+1] in order[] (fill[] = start + n + 1).
        int[] start = ws.i(Buf.MOE_COUNT, 2 * n + 1);
        java.util.Arrays.fill(start, 0, 2 * n + 1, 0);
        for (int s = 0; s < m * k; s++) start[idx[s] + 1]++;
        for (int e = 0; e < n; e++) start[e + 1] += start[e];
        int[] order = ws.i(Buf.MOE_ORDER, m * k);
        for (int s = 0; s < m * k; s++) order[start[idx[s]] + start[n + 1 + idx[s]]++] = s;
        StepProfile.stop(Phase.MOE_GATHER, t0);

        if (m <= Gemm.GEMV_MAX_M) {
            forwardSideBySide(x, m, out, ws, start, order, w);
            return;
        }
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

    /**
     * The decode regime (few tokens, GEMV products): the selected experts and the shared expert run side by side, not
     * one after another. One parallel job computes every gate and up projection ({@link Gemm#linearMany}: row chunks
     * of all of them spread over the pool), one SwiGLU pass covers them all, a second job computes every down
     * projection. Only the selected experts' weights are read, and nothing is allocated once the workspace is warm.
     * Each product's values, and the order of the weighted sum (ascending expert id, then the shared expert), are
     * those of the expert-by-expert path, bit for bit.
     */
    private void forwardSideBySide(float[] x, int m, float[] out, Workspace ws, int[] start, int[] order, float[] w) {
        int dim = gate.weight().cols(), k = gate.topK(), n = experts.length;
        int inter = n > 0 ? experts[0].inter() : 0, interS = shared == null ? 0 : shared.inter();
        int routed = m * k, rows = routed + (shared == null ? 0 : m), hidden = routed * inter + m * interS;
        // inputs: the routed (token, slot) rows grouped by expert, then the m tokens for the shared expert
        float[] xe = ws.f(Buf.MOE_XE, rows * dim), ye = ws.f(Buf.MOE_YE, rows * dim);
        float[] gu = ws.f(Buf.MOE_G, 2 * hidden);   // gate outputs [0, hidden), up outputs [hidden, 2 hidden)
        long t0 = StepProfile.start();
        for (int j = 0; j < routed; j++) System.arraycopy(x, order[j] / k * dim, xe, j * dim, dim);
        if (shared != null) System.arraycopy(x, 0, xe, routed * dim, m * dim);
        int maxJobs = 2 * (n + 1);
        Matrix[] mats = ws.matrices(maxJobs);
        int[] jobs = ws.i(Buf.MOE_JOBS, 3 * maxJobs);
        int c = 0;
        for (int e = 0; e < n; e++) {
            int cnt = start[e + 1] - start[e];
            if (cnt == 0) continue;
            c = job(mats, jobs, c, experts[e].gateProj(), start[e] * dim, cnt, start[e] * inter);
            c = job(mats, jobs, c, experts[e].upProj(), start[e] * dim, cnt, hidden + start[e] * inter);
        }
        if (shared != null) {
            c = job(mats, jobs, c, shared.gateProj(), routed * dim, m, routed * inter);
            c = job(mats, jobs, c, shared.upProj(), routed * dim, m, hidden + routed * inter);
        }
        StepProfile.stop(Phase.MOE_GATHER, t0);
        t0 = StepProfile.start();
        Gemm.linearMany(c, mats, xe, gu, jobs);
        StepProfile.stop(Phase.EXPERT_GATE_UP, t0);
        t0 = StepProfile.start();
        Ops.swiglu(gu, 0, gu, 0, gu, hidden, hidden);
        StepProfile.stop(Phase.SWIGLU, t0);
        c = 0;
        for (int e = 0; e < n; e++) {
            int cnt = start[e + 1] - start[e];
            if (cnt > 0) c = job(mats, jobs, c, experts[e].downProj(), start[e] * inter, cnt, start[e] * dim);
        }
        if (shared != null) c = job(mats, jobs, c, shared.downProj(), routed * inter, m, routed * dim);
        t0 = StepProfile.start();
        Gemm.linearMany(c, mats, gu, ye, jobs);
        StepProfile.stop(Phase.EXPERT_DOWN, t0);
        t0 = StepProfile.start();
        java.util.Arrays.fill(out, 0, m * dim, 0f);
        for (int e = 0; e < n; e++)
            for (int j = start[e]; j < start[e + 1]; j++) {
                int s = order[j], t = s / k;
                float g = w[s];
                for (int cc = 0; cc < dim; cc++) out[t * dim + cc] += g * ye[j * dim + cc];
            }
        if (shared != null) for (int i = 0; i < m * dim; i++) out[i] += ye[routed * dim + i];
        StepProfile.stop(Phase.MOE_COMBINE, t0);
    }

    private static int job(Matrix[] mats, int[] jobs, int c, Matrix w, int xOff, int m, int yOff) {
        mats[c] = w;
        jobs[3 * c] = xOff;
        jobs[3 * c + 1] = m;
        jobs[3 * c + 2] = yOff;
        return c + 1;
    }
}
