package dev.jseek.train;

import dev.jseek.kernels.Ops;

/**
 * Mean softmax cross-entropy (the training objective of report §2.2: L_Main, and L_MTP per depth) over the rows whose target is >= 0 (a negative target is ignored). Forward replaces the
 * logits [N, V] in place by the probabilities (what the backward needs); the fused backward is
 * dlogits += scale * (p - onehot(target)) / count.
 *
 * <p>Weighted variant (post-training, docs/architecture.md §7.5-§7.6): {@link #forwardRows} gives each row's CE_r = -log p_r(target_r),
 * and {@link #backwardWeighted} is the gradient of L = sum_r w_r CE_r for per-row weights w_r:
 * dlogits_r += scale * w_r (p_r - onehot(target_r)). The mean CE is the special case w_r = 1/count.
 */
public final class CrossEntropy {
    private CrossEntropy() {}

    /** Forward: the mean CE of the logits [N, V] against targets[0..N); the logits become probabilities. */
    public static double forward(View logits, int[] targets) {
        return forward(logits.a(), logits.off(), logits.rows(), logits.cols(), targets, 0);
    }

    /** Per-row CE into rowLoss (see {@link #forwardRows(float[], int, int, int, int[], int, double[])}). */
    public static int forwardRows(View logits, int[] targets, double[] rowLoss) {
        return forwardRows(logits.a(), logits.off(), logits.rows(), logits.cols(), targets, 0, rowLoss);
    }

    /** Backward of the mean CE: dlogits += scale * (p - onehot(target)) / count. */
    public static void backward(View dlogits, View probs, int[] targets, float scale) {
        backward(dlogits.a(), dlogits.off(), probs.a(), probs.off(), probs.rows(), probs.cols(), targets, 0, scale);
    }

    /** Backward of sum_r w_r CE_r: dlogits_r += scale * w_r * (p_r - onehot(target_r)). */
    public static void backwardWeighted(View dlogits, View probs, int[] targets, float[] w, float scale) {
        backwardWeighted(dlogits.a(), dlogits.off(), probs.a(), probs.off(), probs.rows(), probs.cols(), targets, 0, w, 0, scale);
    }

    /**
     * Returns the mean loss over valid rows (0 when none); logits become probabilities. Vectorized, parallel over
     * rows; equal to {@link #forwardScalar} up to float rounding (per-row losses are summed in row order).
     */
    public static double forward(float[] x, int off, int N, int V, int[] targets, int tOff) {
        double[] rowLoss = new double[N];
        int count = forwardRows(x, off, N, V, targets, tOff, rowLoss);
        return mean(rowLoss, N, count);
    }

    /** Sum of rowLoss[0..N) in row order over count (0 when count is 0). */
    private static double mean(double[] rowLoss, int N, int count) {
        double loss = 0;
        for (int r = 0; r < N; r++) loss += rowLoss[r];
        return count == 0 ? 0.0 : loss / count;
    }

    /** Scalar twin of {@link #forward} (the test oracle). */
    public static double forwardScalar(float[] x, int off, int N, int V, int[] targets, int tOff) {
        double[] rowLoss = new double[N];
        int count = forwardRowsScalar(x, off, N, V, targets, tOff, rowLoss);
        return mean(rowLoss, N, count);
    }

    /** Number of rows with a target >= 0. */
    public static int count(int[] targets, int tOff, int N) {
        int c = 0;
        for (int r = 0; r < N; r++) if (targets[tOff + r] >= 0) c++;
        return c;
    }

    /** dx += scale * (p - onehot) / count, p read at probs[off..]; vectorized, parallel over rows. */
    public static void backward(float[] dx, int dOff, float[] probs, int off, int N, int V, int[] targets, int tOff, float scale) {
        int count = count(targets, tOff, N);
        if (count == 0) return;
        float c = scale / count;
        TrainPool.forRange(N, TrainPool.grain(N, 1), (lo, hi, w) -> {
            for (int r = lo; r < hi; r++) {
                int tg = targets[tOff + r];
                if (tg < 0) continue;
                VecOps.axpy(c, probs, off + r * V, dx, dOff + r * V, V);
                dx[dOff + r * V + tg] -= c;
            }
        });
    }

    /** Scalar twin of {@link #backward}. */
    public static void backwardScalar(float[] dx, int dOff, float[] probs, int off, int N, int V, int[] targets, int tOff, float scale) {
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

    /**
     * Per-row cross-entropy: rowLoss[r] = -log softmax(x_r)[target_r] for rows with a target >= 0, 0 for the others;
     * logits become probabilities (as {@link #forward}). Returns the number of rows with a target. Vectorized,
     * parallel over rows.
     */
    public static int forwardRows(float[] x, int off, int N, int V, int[] targets, int tOff, double[] rowLoss) {
        int count = 0;
        for (int r = 0; r < N; r++) {
            int tg = targets[tOff + r];
            if (tg >= V) throw new IllegalArgumentException("target id " + tg + " at position " + (tOff + r) + " outside vocabulary [0, " + V + ")");
            if (tg >= 0) count++;
        }
        if (rowLoss.length < N) throw new IllegalArgumentException("rowLoss has " + rowLoss.length + " entries, need " + N);
        TrainPool.forRange(N, TrainPool.grain(N, 1), (lo, hi, w) -> {
            for (int r = lo; r < hi; r++) {
                int o = off + r * V, tg = targets[tOff + r];
                float max = Ops.max(x, o, V);
                float xt = tg >= 0 ? x[o + tg] : 0f;
                double sum = Ops.expSub(x, o, x, o, V, max);
                rowLoss[r] = tg >= 0 ? Math.log(sum) - (xt - max) : 0.0;
                VecOps.scale(x, o, V, (float) (1.0 / sum));
            }
        });
        return count;
    }

    /** Scalar twin of {@link #forwardRows}. */
    public static int forwardRowsScalar(float[] x, int off, int N, int V, int[] targets, int tOff, double[] rowLoss) {
        int count = 0;
        for (int r = 0; r < N; r++) {
            int o = off + r * V, tg = targets[tOff + r];
            if (tg >= V) throw new IllegalArgumentException("target id " + tg + " at position " + (tOff + r) + " outside vocabulary [0, " + V + ")");
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < V; i++) max = Math.max(max, x[o + i]);
            double sum = 0;
            for (int i = 0; i < V; i++) sum += Math.exp(x[o + i] - max);
            rowLoss[r] = 0;
            if (tg >= 0) {
                rowLoss[r] = Math.log(sum) - (x[o + tg] - max);
                count++;
            }
            float inv = (float) (1.0 / sum);
            for (int i = 0; i < V; i++) x[o + i] = (float) Math.exp(x[o + i] - max) * inv;
        }
        return count;
    }

    /**
     * Gradient of the weighted loss L = sum_r w_r CE_r: dx_r += scale * w[wOff + r] * (p_r - onehot(target_r)) for
     * rows with a target >= 0 (others untouched). {@code probs} as left by {@link #forwardRows}. Vectorized, parallel
     * over rows.
     */
    public static void backwardWeighted(float[] dx, int dOff, float[] probs, int off, int N, int V, int[] targets, int tOff,
                                        float[] w, int wOff, float scale) {
        TrainPool.forRange(N, TrainPool.grain(N, 1), (lo, hi, wk) -> {
            for (int r = lo; r < hi; r++) {
                int tg = targets[tOff + r];
                float c = scale * w[wOff + r];
                if (tg < 0 || c == 0f) continue;
                VecOps.axpy(c, probs, off + r * V, dx, dOff + r * V, V);
                dx[dOff + r * V + tg] -= c;
            }
        });
    }

    /** Scalar twin of {@link #backwardWeighted}. */
    public static void backwardWeightedScalar(float[] dx, int dOff, float[] probs, int off, int N, int V, int[] targets, int tOff,
                                              float[] w, int wOff, float scale) {
        for (int r = 0; r < N; r++) {
            int tg = targets[tOff + r];
            float c = scale * w[wOff + r];
            if (tg < 0 || c == 0f) continue;
            int o = off + r * V, dOo = dOff + r * V;
            for (int i = 0; i < V; i++) dx[dOo + i] += c * probs[o + i];
            dx[dOo + tg] -= c;
        }
    }
}
