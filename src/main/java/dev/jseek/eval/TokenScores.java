package dev.jseek.eval;

import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.KvCache;

/**
 * Next-token log-probabilities of a token sequence under the inference model, computed in chunks of at most
 * {@code chunk} positions through one KV cache (a call at position p attends to everything cached before it, so
 * chunked and whole-sequence forwards give the same logits; memory stays at chunk x vocab logits). The
 * log-softmax is taken in double.
 */
public final class TokenScores {
    private TokenScores() {}

    /** Default chunk of positions per forward: {@code jseek.eval.chunk} (default 256). */
    public static int defaultChunk() { return Integer.getInteger("jseek.eval.chunk", 256); }

    /**
     * log p(tokens[i] | tokens[0..i)) for i = from..tokens.length-1 (from >= 1): an array of tokens.length - from
     * values. Positions before {@code from} are only context.
     */
    public static double[] logProbs(DeepSeekV3 m, int[] tokens, int from, int chunk) {
        int n = tokens.length;
        if (from < 1 || from > n) throw new IllegalArgumentException("first scored position " + from + " outside 1.." + n);
        if (chunk < 1) throw new IllegalArgumentException("chunk must be >= 1, got " + chunk);
        int ctx = n - 1, V = m.config.vocabSize();
        if (ctx >= m.config.maxPositionEmbeddings())
            throw new IllegalArgumentException(n + " tokens exceed max_position_embeddings " + m.config.maxPositionEmbeddings() + " of the model");
        double[] out = new double[n - from];
        KvCache cache = m.newCache(Math.max(1, ctx), AttnMode.ABSORB);
        for (int p0 = 0; p0 < ctx; p0 += chunk) {
            int len = Math.min(chunk, ctx - p0);
            int[] part = java.util.Arrays.copyOfRange(tokens, p0, p0 + len);
            float[] hidden = m.forwardHidden(part, p0, cache);
            // rows whose next token is scored: positions p with p + 1 >= from
            int r0 = Math.max(0, from - 1 - p0);
            if (r0 >= len) continue;
            float[] logits = m.logits(hidden, r0, len - r0);
            for (int r = r0; r < len; r++) {
                int target = p0 + r + 1;
                out[target - from] = logSoftmaxAt(logits, (r - r0) * V, V, tokens[target]);
            }
        }
        return out;
    }

    /** log softmax(x[off..off+V))[target] in double. */
    public static double logSoftmaxAt(float[] x, int off, int V, int target) {
        double max = Double.NEGATIVE_INFINITY, s = 0;
        for (int i = 0; i < V; i++) max = Math.max(max, x[off + i]);
        for (int i = 0; i < V; i++) s += Math.exp(x[off + i] - max);
        return x[off + target] - max - Math.log(s);
    }
}
