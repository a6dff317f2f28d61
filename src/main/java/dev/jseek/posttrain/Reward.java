package dev.jseek.posttrain;

/**
 * A reward model for GRPO (docs/architecture.md §7.6): a score of one completion of a prompt. Rule-based rewards check the answer
 * ({@link ExactMatchReward}, {@link FormatReward}); model-based ones read a scoring model ({@link ModelReward}).
 * Implementations are deterministic; {@link WeightedReward} sums several.
 */
public interface Reward {
    double score(RlPrompt prompt, int[] promptTokens, Completion completion);

    /** A short name for logs and metrics, e.g. "exact". */
    String name();
}
