package dev.jseek.api;

import dev.jseek.infer.LogitAdjust;
import dev.jseek.infer.LogitBias;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How a {@link JseekModel} continues a prompt: the sampling parameters of the HTTP server's requests, with the
 * same meaning ({@code max_tokens}, {@code temperature}, {@code top_p}, {@code top_k}, {@code seed}, {@code stop},
 * {@code top_logprobs}, {@code presence_penalty}, {@code frequency_penalty}, {@code logit_bias}, and vLLM's
 * {@code repetition_penalty} and {@code ignore_eos} extensions).
 *
 * @param maxTokens   tokens to generate at most (>= 1; cut to the context)
 * @param temperature 0 = greedy
 * @param topP        nucleus mass in (0, 1]
 * @param topK        0 = no top-k cut
 * @param seed        the sampling seed: a seed fixes the output, alone or beside other requests
 * @param stop        stop strings: the text ends before the first one
 * @param topLogprobs -1 = no log-probabilities; 0..20 = the chosen token's and that many alternatives per token
 * @param ignoreEos   keep generating past the end-of-sequence token, up to maxTokens (benchmarks, fixed-length load)
 * @param adjust      {@code presence_penalty}, {@code frequency_penalty}, vLLM's {@code repetition_penalty} and
 *                    {@code logit_bias} ({@link LogitAdjust}; {@link LogitAdjust#NONE}: none)
 */
public record Sampling(int maxTokens, float temperature, float topP, int topK, long seed, List<String> stop, int topLogprobs,
                       boolean ignoreEos, LogitAdjust adjust) {
    /** Without penalties or bias. */
    public Sampling(int maxTokens, float temperature, float topP, int topK, long seed, List<String> stop, int topLogprobs,
                    boolean ignoreEos) {
        this(maxTokens, temperature, topP, topK, seed, stop, topLogprobs, ignoreEos, LogitAdjust.NONE);
    }

    /** Stopping at the end-of-sequence token, without penalties or bias. */
    public Sampling(int maxTokens, float temperature, float topP, int topK, long seed, List<String> stop, int topLogprobs) {
        this(maxTokens, temperature, topP, topK, seed, stop, topLogprobs, false);
    }

    public Sampling {
        stop = List.copyOf(stop);
        if (adjust == null) adjust = LogitAdjust.NONE;
        if (maxTokens < 1) throw new IllegalArgumentException("maxTokens must be >= 1, got " + maxTokens);
        if (!(temperature >= 0)) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
        if (topK < 0) throw new IllegalArgumentException("topK must be >= 0, got " + topK);
        if (topLogprobs < -1 || topLogprobs > 20) throw new IllegalArgumentException("topLogprobs must be in -1..20, got " + topLogprobs);
        for (String s : stop) if (s.isEmpty()) throw new IllegalArgumentException("empty stop string");
    }

    /** Greedy decoding of up to {@code maxTokens} tokens. */
    public static Sampling greedy(int maxTokens) { return new Sampling(maxTokens, 0f, 1f, 0, 0L, List.of(), -1); }

    /** Sampling at {@code temperature} with a random seed (the server's default when a request gives none). */
    public static Sampling of(int maxTokens, float temperature) {
        return new Sampling(maxTokens, temperature, 1f, 0, ThreadLocalRandom.current().nextLong(), List.of(), -1);
    }

    public Sampling withSeed(long s) { return new Sampling(maxTokens, temperature, topP, topK, s, stop, topLogprobs, ignoreEos, adjust); }

    public Sampling withTemperature(float t) {
        return new Sampling(maxTokens, t, topP, topK, seed, stop, topLogprobs, ignoreEos, adjust);
    }

    public Sampling withTopP(float p) { return new Sampling(maxTokens, temperature, p, topK, seed, stop, topLogprobs, ignoreEos, adjust); }

    public Sampling withTopK(int k) { return new Sampling(maxTokens, temperature, topP, k, seed, stop, topLogprobs, ignoreEos, adjust); }

    public Sampling withStop(List<String> s) { return new Sampling(maxTokens, temperature, topP, topK, seed, s, topLogprobs, ignoreEos, adjust); }

    public Sampling withMaxTokens(int n) { return new Sampling(n, temperature, topP, topK, seed, stop, topLogprobs, ignoreEos, adjust); }

    public Sampling withTopLogprobs(int n) { return new Sampling(maxTokens, temperature, topP, topK, seed, stop, n, ignoreEos, adjust); }

    /** OpenAI's presence and frequency penalties (each in [-2, 2]). */
    public Sampling withPenalties(float presence, float frequency) { return withAdjust(adjust.withPenalties(presence, frequency)); }

    /** vLLM's repetition penalty (in (0, 10]; 1 = none). */
    public Sampling withRepetitionPenalty(float r) { return withAdjust(adjust.withRepetition(r)); }

    /** OpenAI's {@code logit_bias}. */
    public Sampling withLogitBias(LogitBias b) { return withAdjust(adjust.withBias(b)); }

    public Sampling withAdjust(LogitAdjust a) {
        return new Sampling(maxTokens, temperature, topP, topK, seed, stop, topLogprobs, ignoreEos, a);
    }

    public float presencePenalty() { return adjust.presence(); }

    public float frequencyPenalty() { return adjust.frequency(); }

    public Sampling withIgnoreEos(boolean b) { return new Sampling(maxTokens, temperature, topP, topK, seed, stop, topLogprobs, b, adjust); }
}
