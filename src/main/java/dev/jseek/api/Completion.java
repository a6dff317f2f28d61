package dev.jseek.api;

import dev.jseek.infer.Logprobs;
import java.util.List;

/**
 * What one generation produced.
 *
 * @param text              the completion text (stop strings cut off, special tokens skipped)
 * @param promptTokens      prompt length in tokens
 * @param completionTokens  tokens generated (an ending EOS included)
 * @param finishReason      "stop" (EOS or a stop string) or "length" (max tokens, the context, or the deadline)
 * @param engineReason      the engine's reason ({@link dev.jseek.infer.Generation#STOP_TOKEN} ...)
 * @param tokens            the generated ids, with their log-probabilities when asked for (null otherwise)
 * @param cachedPromptTokens prompt tokens reused from the prefix cache
 * @param clientGone        the sink refused text (nobody listens any more) and generation was stopped
 * @param tokenNanos        when each token reached the caller, in nanoseconds since the request was submitted
 *                          (the first is the time to first token)
 */
public record Completion(String text, int promptTokens, int completionTokens, String finishReason, String engineReason,
                         List<TokenInfo> tokens, int cachedPromptTokens, boolean clientGone, long[] tokenNanos) {
    /** A generated token and its log-probabilities (null unless {@link Sampling#topLogprobs()} >= 0). */
    public record TokenInfo(int id, Logprobs logprobs) {}

    public Completion {
        tokens = List.copyOf(tokens);
    }
}
