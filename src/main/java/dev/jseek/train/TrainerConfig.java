package dev.jseek.train;

import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Settings of a {@link Trainer} run (docs/architecture.md §7.1): optimizer, schedules (lr, gamma, lambda by steps/tokens; batch
 * ramp), clipping, EMA, the non-finite policy, seed, checkpointing, validation interval, metrics and progress display. Immutable; build
 * with {@link #builder(LrSchedule)}.
 */
public record TrainerConfig(AdamW.Config adam, LrSchedule lr, LrSchedule gamma, LrSchedule lambda, BatchRamp batch,
                            double maxGradNorm, double emaDecay, NonFinitePolicy onNonFinite, int maxConsecutiveSkips,
                            long seed, Path checkpointDir, long checkpointEvery, int keepLast, long maxShardBytes,
                            String configJson, Path metricsFile, boolean progressBar, long totalSteps,
                            long evalEvery, Consumer<String> warn) {

    /** What to do with a step whose loss or gradient norm is NaN/Inf. */
    public enum NonFinitePolicy {
        /** Do not update anything (params, moments, EMA, biases); count it; stop after too many in a row. */
        SKIP,
        /** Throw {@link NonFiniteException}. */
        STOP
    }

    public TrainerConfig {
        Objects.requireNonNull(adam, "adam");
        Objects.requireNonNull(lr, "lr schedule");
        Objects.requireNonNull(gamma, "gamma schedule");
        Objects.requireNonNull(lambda, "lambda schedule");
        Objects.requireNonNull(onNonFinite, "non-finite policy");
        Objects.requireNonNull(warn, "warn");
        if (Double.isNaN(maxGradNorm)) throw new IllegalArgumentException("max grad norm is NaN");
        if (!(emaDecay >= 0 && emaDecay < 1)) throw new IllegalArgumentException("EMA decay must be in [0, 1) (0 = no EMA), got " + emaDecay);
        if (maxConsecutiveSkips < 0) throw new IllegalArgumentException("max consecutive skips must be >= 0, got " + maxConsecutiveSkips);
        if (checkpointEvery < 0) throw new IllegalArgumentException("checkpoint interval must be >= 0, got " + checkpointEvery);
        if (checkpointEvery > 0 && checkpointDir == null) throw new IllegalArgumentException("checkpoint interval " + checkpointEvery + " given without a checkpoint directory");
        if (maxShardBytes < 0) throw new IllegalArgumentException("max shard bytes must be >= 0, got " + maxShardBytes);
        if (evalEvery < 0) throw new IllegalArgumentException("evaluation interval must be >= 0, got " + evalEvery);
        if (totalSteps < 0) throw new IllegalArgumentException("total steps must be >= 0, got " + totalSteps);
    }

    public boolean hasEma() { return emaDecay > 0; }

    public static Builder builder(LrSchedule lr) { return new Builder(lr); }

    /** A builder pre-set to the report's optimizer, gamma 0.001, lambda 0.3, clip 1.0, no EMA, SKIP (10 in a row), keep 3. */
    public static final class Builder {
        private AdamW.Config adam = AdamW.Config.deepseekV3();
        private LrSchedule lr, gamma = LrSchedule.constant(0.001), lambda = LrSchedule.constant(0.3);
        private BatchRamp batch;
        private double maxGradNorm = 1.0, emaDecay;
        private NonFinitePolicy onNonFinite = NonFinitePolicy.SKIP;
        private int maxConsecutiveSkips = 10, keepLast = 3;
        private long seed, checkpointEvery, maxShardBytes, totalSteps, evalEvery;
        private Path checkpointDir, metricsFile;
        private String configJson;
        private boolean progressBar;
        private Consumer<String> warn = w -> System.err.println("jseek: warning: " + dev.jseek.io.Printable.escape(w));

        private Builder(LrSchedule lr) { this.lr = lr; }

        public Builder adam(AdamW.Config c) { adam = c; return this; }
        public Builder lr(LrSchedule s) { lr = s; return this; }
        public Builder gamma(LrSchedule s) { gamma = s; return this; }
        public Builder lambda(LrSchedule s) { lambda = s; return this; }
        /** Sequences per step by tokens seen; null = one micro-batch per step. */
        public Builder batch(BatchRamp r) { batch = r; return this; }
        /** Global-norm clip; <= 0 disables clipping. */
        public Builder maxGradNorm(double n) { maxGradNorm = n; return this; }
        /** EMA decay in (0, 1); 0 = no EMA. */
        public Builder emaDecay(double d) { emaDecay = d; return this; }
        public Builder onNonFinite(NonFinitePolicy p) { onNonFinite = p; return this; }
        /** SKIP stops with {@link NonFiniteException} once more than this many steps in a row were skipped. */
        public Builder maxConsecutiveSkips(int n) { maxConsecutiveSkips = n; return this; }
        public Builder seed(long s) { seed = s; return this; }
        /** Checkpoint root, interval in steps (0 = only when {@link Trainer#checkpoint()} is called / at the end), newest kept. */
        public Builder checkpoints(Path dir, long every, int keep) { checkpointDir = dir; checkpointEvery = every; keepLast = keep; return this; }
        public Builder maxShardBytes(long b) { maxShardBytes = b; return this; }
        /** HF config.json text written into each checkpoint (e.g. {@code ModelConfig.toJson()}). */
        public Builder configJson(String json) { configJson = json; return this; }
        public Builder metricsFile(Path f) { metricsFile = f; return this; }
        public Builder progressBar(boolean b) { progressBar = b; return this; }
        /** Planned steps (progress bar max / ETA; {@link Trainer#train()} target). */
        public Builder totalSteps(long n) { totalSteps = n; return this; }
        public Builder warn(Consumer<String> w) { warn = w; return this; }
        /** Validation every this many steps (0 = never) when the trainer has a {@link Validation}. */
        public Builder evalEvery(long n) { evalEvery = n; return this; }

        public TrainerConfig build() {
            return new TrainerConfig(adam, lr, gamma, lambda, batch, maxGradNorm, emaDecay, onNonFinite, maxConsecutiveSkips, seed,
                    checkpointDir, checkpointEvery, keepLast, maxShardBytes, configJson, metricsFile, progressBar, totalSteps, evalEvery, warn);
        }
    }
}
