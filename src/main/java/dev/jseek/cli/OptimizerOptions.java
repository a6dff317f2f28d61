package dev.jseek.cli;

import dev.jseek.train.AdamW;
import picocli.CommandLine.Option;

/** AdamW's weight decay and epsilon and the gradient-norm clip of a training run ({@code train}, {@code sft}, {@code grpo}). */
final class OptimizerOptions {
    @Option(names = "--weight-decay", defaultValue = "0.1", description = "AdamW weight decay on matrices (default ${DEFAULT-VALUE}).") double weightDecay;
    @Option(names = "--eps", defaultValue = "1e-8", description = "AdamW epsilon (default ${DEFAULT-VALUE}).") double eps;
    @Option(names = "--clip", defaultValue = "1.0", description = "Global gradient-norm clip, <= 0 disables (default ${DEFAULT-VALUE}).") double clip;

    /** --eps, --weight-decay and --clip are finite (eps > 0, weight decay >= 0). */
    void check() {
        if (!(eps > 0) || Double.isInfinite(eps)) throw new UserException("--eps must be a finite number > 0, got " + eps);
        if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) throw new UserException("--weight-decay must be a finite number >= 0, got " + weightDecay);
        if (Double.isNaN(clip) || Double.isInfinite(clip)) throw new UserException("--clip must be a finite number (<= 0 disables), got " + clip);
    }

    /** AdamW with the report's betas (0.9, 0.95), these settings and the moments' storage. */
    AdamW.Config adam(boolean bf16Moments) { return new AdamW.Config(0.9, 0.95, eps, weightDecay, bf16Moments); }
}
