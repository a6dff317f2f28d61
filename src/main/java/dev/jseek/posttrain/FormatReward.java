package dev.jseek.posttrain;

/**
 * Rule-based format reward (docs/architecture.md §7.6): 1 when the completion ended with end-of-sentence and its text is a bare number
 * or holds a {@code \boxed{...}} answer ({@link Answers#wellFormed}), else 0.
 */
public final class FormatReward implements Reward {
    @Override public double score(RlPrompt prompt, int[] promptTokens, Completion c) {
        return c.finished() && Answers.wellFormed(c.text()) ? 1 : 0;
    }

    @Override public String name() { return "format"; }
}
