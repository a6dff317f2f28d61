package dev.jseek.cli;

import dev.jseek.io.Checkpoint;
import dev.jseek.model.ModelConfig;
import dev.jseek.train.BatchRamp;
import dev.jseek.train.LossCurves;
import dev.jseek.train.LrSchedule;
import dev.jseek.train.Precision;
import dev.jseek.train.TrainCheckpoint;
import dev.jseek.train.TrainModel;
import dev.jseek.train.TrainerConfig;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.UnaryOperator;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The options of a training run that {@code jseek train}, {@code sft} and {@code grpo} share (the run directory,
 * resume, balance loss, AdamW and clipping ({@link OptimizerOptions}), GEMM precision, seed, checkpoints
 * ({@link CheckpointOptions}), plots, progress), and the steps of the
 * run builder they share: options -> {@link #trainerConfig} -> {@link #model} -> the loop ({@link TrainingRun}) ->
 * {@link #plots}.
 */
final class RunOptions {
    @Option(names = "--out", description = "Run directory: checkpoints step-N/, metrics.jsonl, loss-curves.png/.html (sft/grpo: tokenizer.json).") Path out;
    @Option(names = "--resume", arity = "0..1", fallbackValue = "", description = "Continue from a step-N directory, or (no value) the newest valid checkpoint in --out; "
            + "--resume=auto: that one when there is one, else a new run (the same command for every restart).") String resume;
    @Option(names = "--balance-alpha", defaultValue = "1e-4", description = "Balance loss weight alpha, 0 = off (default ${DEFAULT-VALUE}).") float alpha;
    @Mixin OptimizerOptions optimizer;
    @Option(names = "--precision", defaultValue = "fp32", description = "GEMM precision of attention/FFN Linears: fp32, bf16 (operands rounded to bfloat16, FP32 accumulation) or fp8 (E4M3, fine-grained scales) (docs/architecture.md §8; default ${DEFAULT-VALUE}).") String precision;
    @Option(names = "--seed", defaultValue = "1", description = "Seed of the init, data order, sampling and trainer RNG (default ${DEFAULT-VALUE}).") long seed;
    @Mixin CheckpointOptions checkpoints;
    @Option(names = "--no-plot", description = "Do not draw loss-curves.png/.html at the end.") boolean noPlot;
    @Option(names = "--no-progress", description = "No progress bar.") boolean noProgress;

    /** The checkpoint to resume from, or null for a new run (--resume=auto: the newest valid checkpoint in --out, if any). */
    Path resumeDir() {
        if ("auto".equals(resume)) resume = TrainCheckpoint.latest(out, w -> System.err.println("jseek: warning: " + dev.jseek.io.Printable.escape(w))) != null ? "" : null;
        return resume == null ? null : TrainCheckpoint.resolve(resume.isEmpty() ? out : Path.of(resume), w -> System.err.println("jseek: warning: " + dev.jseek.io.Printable.escape(w)));
    }

    /** {@code --batch} must be a positive multiple of {@code --micro-batch}, which must be >= 1. */
    static void checkBatch(int micro, int batch) {
        if (micro < 1 || batch < micro || batch % micro != 0)
            throw new UserException("--batch " + batch + " must be a positive multiple of --micro-batch " + micro);
    }

    void requireAlpha() {
        if (!(alpha >= 0)) throw new UserException("--balance-alpha must be >= 0, got " + alpha);
    }

    Precision precision() {
        return switch (precision.toLowerCase(Locale.ROOT)) {
            case "fp32", "f32" -> Precision.FP32;
            case "bf16" -> Precision.BF16;
            case "fp8" -> Precision.FP8;
            default -> throw new UserException("--precision: unknown value '" + precision + "' (use fp32, bf16 or fp8)");
        };
    }

    /**
     * The loop's settings: these options plus the schedules, the batch, the moments' storage and the model's config;
     * {@code extra} adds what one command alone sets (EMA, the non-finite policy, the evaluation interval).
     */
    TrainerConfig trainerConfig(LrSchedule lr, LrSchedule gamma, LrSchedule lambda, BatchRamp batch, boolean bf16Moments, ModelConfig c,
                                long steps, UnaryOperator<TrainerConfig.Builder> extra) {
        try {
            return extra.apply(TrainerConfig.builder(lr).gamma(gamma).lambda(lambda).adam(optimizer.adam(bf16Moments))
                    .batch(batch).maxGradNorm(optimizer.clip).seed(seed).checkpoints(out, checkpoints.every, checkpoints.keep).configJson(c.toJson())
                    .metricsFile(out.resolve("metrics.jsonl")).progressBar(!noProgress).totalSteps(steps)).build();
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage(), e);
        }
    }

    /**
     * The training model of {@code c} for micro-batches of rows x seqLen with the balance-loss settings; unless
     * resuming (the trainer then loads the checkpoint), the weights of {@code initFrom}, else a random init N(0, initStd^2).
     */
    TrainModel model(ModelConfig c, int rows, int seqLen, boolean recompute, boolean seqWise, Path resumeDir, Path initFrom, float initStd) {
        return model(c, rows, seqLen, recompute, seqWise, resumeDir, initFrom, initStd, null);
    }

    /** With {@code shard}: a model holding only that expert-parallel rank's routed experts (null: all). */
    TrainModel model(ModelConfig c, int rows, int seqLen, boolean recompute, boolean seqWise, Path resumeDir, Path initFrom, float initStd,
                     dev.jseek.train.ExpertShard shard) {
        return model(c, rows, seqLen, recompute, seqWise, resumeDir, initFrom, initStd, shard, null);
    }

    /** With {@code units}: a pipeline rank's model, holding only the parameters of those units ({@link TrainModel#forUnits}; null: all). */
    TrainModel model(ModelConfig c, int rows, int seqLen, boolean recompute, boolean seqWise, Path resumeDir, Path initFrom, float initStd,
                     dev.jseek.train.ExpertShard shard, boolean[] units) {
        TrainModel m = units != null ? TrainModel.forUnits(c, rows, seqLen, recompute, precision(), units)
                : new TrainModel(c, rows, seqLen, recompute, precision(), shard);
        m.setBalanceAlpha(alpha);
        m.setSequenceWiseBalance(seqWise);
        if (resumeDir == null) {
            if (initFrom != null) try (Checkpoint ck = Checkpoint.open(initFrom)) { m.load(ck); }
            else m.initRandom(seed, initStd);
        }
        return m;
    }

    /** The loss curves of the run (after the trainer closed the metrics log); null with a warning when they cannot be drawn. */
    LossCurves.Written plots(String command) {
        if (noPlot) return null;
        try {
            return LossCurves.write(out.resolve("metrics.jsonl"), out, command + ": " + out.toAbsolutePath().normalize().getFileName(), 1200, 1000);
        } catch (RuntimeException e) {
            System.err.println("jseek: warning: could not draw the loss curves: " + dev.jseek.io.Printable.escape(e.getMessage()));
            return null;
        }
    }

    /** The "output" line of the settings printout. */
    String outputLine(String plots) {
        return String.format(Locale.ROOT, "  output     %s: checkpoints %s (keep %d), metrics.jsonl%s%n", out,
                checkpoints.when(), checkpoints.keep, noPlot ? "" : plots);
    }
}
