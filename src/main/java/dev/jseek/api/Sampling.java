package dev.jseek.api;

import dev.jseek.infer.LogitBias;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How a {@link JseekModel} continues a prompt: the sampling parameters of the HTTP server's requests, with the
 * same meaning ({@code max_tokens}, {@code temperature}, {@code top_p}, {@code top_k}, {@code seed}, {@code stop},
 * {@code top_logprobs}, {@code presence_penalty}, {@code frequency_penalty}, {@code logit_bias}, and vLLM's {@code ignore_eos}
 * extension).
 *
 * @param maxTokens   tokens to generate at most (>= 1; cut to the context)
 * @param temperature 0 = greedy
 * @param topP        nucleus mass in (0, 1]
 * @param topK        0 = no top-k cut
 * @param seed        the sampling seed: a seed fixes the output, alone or beside other requests
 * @param stop        stop strings: the text ends before the first one
 * @param topLogprobs -1 = no log-probabilities; 0..20 = the chosen token's and that many alternatives per token
 * @param ignoreEos   keep generating past the end-of-sequence token, up to maxTokens (benchmarks, fixed-length load)
 * @param presencePenalty  {@code presence_penalty} in [-2, 2] (0 = none; {@link dev.jseek.infer.Sampler})
 * @param frequencyPenalty {@code frequency_penalty} in [-2, 2] (0 = none)
 * @param logitBias        {@code logit_bias} ({@link LogitBias#NONE}: none)
 */
public record Sampling(int maxTokens, float temperature, float topP, int topK, long seed, List<String> stop, int topLogprobs,
                       boolean ignoreEos, float presencePenalty, float frequencyPenalty, LogitBias logitBias) {
    /** Without a logit bias. */
    public Sampling(int maxTokens, float temperature, float topP, int topK, long seed, List<String> stop, int topLogprobs,
                    boolean ignoreEos, float presencePenalty, float frequencyPenalty) {
        this(maxTokens, temperature, topP, topK, seed, stop, topLogprobs, ignoreEos, presencePenalty, frequencyPenalty, LogitBias.NONE);
    }

    /** Without penalties. */
    public Sampling(int maxTokens, float temperature, float topP, int topK, long seed, List<String> stop, int topLogprobs,
                    boolean ignoreEos) {
        this(maxTokens, temperature, topP, topK, seed, stop, topLogprobs, ignoreEos, 0f, 0f);
    }

    /** Stopping at the end-of-sequence token. */
    public Sampling(int maxTokens, float temperature, float topP, int topK, long seed, List<String> stop, int topLogprobs) {
        this(maxTokens, temperature, topP, topK, seed, stop, topLogprobs, false);
    }

    public Sampling {
        stop = List.copyOf(stop);
        if (logitBias == null) logitBias = LogitBias.NONE;
        if (maxTokens < 1) throw new IllegalArgumentException("maxTokens must be >= 1, got " + maxTokens);
        if (!(temperature >= 0)) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
        if (topK < 0) throw new IllegalArgumentException("topK must be >= 0, got " + topK);
        if (topLogprobs < -1 || topLogprobs > 20) throw new IllegalArgumentException("topLogprobs must be in -1..20, got " + topLogprobs);
        for (String s : stop) if (s.isEmpty()) throw new IllegalArgumentException("empty stop string");
        if (!(presencePenalty >= -2 && presencePenalty <= 2)) throw new IllegalArgumentException("presencePenalty must be in [-2, 2], got " + presencePenalty);
        if (!(frequencyPenalty >= -2 && frequencyPenalty <= 2)) throw new IllegalArgumentException("frequencyPenalty must be in [-2, 2], got " + frequencyPenalty);
    }

    /** Greedy decoding of up to {@code maxTokens} tokens. */
    public static Sampling greedy(int maxTokens) { return new Sampling(maxTokens, 0f, 1f, 0, 0L, List.of(), -1); }

    /** Sampling at {@code temperature} with a random seed (the server's default when a request gives none). */
    public static Sampling of(int maxTokens, float temperature) {
        return new Sampling(maxTokens, temperature, 1f, 0, ThreadLocalRandom.current().nextLong(), List.of(), -1);
    }

    public Sampling withSeed(long s) { return new Sampling(maxTokens, temperature, topP, topK, s, stop, topLogprobs, ignoreEos, presencePenalty, frequencyPenalty, logitBias); }

    public Sampling withTemperature(float t) {
        return new Sampling(maxTokens, t, topP, topK, seed, stop, topLogprobs, ignoreEos, presencePenalty, frequencyPenalty, logitBias);
    }

    public Sampling withTopP(float p) { return new Sampling(maxTokens, temperature, p, topK, seed, stop, topLogprobs, ignoreEos, presencePenalty, frequencyPenalty, logitBias); }

    public Sampling withTopK(int k) { return new Sampling(maxTokens, temperature, topP, k, seed, stop, topLogprobs, ignoreEos, presencePenalty, frequencyPenalty, logitBias); }

    public Sampling withStop(List<String> s) { return new Sampling(maxTokens, temperature, topP, topK, seed, s, topLogprobs, ignoreEos, presencePenalty, frequencyPenalty, logitBias); }

    public Sampling withMaxTokens(int n) { return new Sampling(n, temperature, topP, topK, seed, stop, topLogprobs, ignoreEos, presencePenalty, frequencyPenalty, logitBias); }

    public Sampling withTopLogprobs(int n) { return new Sampling(maxTokens, temperature, topP, topK, seed, stop, n, ignoreEos, presencePenalty, frequencyPenalty, logitBias); }

    /** OpenAI's presence and frequency penalties (each in [-2, 2]). */
    public Sampling withPenalties(float presence, float frequency) {
        return new Sampling(maxTokens, temperature, topP, topK, seed, stop, topLogprobs, ignoreEos, presence, frequency, logitBias);
    }

    /** OpenAI's {@code logit_bias}. */
    public Sampling withLogitBias(LogitBias b) {
        return new Sampling(maxTokens, temperature, topP, topK, seed, stop, topLogprobs, ignoreEos, presencePenalty, frequencyPenalty, b);
    }

    public Sampling withIgnoreEos(boolean b) { return new Sampling(maxTokens, temperature, topP, topK, seed, stop, topLogprobs, b, presencePenalty, frequencyPenalty, logitBias); }
}
