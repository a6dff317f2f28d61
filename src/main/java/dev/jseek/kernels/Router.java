package dev.jseek.kernels;

import java.util.Arrays;

/**
 * The DeepSeekMoE router (report §2.1.2), one definition for inference ({@code dev.jseek.model.Gate}) and training
 * ({@code dev.jseek.train.Moe}). For one token with router logits z (the GEMM u Wr^T is the caller's):
 * <pre>
 *   s_i   = sigmoid(z_i)                                   scores ({@link Scoring#SIGMOID})
 *   c_i   = s_i + b_i                                      the bias b steers selection only (aux-loss-free balancing)
 *   G_g   = sum of the 2 largest c_i in group g            n_group groups of E / n_group consecutive experts
 *   keep the topk_group groups with the largest G_g; c_i = -inf in the other groups
 *   S     = the top-K experts by c                          ({@link Selection#NOAUX_TC}: "noaux_tc")
 *   g_i   = rsf * s_i / (sum_{j in S} s_j + 1e-20)          for i in S (norm_topk_prob; without it rsf * s_i)
 * </pre>
 * The weights use the original scores s, never c. rsf is routed_scaling_factor.
 *
 * <p><b>Ties and NaN (the one rule).</b> Selection compares keys c_i where a NaN c_i counts as -inf, so a NaN score
 * is never chosen over a number; equal keys go to the lower index (expert or group). A group's score with a NaN (or
 * -inf) among its top 2 is therefore -inf. When fewer than K experts have finite keys in the kept groups, the
 * remaining picks are the lowest-indexed of the -inf experts (deterministic; their weights carry whatever s they
 * have, NaN included, so a non-finite input still shows up downstream).
 *
 * <p><b>Arithmetic.</b> The sigmoid is {@link Silu#sigmoid} (bitwise the same in vector lanes and scalar tails); the
 * normalising sum is accumulated in double in selection order and rounded once to float; the weight is
 * {@code rsf * (s / den)}.
 *
 * <p><b>DeepSeek-V2 routers</b> (its modeling code's MoEGate, topk_method "greedy" / "group_limited_greedy"):
 * <pre>
 *   s_i   = softmax(z)_i                                   ({@link Scoring#SOFTMAX}; max-subtracted, sum in double)
 *   greedy:               S = the top-K experts by s       ({@link Selection#GREEDY}; groups ignored)
 *   group_limited_greedy: G_g = max of s_i in group g, keep the topk_group best groups, S = top-K of s in them
 *                         ({@link Selection#GROUP_LIMITED_GREEDY})
 *   g_i   = s_i / (sum_{j in S} s_j + 1e-20)               with norm_topk_prob and K > 1 (no rsf), else rsf * s_i
 * </pre>
 * V2 has no selection bias; the caller passes {@code b = null}. The V2 weight rule (rsf only without normalisation,
 * no normalisation for K = 1) is this record with {@code normTopkProb} = norm_topk_prob and K > 1 and
 * {@code routedScale} = 1 when normalising: {@code dev.jseek.model.ModelConfig#router} builds it. Ties and NaN follow
 * the rule above (a NaN logit makes the token's softmax NaN everywhere; the picks are then experts 0..K-1).
 */
public record Router(Scoring scoring, Selection selection, int experts, int topK, int nGroup, int topkGroup,
                     boolean normTopkProb, float routedScale) {
    /** How the scores come from the logits. */
    public enum Scoring {
        /** s = sigmoid(z) (DeepSeek-V3, "sigmoid"). */ SIGMOID,
        /** s = softmax(z) over the token's E logits (DeepSeek-V2, "softmax"). */ SOFTMAX }

    /** How the experts are chosen from the scores. */
    public enum Selection {
        /** Group-limited top-K on s + bias, group score = top-2 sum (DeepSeek-V3 "noaux_tc"). */ NOAUX_TC,
        /** Plain top-K on s (DeepSeek-V2 "greedy"). */ GREEDY,
        /** Group-limited top-K on s, group score = the group's largest s (DeepSeek-V2 "group_limited_greedy"). */ GROUP_LIMITED_GREEDY }

    /** The DeepSeek-V3 router: sigmoid scores, noaux_tc selection. */
    public Router(int experts, int topK, int nGroup, int topkGroup, boolean normTopkProb, float routedScale) {
        this(Scoring.SIGMOID, Selection.NOAUX_TC, experts, topK, nGroup, topkGroup, normTopkProb, routedScale);
    }

    public Router {
        if (experts < 1 || nGroup < 1 || experts % nGroup != 0)
            throw new IllegalArgumentException("router: " + experts + " experts do not split into " + nGroup + " groups");
        if (topkGroup < 1 || topkGroup > nGroup)
            throw new IllegalArgumentException("router: topk_group " + topkGroup + " not in 1.." + nGroup);
        if (selection == Selection.GREEDY ? topK < 1 || topK > experts : topK < 1 || topK > experts / nGroup * topkGroup)
            throw new IllegalArgumentException("router: top-k " + topK + " not in 1.." + experts / nGroup * topkGroup
                    + " (the experts of " + topkGroup + " kept groups)");
    }

    /** Per-thread working arrays of {@link #select}. */
    public Scratch scratch() { return new Scratch(experts, nGroup, topkGroup, topK); }

    /** Working arrays of one routing thread. */
    public static final class Scratch {
        final float[] key, groupScore;
        final int[] groupIdx, top;

        Scratch(int experts, int nGroup, int topkGroup, int topK) {
            key = new float[experts];
            groupScore = new float[nGroup];
            groupIdx = new int[topkGroup];
            top = new int[topK];
        }
    }

    /**
     * The scores of n / E tokens' logits z[zo..zo+n) (n a multiple of E, one token's E logits after another) to
     * s[so..so+n); s may alias z at the same offset.
     */
    public void scores(float[] s, int so, float[] z, int zo, int n) {
        switch (scoring) {
            case SIGMOID -> Silu.sigmoid(s, so, z, zo, n);
            case SOFTMAX -> {
                if (n % experts != 0) throw new IllegalArgumentException("router: " + n + " logits are not whole tokens of " + experts);
                for (int t = 0; t < n; t += experts) softmax(s, so + t, z, zo + t);
            }
        }
    }

    /** One token's softmax: max subtracted, exponentials in double, their sum in double in expert order, one rounding per score. */
    private void softmax(float[] s, int so, float[] z, int zo) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < experts; i++) max = Math.max(max, z[zo + i]); // a NaN logit makes max NaN: every score NaN
        double sum = 0;
        for (int i = 0; i < experts; i++) sum += Math.exp((double) z[zo + i] - max);
        for (int i = 0; i < experts; i++) s[so + i] = (float) (Math.exp((double) z[zo + i] - max) / sum);
    }

    /**
     * One token: the top-K experts for the scores s[so..so+E) and the selection bias b[bo..bo+E) (null: none) go to
     * idx[io..io+K), best first; their weights to w[wo..wo+K).
     */
    public void route(float[] s, int so, float[] b, int bo, int[] idx, int io, float[] w, int wo, Scratch sc) {
        select(s, so, b, bo, idx, io, sc);
        weights(s, so, idx, io, w, wo);
    }

    /** The selection alone (see the class comment for the rule): K expert ids to idx[io..io+K), best first. */
    public void select(float[] s, int so, float[] b, int bo, int[] idx, int io, Scratch sc) {
        float[] key = sc.key;
        for (int i = 0; i < experts; i++) key[i] = noNaN(b == null ? s[so + i] : s[so + i] + b[bo + i]);
        if (nGroup > 1 && selection != Selection.GREEDY) {
            int per = experts / nGroup;
            for (int g = 0; g < nGroup; g++) {
                float m1 = Float.NEGATIVE_INFINITY, m2 = Float.NEGATIVE_INFINITY;
                for (int i = g * per; i < (g + 1) * per; i++) {
                    float v = key[i];
                    if (v > m1) { m2 = m1; m1 = v; } else if (v > m2) m2 = v;
                }
                sc.groupScore[g] = noNaN(per >= 2 && selection == Selection.NOAUX_TC ? m1 + m2 : m1);
            }
            Ops.topK(sc.groupScore, 0, nGroup, topkGroup, sc.groupIdx);
            for (int g = 0; g < nGroup; g++) {
                boolean kept = false;
                for (int j = 0; j < topkGroup; j++) kept |= sc.groupIdx[j] == g;
                if (!kept) Arrays.fill(key, g * per, (g + 1) * per, Float.NEGATIVE_INFINITY);
            }
        }
        Ops.topK(key, 0, experts, topK, sc.top);
        System.arraycopy(sc.top, 0, idx, io, topK);
    }

    /** Weights of the selected experts idx[io..io+K) from their scores (norm_topk_prob, routed_scaling_factor). */
    public void weights(float[] s, int so, int[] idx, int io, float[] w, int wo) {
        if (!normTopkProb) {
            for (int j = 0; j < topK; j++) w[wo + j] = routedScale * s[so + idx[io + j]];
            return;
        }
        double sum = 0;
        for (int j = 0; j < topK; j++) sum += s[so + idx[io + j]];
        float den = (float) (sum + 1e-20);
        for (int j = 0; j < topK; j++) w[wo + j] = routedScale * (s[so + idx[io + j]] / den);
    }

    /**
     * d(score) of the selected experts from the weights' gradient dw[dwo..dwo+K) (the mirror of {@link #weights}):
     * ds_i += rsf * (dw_i / den - sum_j dw_j s_j / den^2) with norm_topk_prob, else rsf * dw_i. Accumulates into
     * ds[dso + idx].
     */
    public void weightsBackward(float[] s, int so, int[] idx, int io, float[] dw, int dwo, float[] ds, int dso) {
        if (!normTopkProb) {
            for (int j = 0; j < topK; j++) ds[dso + idx[io + j]] += routedScale * dw[dwo + j];
            return;
        }
        double sum = 0, dgs = 0;
        for (int j = 0; j < topK; j++) {
            int e = idx[io + j];
            sum += s[so + e];
            dgs += (double) dw[dwo + j] * s[so + e];
        }
        float den = (float) (sum + 1e-20);
        float corr = (float) (dgs / ((double) den * den));
        for (int j = 0; j < topK; j++) ds[dso + idx[io + j]] += routedScale * (dw[dwo + j] / den - corr);
    }

    private static float noNaN(float v) { return v != v ? Float.NEGATIVE_INFINITY : v; }
}
