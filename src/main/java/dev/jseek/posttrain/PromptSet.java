package dev.jseek.posttrain;

/**
 * Where GRPO's questions come from (docs/architecture.md §7.6): an endless, deterministic sequence of {@link RlPrompt}s addressed by
 * index, so a run's position is one number ({@link RolloutSource} stores it in checkpoints).
 */
public interface PromptSet {
    /** The prompt at position {@code index} (>= 0); the same for the same index. */
    RlPrompt get(long index);

    /** Whether every prompt has a reference answer (rule-based rewards need one). */
    boolean hasAnswers();

    /** A short description for logs, e.g. "arithmetic (a+b, 0..20)". */
    String describe();
}
