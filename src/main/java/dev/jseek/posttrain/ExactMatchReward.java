package dev.jseek.posttrain;

/** Rule-based accuracy reward (docs/architecture.md §7.6): 1 when the completion's answer ({@link Answers#extract}) equals the reference, else 0. */
public final class ExactMatchReward implements Reward {
    @Override public double score(RlPrompt prompt, int[] promptTokens, Completion c) {
        if (prompt.answer() == null) throw new IllegalArgumentException("the exact-match reward needs prompts with answers");
        return Answers.equal(Answers.extract(c.text()), prompt.answer()) ? 1 : 0;
    }

    @Override public String name() { return "exact"; }
}
