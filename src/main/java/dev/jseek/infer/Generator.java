package dev.jseek.infer;

import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.KvCache;
import java.util.Arrays;
import java.util.function.IntConsumer;
import java.util.function.IntPredicate;

/**
 * Autoregressive generation with the MLA latent KV cache: one prefill call over the prompt, then one decode call per
 * new token (absorbed attention by default, spec B.3), each token chosen by a {@link Sampler} and streamed to a
 * listener as soon as it is chosen. Stops at a stop token (EOS by default), at maxNewTokens, or at the model's
 * context length.
 */
public final class Generator {
    /** What a generation produced and how fast: prefill and decode are timed separately. */
    public record Result(int[] tokens, int promptTokens, long prefillNanos, long decodeNanos, String stopReason) {
        public double prefillTokensPerSecond() { return promptTokens / Math.max(prefillNanos / 1e9, 1e-9); }

        /** Decode speed over the tokens produced after the first (the first comes from the prefill logits). */
        public double decodeTokensPerSecond() {
            return Math.max(tokens.length - 1, 0) / Math.max(decodeNanos / 1e9, 1e-9);
        }
    }

    private final DeepSeekV3 model;
    private final AttnMode mode;

    public Generator(DeepSeekV3 model, AttnMode mode) {
        this.model = model;
        this.mode = mode;
    }

    /**
     * Generates up to {@code maxNewTokens} tokens after {@code prompt}. {@code stopTokens} end generation (the stop
     * token is included in the result and streamed). {@code onToken} receives each token as it is chosen.
     */
    public Result generate(int[] prompt, int maxNewTokens, Sampler sampler, int[] stopTokens, IntConsumer onToken) {
        return generateWhile(prompt, maxNewTokens, sampler, stopTokens, onToken == null ? null : id -> {
            onToken.accept(id);
            return true;
        });
    }

    /**
     * As {@link #generate}, but the listener can end generation: when {@code onToken} returns false for a token
     * (e.g. a stop string completed, or the client went away) no further token is computed and the stop reason is
     * "stopped by caller" (unless that token was a stop token or the last one anyway).
     */
    public Result generateWhile(int[] prompt, int maxNewTokens, Sampler sampler, int[] stopTokens, IntPredicate onToken) {
        if (prompt.length == 0) throw new IllegalArgumentException("the prompt is empty: give at least one token (e.g. BOS = "
                + model.config.bosTokenId() + ")");
        if (maxNewTokens < 0) throw new IllegalArgumentException("max new tokens must be >= 0, got " + maxNewTokens);
        int maxPos = model.config.maxPositionEmbeddings();
        if (prompt.length >= maxPos)
            throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens; the model's context is " + maxPos);
        int capacity = Math.min(maxPos, prompt.length + maxNewTokens);
        KvCache cache = model.newCache(capacity, mode);
        int vocab = model.config.vocabSize();
        int[] out = new int[maxNewTokens];
        int n = 0;
        String reason = "max tokens";
        long t0 = System.nanoTime();
        float[] logits = model.logits(model.forwardHidden(prompt, 0, cache), prompt.length - 1, 1);
        long t1 = System.nanoTime();
        int pos = prompt.length;
        int[] one = new int[1];
        while (n < maxNewTokens) {
            int tok = sampler.sample(logits, 0, vocab);
            out[n++] = tok;
            boolean more = onToken == null || onToken.test(tok);
            if (contains(stopTokens, tok)) { reason = "stop token"; break; }
            if (n == maxNewTokens) break;
            if (!more) { reason = "stopped by caller"; break; }
            if (pos >= capacity) { reason = "context length"; break; }
            one[0] = tok;
            logits = model.forward(one, pos++, cache);
        }
        long t2 = System.nanoTime();
        return new Result(Arrays.copyOf(out, n), prompt.length, t1 - t0, t2 - t1, reason);
    }

    private static boolean contains(int[] a, int v) {
        if (a == null) return false;
        for (int x : a) if (x == v) return true;
        return false;
    }
}
