package dev.jseek.cli;

import dev.jseek.posttrain.RolloutSource;
import java.util.Locale;
import picocli.CommandLine.Option;

/** How {@code jseek grpo} samples its rollouts: G completions per prompt, their length and the sampling settings. */
final class RolloutOptions {
    @Option(names = "--group", defaultValue = "4", description = "Completions per prompt G (default ${DEFAULT-VALUE}).") int group;
    @Option(names = "--max-new-tokens", defaultValue = "32", description = "Completion token limit (default ${DEFAULT-VALUE}).") int maxNew;
    @Option(names = "--temperature", defaultValue = "1.0", description = "Sampling temperature of the rollouts (default ${DEFAULT-VALUE}).") float temperature;
    @Option(names = "--top-k", defaultValue = "0", description = "Top-k of the rollouts, 0 = off (default ${DEFAULT-VALUE}).") int topK;
    @Option(names = "--top-p", defaultValue = "1.0", description = "Top-p of the rollouts (default ${DEFAULT-VALUE}).") float topP;

    /** The rollout settings for {@code prompts} prompts per micro-batch, sequences of at most {@code maxSeqLen}; bad values are a {@link UserException}. */
    RolloutSource.Settings settings(int prompts, long seed, int maxSeqLen) {
        try {
            return new RolloutSource.Settings(group, prompts, maxNew, temperature, topK, topP, seed, maxSeqLen);
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage(), e);
        }
    }

    /** The "rollouts" line of the settings printout. */
    String describe(int batch, int micro) {
        return String.format(Locale.ROOT, "group %d, %d prompts/step (%d per micro-batch), <= %d new tokens, temperature %s, top-k %d, top-p %s",
                group, batch, micro, maxNew, temperature, topK, topP);
    }
}
