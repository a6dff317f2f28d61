package dev.jseek.train;

/**
 * Mean softmax cross-entropy over the rows whose target is >= 0 (a negative target is ignored). Forward replaces the
 * logits [N, V] in place by the probabilities (what the backward needs); the fused backward is
 * dlogits += scale * (p - onehot(target)) / count.
 */
public final class CrossEntropy {
    private CrossEntropy() {}

    /** Returns the mean loss over valid rows (0 when none); logits become probabilities. */
    public static double forward(float[] x, int off, int N, int V, int[] targets, int tOff) {
        double loss = 0;
        int count = 0;
        for (int r = 0; r < N; r++) {
            int o = off + r * V, tg = targets[tOff + r];
            if (tg >= V) throw new IllegalArgumentException("target id " + tg + " at position " + (tOff + r) + " outside vocabulary [0, " + V + ")");
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < V; i++) max = Math.max(max, x[o + i]);
            double sum = 0;
            for (int i = 0; i < V; i++) sum += Math.exp(x[o + i] - max);
            if (tg >= 0) {
                loss += Math.log(sum) - (x[o + tg] - max);
                count++;
            }
            float inv = (float) (1.0 / sum);
            for (int i = 0; i < V; i++) x[o + i] = (float) Math.exp(x[o + i] - max) * inv;
        }
        return count == 0 ? 0.0 : loss / count;
    }

    /** Number of rows with a target >= 0. */
    public static int count(int[] targets, int tOff, int N) {
        int c = 0;
        for (int r = 0; r < N; r++) if (targets[tOff + r] >= 0) c++;
        return c;
    }

    /** dx += scale * (p - onehot) / count, p read at probs[off..]. */
    public static void backward(float[] dx, int dOff, float[] probs, int off, int N, int V, int[] targets, int tOff, float scale) {
        int count = count(targets, tOff, N);
        if (count == 0) return;
        float c = scale / count;
        for (int r = 0; r < N; r++) {
            int tg = targets[tOff + r];
            if (tg < 0) continue;
            int o = off + r * V, dOo = dOff + r * V;
            for (int i = 0; i < V; i++) dx[dOo + i] += c * probs[o + i];
            dx[dOo + tg] -= c;
        }
    }
}
