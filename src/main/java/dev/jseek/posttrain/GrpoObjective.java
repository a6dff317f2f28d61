package dev.jseek.posttrain;

import dev.jseek.train.TokenObjective;

/**
 * The GRPO loss of one micro-batch (docs/architecture.md §7.6, DeepSeekMath's per-token form) as a {@link TokenObjective}: for M
 * completions o_i with advantages A_i,
 * <pre>
 *   L = -1/M sum_i 1/|o_i| sum_t [ min(rho_t A_i, clip(rho_t, 1-eps, 1+eps) A_i) - beta KL_t ]
 *   rho_t = pi(o_t) / pi_old(o_t),   KL_t = pi_ref(o_t)/pi(o_t) - log(pi_ref(o_t)/pi(o_t)) - 1
 * </pre>
 * where pi(o_t) is the policy's probability of token t of o_i given the prompt and o_i's earlier tokens. With one
 * update per batch pi_old = pi (detached, {@code oldLogp} null): rho = 1 and the policy term's gradient is
 * A_i grad log pi. The per-row weights handed to the weighted cross-entropy are
 * w_t = dL/dCE_t = (1 / (M |o_i|)) (g_t - beta (1 - pi_ref/pi)), with g_t = rho_t A_i where the unclipped term is the
 * minimum and 0 where the clipped term is (strictly) smaller.
 */
public final class GrpoObjective implements TokenObjective {
    private final int[] completionOfRow, lengths;
    private final double[] advantages, refLogp, oldLogp;
    private final double clipEps, beta;
    private double lastKl, lastClipped, lastPolicy;

    /**
     * @param completionOfRow per row of the micro-batch: the completion whose token the row's target is, or -1
     * @param advantages      A_i per completion (M of them)
     * @param lengths         |o_i| per completion (the rows that belong to it)
     * @param refLogp         per row log pi_ref(target) (null: no KL term, beta ignored)
     * @param oldLogp         per row log pi_old(target) (null: pi_old = pi, one update per batch)
     */
    public GrpoObjective(int[] completionOfRow, double[] advantages, int[] lengths, double[] refLogp, double[] oldLogp, double clipEps, double beta) {
        if (advantages.length != lengths.length) throw new IllegalArgumentException(advantages.length + " advantages, " + lengths.length + " lengths");
        if (!(clipEps > 0 && clipEps < 1)) throw new IllegalArgumentException("clip epsilon must be in (0, 1), got " + clipEps);
        if (!(beta >= 0)) throw new IllegalArgumentException("beta must be >= 0, got " + beta);
        int[] counted = new int[lengths.length];
        for (int c : completionOfRow) if (c >= 0) counted[c]++;
        for (int i = 0; i < lengths.length; i++)
            if (counted[i] != lengths[i] || lengths[i] < 1)
                throw new IllegalArgumentException("completion " + i + " has " + counted[i] + " rows, length " + lengths[i]);
        this.completionOfRow = completionOfRow.clone();
        this.advantages = advantages.clone();
        this.lengths = lengths.clone();
        this.refLogp = refLogp == null ? null : refLogp.clone();
        this.oldLogp = oldLogp == null ? null : oldLogp.clone();
        this.clipEps = clipEps;
        this.beta = beta;
    }

    @Override public double evaluate(double[] logp, int[] targets, float[] w) {
        int M = advantages.length;
        double value = 0, kl = 0, clipped = 0, policy = 0;
        for (int r = 0; r < logp.length; r++) {
            int c = r < completionOfRow.length ? completionOfRow[r] : -1;
            if (c < 0) continue;
            if (targets[r] < 0) throw new IllegalArgumentException("row " + r + " belongs to completion " + c + " but has no target");
            double lp = logp[r], lo = oldLogp == null ? lp : oldLogp[r];
            double rho = Math.exp(lp - lo), A = advantages[c];
            double un = rho * A, cl = Math.max(1 - clipEps, Math.min(1 + clipEps, rho)) * A;
            double surr = Math.min(un, cl), g = un <= cl ? un : 0;
            if (un > cl) clipped++;
            double k = 0, dk = 0;
            if (refLogp != null && beta > 0) {
                double d = refLogp[r] - lp, q = Math.exp(d);
                k = q - d - 1;
                dk = 1 - q; // dKL/dlogp
            }
            double s = 1.0 / ((double) M * lengths[c]);
            value -= s * (surr - beta * k);
            policy -= s * surr;
            kl += k / lengths[c] / M;
            w[r] = (float) (s * (g - beta * dk));
        }
        int tokens = 0;
        for (int l : lengths) tokens += l;
        lastKl = kl;
        lastClipped = clipped / tokens;
        lastPolicy = policy;
        return value;
    }

    /** Mean over completions of the mean per-token KL of the last evaluation. */
    public double lastKl() { return lastKl; }

    /** Share of tokens whose clipped term was the minimum in the last evaluation. */
    public double lastClipFraction() { return lastClipped; }

    /** The policy (surrogate) part of the last loss, -1/M sum_i 1/|o_i| sum_t min(...). */
    public double lastPolicyLoss() { return lastPolicy; }
}
