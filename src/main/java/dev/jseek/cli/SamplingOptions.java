package dev.jseek.cli;

import dev.jseek.infer.Sampler;
import picocli.CommandLine.Option;

/** How {@code generate} and {@code bench decode} choose tokens: greedy, or temperature / top-k / top-p with a seed. */
final class SamplingOptions {
    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default ${DEFAULT-VALUE}); else seeded sampling.") float temperature;
    @Option(names = "--top-k", defaultValue = "0", description = "Sample from the k most likely tokens; 0 = all (default ${DEFAULT-VALUE}).") int topK;
    @Option(names = "--top-p", defaultValue = "1", description = "Nucleus sampling mass in (0, 1] (default ${DEFAULT-VALUE}).") float topP;
    @Option(names = "--seed", defaultValue = "0", description = "Sampling seed (default ${DEFAULT-VALUE}).") long seed;

    /** A new sampler of these settings; out-of-range settings are a {@link UserException}. */
    Sampler sampler() { return sampler(0f, 0f, 1f, null); }

    /**
     * As {@link #sampler()} with OpenAI's presence and frequency penalties and vLLM's repetition penalty, which counts
     * the {@code prompt} too ({@link dev.jseek.infer.LogitAdjust}).
     */
    Sampler sampler(float presencePenalty, float frequencyPenalty, float repetitionPenalty, int[] prompt) {
        try {
            return new Sampler(temperature, topK, topP, seed,
                    new dev.jseek.infer.LogitAdjust(presencePenalty, frequencyPenalty, repetitionPenalty, null), prompt);
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage());
        }
    }
}
