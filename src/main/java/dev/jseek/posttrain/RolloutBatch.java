package dev.jseek.posttrain;

import java.util.List;

/**
 * One GRPO micro-batch (docs/architecture.md §7.6): P prompts x G sampled completions as {@code rows = P*G} sequences
 * prompt + completion (right-padded to {@code seqLen + 1} tokens), inputs/targets [rows, seqLen] with targets only on
 * completion tokens (-1 elsewhere), and per row of [rows*seqLen] the completion the target belongs to and its
 * reference log-probability. Per completion: reward, the reward's parts, advantage, length, whether it finished.
 */
public record RolloutBatch(int rows, int seqLen, int[] inputs, int[] targets, int[] completionOfRow, double[] refLogp,
                           int group, List<RlPrompt> prompts, List<Completion> completions, double[] rewards,
                           double[][] rewardParts, List<String> partNames, double[] advantages, int[] lengths) {
    public RolloutBatch {
        int n = rows * seqLen;
        if (inputs.length != n || targets.length != n || completionOfRow.length != n || (refLogp != null && refLogp.length != n))
            throw new IllegalArgumentException("rollout rows do not match " + rows + " x " + seqLen);
        if (completions.size() != rows || rewards.length != rows || advantages.length != rows || lengths.length != rows
                || prompts.size() * group != rows)
            throw new IllegalArgumentException("rollout of " + rows + " completions is inconsistent");
    }

    /** Mean reward over the batch. */
    public double meanReward() {
        double s = 0;
        for (double r : rewards) s += r;
        return s / rewards.length;
    }
}
