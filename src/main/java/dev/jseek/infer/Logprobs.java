package dev.jseek.infer;

/**
 * Log-probabilities of a row of logits under the model's own distribution (softmax of the raw logits, before
 * temperature or truncation, as OpenAI's {@code logprobs} report them): the chosen token's and the {@code top} most
 * likely ones, in double precision.
 *
 * @param logprob    log p(chosen)
 * @param topIds     the most likely ids, most likely first (ties: lower id first)
 * @param topLogprobs their log-probabilities
 */
public record Logprobs(float logprob, int[] topIds, float[] topLogprobs) {
    /** Of logits[off, off+n) for token {@code chosen}, with the {@code top} best alternatives (0 = none). */
    public static Logprobs of(float[] logits, int off, int n, int chosen, int top) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) if (logits[off + i] > max) max = logits[off + i];
        double sum = 0;
        for (int i = 0; i < n; i++) sum += Math.exp(logits[off + i] - max);
        double logZ = max + Math.log(sum);
        int k = Math.min(top, n);
        int[] ids = new int[k];
        float[] lps = new float[k];
        // insertion into a sorted top-k (k <= 20)
        int filled = 0;
        for (int i = 0; i < n && k > 0; i++) {
            float v = logits[off + i];
            if (filled == k && !(v > logits[off + ids[k - 1]])) continue;
            int j = Math.min(filled, k - 1);
            while (j > 0 && v > logits[off + ids[j - 1]]) {
                ids[j] = ids[j - 1];
                j--;
            }
            ids[j] = i;
            if (filled < k) filled++;
        }
        for (int j = 0; j < k; j++) lps[j] = (float) (logits[off + ids[j]] - logZ);
        return new Logprobs((float) (logits[off + chosen] - logZ), ids, lps);
    }
}
