package dev.jseek.infer;

/**
 * One generation for the {@link BatchEngine}: prompt ids and how to continue them.
 *
 * @param prompt       the prompt ids (at least one)
 * @param maxNewTokens tokens to generate at most (>= 1); the engine also stops at the context length
 * @param temperature  0 = greedy (see {@link Sampler})
 * @param topK         0 = no top-k cut
 * @param topP         nucleus mass in (0, 1]
 * @param seed         sampling seed: with it, the output is the same alone or beside other requests
 * @param stopTokens   ids that end the generation (emitted); may be empty
 * @param topLogprobs  -1: no log-probabilities; 0..20: the chosen token's log-probability and that many alternatives
 * @param deadlineNanos a {@link System#nanoTime()} after which the generation ends ("deadline"); 0 = none
 * @param adjust       penalties and logit bias applied before sampling ({@link LogitAdjust#NONE}: none)
 */
public record GenerationRequest(int[] prompt, int maxNewTokens, float temperature, int topK, float topP, long seed,
                                int[] stopTokens, int topLogprobs, long deadlineNanos, LogitAdjust adjust) {
    /** Without penalties or bias. */
    public GenerationRequest(int[] prompt, int maxNewTokens, float temperature, int topK, float topP, long seed,
                             int[] stopTokens, int topLogprobs, long deadlineNanos) {
        this(prompt, maxNewTokens, temperature, topK, topP, seed, stopTokens, topLogprobs, deadlineNanos, LogitAdjust.NONE);
    }

    /** Most alternatives per token (OpenAI's top_logprobs limit). */
    public static final int MAX_TOP_LOGPROBS = 20;

    public GenerationRequest {
        prompt = prompt.clone();
        stopTokens = stopTokens == null ? new int[0] : stopTokens.clone();
        if (prompt.length == 0) throw new IllegalArgumentException("the prompt is empty");
        if (maxNewTokens < 1) throw new IllegalArgumentException("max new tokens must be >= 1, got " + maxNewTokens);
        if (topLogprobs < -1 || topLogprobs > MAX_TOP_LOGPROBS)
            throw new IllegalArgumentException("top logprobs must be in 0.." + MAX_TOP_LOGPROBS + ", got " + topLogprobs);
        if (adjust == null) adjust = LogitAdjust.NONE;
        new Sampler(temperature, topK, topP, seed); // validates the sampling fields
    }

    /** Greedy decoding of {@code prompt}, no stop tokens, no deadline. */
    public static GenerationRequest greedy(int[] prompt, int maxNewTokens) {
        return new GenerationRequest(prompt, maxNewTokens, 0f, 0, 1f, 0L, null, -1, 0L);
    }

    /** A copy with another maximum of new tokens. */
    public GenerationRequest withMaxNewTokens(int n) {
        return new GenerationRequest(prompt, n, temperature, topK, topP, seed, stopTokens, topLogprobs, deadlineNanos, adjust);
    }

    /** A fresh sampler of this request (its own RNG and penalty counts). */
    public Sampler sampler() { return new Sampler(temperature, topK, topP, seed, adjust, adjust.repetition() != 1f ? prompt : null); }
}
