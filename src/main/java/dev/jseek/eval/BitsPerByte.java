package dev.jseek.eval;

import dev.jseek.data.TokenStore;
import dev.jseek.model.DeepSeekV3;

/**
 * Held-out bits per byte of the inference model: the validation split is cut into consecutive windows of
 * {@code window} tokens; in each, every token after the first is scored given the tokens before it in the window
 * ({@link TokenScores}). bits per byte = (sum of -ln p) / (ln 2 * scored tokens * bytesPerToken), where
 * bytesPerToken = UTF-8 text bytes / tokens of the split (from the data manifest), the same conversion as training's
 * validation ({@code dev.jseek.train.Validation#bitsPerByte}).
 */
public final class BitsPerByte {
    private BitsPerByte() {}

    /** The outcome: nats per scored token, bits per byte, tokens scored, windows. */
    public record Result(double natsPerToken, double bitsPerByte, long tokens, int windows) {}

    /** Scores up to {@code maxTokens} tokens of {@code store} (at least one window) in windows of {@code window} tokens. */
    public static Result evaluate(DeepSeekV3 m, TokenStore store, int window, long maxTokens, double bytesPerToken, int chunk) {
        if (window < 2) throw new IllegalArgumentException("bits-per-byte window must be >= 2 tokens, got " + window);
        if (!(bytesPerToken > 0)) throw new IllegalArgumentException("bytes per token must be > 0, got " + bytesPerToken);
        long avail = store.size() / window;
        if (avail < 1) throw new IllegalArgumentException("the validation split has " + store.size() + " tokens, fewer than one window of " + window);
        int n = (int) Math.max(1, Math.min(avail, maxTokens / window));
        int[][] windows = new int[n][window];
        for (int i = 0; i < n; i++) store.read((long) i * window, windows[i], 0, window);
        return evaluate(m, windows, bytesPerToken, chunk);
    }

    /** Scores the given windows (each at least 2 tokens). */
    public static Result evaluate(DeepSeekV3 m, int[][] windows, double bytesPerToken, int chunk) {
        double nats = 0;
        long k = 0;
        for (int[] w : windows) {
            for (double lp : TokenScores.logProbs(m, w, 1, chunk)) nats -= lp;
            k += w.length - 1;
        }
        double perToken = nats / k;
        return new Result(perToken, perToken / (Math.log(2) * bytesPerToken), k, windows.length);
    }
}
