package dev.jseek.infer;

import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.KvCache;
import dev.jseek.model.StepProfile;
import java.util.Arrays;
import java.util.function.IntConsumer;
import java.util.function.IntPredicate;

/**
 * Autoregressive generation with the MLA latent KV cache: one prefill call over the prompt, then one decode call per
 * new token (absorbed attention by default, docs/architecture.md §3.3), each token chosen by a {@link Sampler} and streamed to a
 * listener as soon as it is chosen. Stops at a stop token (EOS by default), at maxNewTokens, or at the model's
 * context length. {@link SpeculativeGenerator} produces the same tokens with MTP drafts.
 */
public final class Generator {
    /**
     * What a generation produced and how fast: prefill and decode are timed separately. {@code drafts} is null for
     * plain decoding; {@link SpeculativeGenerator} fills it.
     */
    public record Result(int[] tokens, int promptTokens, long prefillNanos, long decodeNanos, String stopReason,
                         DraftStats drafts) {
        public Result(int[] tokens, int promptTokens, long prefillNanos, long decodeNanos, String stopReason) {
            this(tokens, promptTokens, prefillNanos, decodeNanos, stopReason, null);
        }

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
        return generateWhile(prompt, maxNewTokens, sampler, stopTokens, listener(onToken));
    }

    /**
     * As {@link #generate}, but the listener can end generation: when {@code onToken} returns false for a token
     * (e.g. a stop string completed, or the client went away) no further token is computed and the stop reason is
     * "stopped by caller" (unless that token was a stop token or the last one anyway).
     */
    public Result generateWhile(int[] prompt, int maxNewTokens, Sampler sampler, int[] stopTokens, IntPredicate onToken) {
        int capacity = capacity(model, prompt, maxNewTokens);
        KvCache cache = model.newCache(capacity, mode);
        int vocab = model.config.vocabSize();
        Emitter out = new Emitter(prompt.length, maxNewTokens, capacity, stopTokens, onToken);
        long t0 = System.nanoTime();
        float[] logits = Prefill.lastLogits(model, prompt, 0, cache, Prefill.chunk());
        long t1 = System.nanoTime();
        int pos = prompt.length;
        while (out.more()) {
            long ts = StepProfile.start();
            int tok = sampler.sample(logits, 0, vocab);
            StepProfile.stop(StepProfile.Phase.SAMPLE, ts);
            if (!out.emit(tok)) break;
            logits = model.decodeStep(tok, pos++, cache);
        }
        long t2 = System.nanoTime();
        return out.result(t1 - t0, t2 - t1, null);
    }

    /** A listener that never ends generation (null stays null). */
    static IntPredicate listener(IntConsumer onToken) {
        return onToken == null ? null : id -> {
            onToken.accept(id);
            return true;
        };
    }

    /**
     * Checks a generation request and returns the cache capacity it needs: min(context, prompt + maxNewTokens).
     * Shared with {@link SpeculativeGenerator}.
     */
    static int capacity(DeepSeekV3 model, int[] prompt, int maxNewTokens) {
        if (prompt.length == 0) throw new IllegalArgumentException("the prompt is empty: give at least one token (e.g. BOS = "
                + model.config.bosTokenId() + ")");
        if (maxNewTokens < 0) throw new IllegalArgumentException("max new tokens must be >= 0, got " + maxNewTokens);
        int maxPos = model.config.maxPositionEmbeddings();
        if (prompt.length >= maxPos)
            throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens; the model's context is " + maxPos);
        return (int) Math.min(maxPos, (long) prompt.length + maxNewTokens);
    }

    /**
     * Collects and streams the generated tokens and decides when generation ends, in one order for every decoder:
     * after token j (which would be fed at position promptLength + j) it stops at a stop token, then at
     * maxNewTokens, then when the listener asks to stop, then when that position is outside the cache (the context
     * length).
     */
    static final class Emitter {
        private final int promptLength, max, capacity;
        private final int[] stop, out;
        private final IntPredicate onToken;
        private int n;
        private String reason = "max tokens";

        Emitter(int promptLength, int maxNewTokens, int capacity, int[] stopTokens, IntPredicate onToken) {
            this.promptLength = promptLength;
            this.max = maxNewTokens;
            this.capacity = capacity;
            this.stop = stopTokens;
            this.onToken = onToken;
            this.out = new int[Math.min(maxNewTokens, capacity - promptLength + 1)]; // the context bounds the count
        }

        /** Whether another token may be emitted. */
        boolean more() { return n < max; }

        /** Tokens emitted so far. */
        int count() { return n; }

        /** Tokens that may still be emitted. */
        int remaining() { return max - n; }

        /** Records and streams {@code tok}; false when generation ends with it. */
        boolean emit(int tok) {
            out[n++] = tok;
            boolean more = onToken == null || onToken.test(tok);
            if (contains(stop, tok)) { reason = "stop token"; return false; }
            if (n == max) return false;
            if (!more) { reason = "stopped by caller"; return false; }
            if (promptLength + n - 1 >= capacity) { reason = "context length"; return false; }
            return true;
        }

        Result result(long prefillNanos, long decodeNanos, DraftStats drafts) {
            return new Result(Arrays.copyOf(out, n), promptLength, prefillNanos, decodeNanos, reason, drafts);
        }

        private static boolean contains(int[] a, int v) {
            if (a == null) return false;
            for (int x : a) if (x == v) return true;
            return false;
        }
    }
}
