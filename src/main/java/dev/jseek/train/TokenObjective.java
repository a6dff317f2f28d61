package dev.jseek.train;

/**
 * A training objective over the main model's per-token log-probabilities (post-training, docs/architecture.md §7.5-§7.6), for
 * {@link TrainModel#forwardBackward(int[], int[], int, int, TokenObjective, float)}: given logp_r = log pi(target_r)
 * of every row r of the micro-batch [B*T], it returns the objective's value L and fills the weights
 * w_r = dL/dCE_r (CE_r = -logp_r), so that the backward is the weighted cross-entropy sum_r w_r grad CE_r. The mean
 * cross-entropy is the objective w_r = 1/count; GRPO's (docs/architecture.md §7.6) weights are advantage, ratio and KL terms.
 */
@FunctionalInterface
public interface TokenObjective {
    /**
     * @param logp    log pi(target_r) per row; 0 for rows whose target is negative (they get no gradient)
     * @param targets the targets of the rows (negative = ignored)
     * @param weights out: dL/dCE_r per row, preset to 0
     * @return the objective's value
     */
    double evaluate(double[] logp, int[] targets, float[] weights);
}
