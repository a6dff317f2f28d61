package dev.jseek.train;

import java.util.List;
import java.util.Map;

/**
 * What one training step did ({@link Trainer#step()}): its 1-based {@code step} and the tokens seen after it,
 * sequences in the global batch, the losses (mean over micro-batches), the pre-clip global gradient norm, the
 * schedule values used (lr, gamma, lambda), throughput, whether the step was skipped as non-finite, and per MoE
 * layer ({@code moeLayers} = HF layer ids) the expert loads of the global batch and MaxVio = max load / mean load - 1
 * (report §4.5.2); on validation steps ({@code evaluated}) the validation main cross-entropy {@code valLoss} (nats per
 * token) and bits per byte {@code valBpb} (NaN when the data set does not record its text bytes).
 */
public record StepMetrics(long step, long tokens, int sequences, StepLosses losses, double gradNorm, double lr,
                          double gamma, double lambda, double seconds, double tokensPerSecond, boolean skipped,
                          List<Integer> moeLayers, long[][] expertLoad, double[] maxVio, boolean evaluated,
                          double valLoss, double valBpb, Map<String, Double> extra) {

    /** {@code extra}: the model's own statistics of the step ({@link Trainable#stats}), mean over micro-batches; in insertion order. */
    public StepMetrics {
        extra = extra == null ? Map.of() : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(extra));
    }

    /** A step with validation fields and no extra statistics. */
    public StepMetrics(long step, long tokens, int sequences, StepLosses losses, double gradNorm, double lr, double gamma,
                       double lambda, double seconds, double tokensPerSecond, boolean skipped, List<Integer> moeLayers,
                       long[][] expertLoad, double[] maxVio, boolean evaluated, double valLoss, double valBpb) {
        this(step, tokens, sequences, losses, gradNorm, lr, gamma, lambda, seconds, tokensPerSecond, skipped, moeLayers, expertLoad,
                maxVio, evaluated, valLoss, valBpb, Map.of());
    }

    /** A step without validation. */
    public StepMetrics(long step, long tokens, int sequences, StepLosses losses, double gradNorm, double lr, double gamma,
                       double lambda, double seconds, double tokensPerSecond, boolean skipped, List<Integer> moeLayers,
                       long[][] expertLoad, double[] maxVio) {
        this(step, tokens, sequences, losses, gradNorm, lr, gamma, lambda, seconds, tokensPerSecond, skipped, moeLayers, expertLoad,
                maxVio, false, Double.NaN, Double.NaN);
    }

    /** The same step with a validation result. */
    public StepMetrics withValidation(Validation.Result v) {
        return new StepMetrics(step, tokens, sequences, losses, gradNorm, lr, gamma, lambda, seconds, tokensPerSecond, skipped, moeLayers,
                expertLoad, maxVio, true, v.loss(), v.bitsPerByte(), extra);
    }

    /** The same step with extra statistics. */
    public StepMetrics withExtra(Map<String, Double> x) {
        return new StepMetrics(step, tokens, sequences, losses, gradNorm, lr, gamma, lambda, seconds, tokensPerSecond, skipped, moeLayers,
                expertLoad, maxVio, evaluated, valLoss, valBpb, x);
    }

    /** The largest MaxVio over the MoE layers (0 without MoE). */
    public double maxVioMax() {
        double m = 0;
        for (double v : maxVio) m = Math.max(m, v);
        return m;
    }

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
