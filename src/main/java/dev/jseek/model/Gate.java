package dev.jseek.model;

import dev.jseek.kernels.Gemm;
import dev.jseek.kernels.Parallel;
import dev.jseek.kernels.Router;
import dev.jseek.model.Workspace.Buf;
import dev.jseek.tensor.Matrix;

/**
 * The MoE router of inference, all in FP32 (report §2.1.2, docs/architecture.md §5.2): the logits u Wr^T over the
 * stored weight (any dtype), then {@link Router} (the one definition shared with training): for DeepSeek-V3 sigmoid
 * scores, the bias for selection only, group-limited top-k, normalised weights times routed_scaling_factor; for
 * DeepSeek-V2 softmax scores and greedy or group-limited greedy top-k without a bias. Its tie and NaN rule is Router's.
 *
 * @param weight router centroids {@code mlp.gate.weight} [n_routed_experts, dim]
 * @param bias   {@code mlp.gate.e_score_correction_bias} [n_routed_experts], null when the router has none (V2)
 * @param rule   the routing rule ({@link ModelConfig#router})
 */
public record Gate(Matrix weight, float[] bias, Router rule) {
    /** A DeepSeek-V3 (sigmoid, noaux_tc) gate. */
    public Gate(Matrix weight, float[] bias, int topK, int nGroup, int topkGroup, boolean normTopkProb, float routeScale) {
        this(weight, bias, new Router(weight.rows(), topK, nGroup, topkGroup, normTopkProb, routeScale));
    }

    /** Loads the router weight and (where the config has one) bias of {@code layer} of the {@link TensorSchema}. */
    public static Gate load(WeightSource w, TensorSchema s, int layer) {
        ModelConfig cfg = s.config();
        return new Gate(w.matrix(s.get(layer, TensorSchema.Slot.ROUTER)),
                cfg.hasRouterBias() ? w.floats(s.get(layer, TensorSchema.Slot.ROUTER_BIAS)) : null, cfg.router());
    }

    public int experts() { return weight.rows(); }

    /** Experts per token. */
    public int topK() { return rule.topK(); }

    /** This gate's routing rule. */
    public Router router() { return rule; }

    /**
     * Routes m tokens x[m, dim]: writes expert ids into idx[t·topK + j] (best first) and their weights into
     * w[t·topK + j].
     */
    public void forward(float[] x, int m, int[] idx, float[] w, Workspace ws) { forward(x, 0, m, idx, w, ws); }

    /**
     * Routes the m tokens at rows row0..row0+m-1 of x[*, dim] into idx/w at (row0 + t)·topK + j: the values
     * {@link #forward(float[], int, int[], float[], Workspace)} gives those m rows alone (one m-row router product).
     */
    public void forward(float[] x, int row0, int m, int[] idx, float[] w, Workspace ws) {
        int e = experts(), topK = rule.topK(), dim = weight.cols();
        float[] s = ws.f(Buf.GATE_LOGITS, m * e);
        long t0 = StepProfile.start();
        Gemm.linear(s, 0, x, row0 * dim, m, weight, false);
        StepProfile.stop(StepProfile.Phase.ROUTER, t0);
        t0 = StepProfile.start();
        Router r = rule;
        r.scores(s, 0, s, 0, m * e);
        if (m > Gemm.GEMV_MAX_M && Moe.expertTasks) {
            // prefill: tokens route independently, so in row chunks on the pool (same values, one scratch per chunk)
            Parallel.parallelForRange(m, Parallel.grain(m, 2, 16), (lo, hi) -> {
                Router.Scratch sc = r.scratch();
                for (int t = lo; t < hi; t++) r.route(s, t * e, bias, 0, idx, (row0 + t) * topK, w, (row0 + t) * topK, sc);
            });
        } else {
            Router.Scratch sc = r.scratch();
            for (int t = 0; t < m; t++) r.route(s, t * e, bias, 0, idx, (row0 + t) * topK, w, (row0 + t) * topK, sc);
        }
        StepProfile.stop(StepProfile.Phase.ROUTE, t0);
    }
}
