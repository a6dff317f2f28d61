package dev.jseek.train;

import java.util.List;

/**
 * What one training step did ({@link Trainer#step()}): its 1-based {@code step} and the tokens seen after it,
 * sequences in the global batch, the losses (mean over micro-batches), the pre-clip global gradient norm, the
 * schedule values used (lr, gamma, lambda), throughput, whether the step was skipped as non-finite, and per MoE
 * layer ({@code moeLayers} = HF layer ids) the expert loads of the global batch and MaxVio = max load / mean load - 1
 * ([TR] §4.5.2).
 */
public record StepMetrics(long step, long tokens, int sequences, StepLosses losses, double gradNorm, double lr,
                          double gamma, double lambda, double seconds, double tokensPerSecond, boolean skipped,
                          List<Integer> moeLayers, long[][] expertLoad, double[] maxVio) {

    /** MaxVio of one layer's loads: max / mean - 1 (0 when no tokens were routed). */
    public static double maxVio(long[] load) {
        long sum = 0, max = 0;
        for (long v : load) {
            sum += v;
            max = Math.max(max, v);
        }
        if (sum == 0 || load.length == 0) return 0;
        double mean = (double) sum / load.length;
        return max / mean - 1;
    }
}
