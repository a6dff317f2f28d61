package dev.jseek.infer;

import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.KvCache;

/**
 * Prompt prefill in chunks: the prompt goes through the model {@code chunk} positions at a time, each chunk attending
 * to everything cached before it, so the activations and attention scratch of one call hold at most chunk rows (the
 * latent KV cache grows with the prompt, nothing else does) and the logits are those of one whole-prompt call.
 * Knob: {@code jseek.prefillChunk} (default 512 positions).
 */
public final class Prefill {
    private Prefill() {}

    /** The chunk size from {@code jseek.prefillChunk} (default 512, at least 1). */
    public static int chunk() { return Math.max(1, Integer.getInteger("jseek.prefillChunk", 512)); }

    /** Runs {@code prompt} at positions start.. into {@code cache}; returns the logits [vocab] of its last position. */
    public static float[] lastLogits(DeepSeekV3 m, int[] prompt, int start, KvCache cache, int chunk) {
        if (prompt.length == 0) throw new IllegalArgumentException("empty prompt");
        if (chunk < 1) throw new IllegalArgumentException("prefill chunk must be >= 1, got " + chunk);
        float[] hidden = null;
        int rows = 0;
        for (int p0 = 0; p0 < prompt.length; p0 += chunk) {
            int n = Math.min(chunk, prompt.length - p0);
            int[] part = n == prompt.length ? prompt : java.util.Arrays.copyOfRange(prompt, p0, p0 + n);
            hidden = m.forwardHidden(part, start + p0, cache);
            rows = n;
        }
        return m.logits(hidden, rows - 1, 1);
    }
}
