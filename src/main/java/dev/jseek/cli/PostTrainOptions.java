package dev.jseek.cli;

import dev.jseek.io.Checkpoint;
import dev.jseek.model.ModelConfig;
import dev.jseek.tokenizer.Tokenizer;
import dev.jseek.train.AdamW;
import dev.jseek.train.BatchRamp;
import dev.jseek.train.LrSchedule;
import dev.jseek.train.Precision;
import dev.jseek.train.TrainCheckpoint;
import dev.jseek.train.TrainModel;
import dev.jseek.train.TrainerConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import picocli.CommandLine.Option;

/**
 * The options {@code jseek sft} and {@code jseek grpo} share with each other (and, by meaning, with
 * {@code jseek train}): the model to start from, the run directory, optimizer, learning-rate schedule (linear warmup,
 * then cosine to a floor: the report's SFT schedule, docs/architecture.md §7.5, is 5e-6 -> 1e-6), clipping, MoE hooks, checkpoints and
 * resume. {@link #trainerConfig} turns them into the {@link TrainerConfig} of the shared training loop.
 */
final class PostTrainOptions {
    @Option(names = "--init-from", description = "HF model directory to start from (config.json + safetensors; a jseek train step-N directory works).") Path initFrom;
    @Option(names = "--out", description = "Run directory: checkpoints step-N/, metrics.jsonl, loss curves, tokenizer.json.") Path out;
    @Option(names = "--tokenizer", description = "tokenizer.json (default: the one in or above --init-from).") Path tokenizer;
    @Option(names = "--resume", arity = "0..1", fallbackValue = "", description = "Continue from a step-N directory, or (no value) the newest valid checkpoint in --out.") String resume;
    @Option(names = "--steps", description = "Optimizer steps to train until.") Long steps;
    @Option(names = "--lr", description = "Peak learning rate (default: sft 5e-6, grpo 1e-6, as the report and DeepSeekMath).") Double lr;
    @Option(names = "--min-lr", description = "Learning rate at the last step, reached by a cosine (default: sft 1e-6, grpo = --lr).") Double minLr;
    @Option(names = "--warmup-steps", defaultValue = "0", description = "Linear warmup steps before the cosine (default ${DEFAULT-VALUE}).") long warmup;
    @Option(names = "--weight-decay", defaultValue = "0.1", description = "AdamW weight decay on matrices (default ${DEFAULT-VALUE}).") double weightDecay;
    @Option(names = "--eps", defaultValue = "1e-8", description = "AdamW epsilon (default ${DEFAULT-VALUE}).") double eps;
    @Option(names = "--clip", defaultValue = "1.0", description = "Global gradient-norm clip, <= 0 disables (default ${DEFAULT-VALUE}).") double clip;
    @Option(names = "--balance-alpha", defaultValue = "1e-4", description = "Sequence-wise balance loss weight alpha, 0 = off (default ${DEFAULT-VALUE}).") float alpha;
    @Option(names = "--gamma", defaultValue = "0", description = "Aux-loss-free bias update speed (default ${DEFAULT-VALUE}: the report's end-of-pre-training value).") double gamma;
    @Option(names = "--precision", defaultValue = "fp32", description = "GEMM precision of attention/FFN Linears: fp32, bf16 or fp8 (default ${DEFAULT-VALUE}).") String precision;
    @Option(names = "--seed", defaultValue = "1", description = "Seed of the data order / sampling (default ${DEFAULT-VALUE}).") long seed;
    @Option(names = "--checkpoint-every", defaultValue = "0", description = "Steps between checkpoints, 0 = only at the end.") long every;
    @Option(names = "--keep", defaultValue = "3", description = "Checkpoints kept (default ${DEFAULT-VALUE}).") int keep;
    @Option(names = "--no-plot", description = "Do not draw loss-curves.png/.html at the end.") boolean noPlot;
    @Option(names = "--no-progress", description = "No progress bar.") boolean noProgress;

    /** The checkpoint to resume from, or null. */
    Path resumeDir() {
        return resume == null ? null : TrainCheckpoint.resolve(resume.isEmpty() ? out : Path.of(resume), w -> System.err.println("jseek: warning: " + w));
    }

    void requireBasics(String cmd) {
        if (out == null || steps == null || (initFrom == null && resume == null))
            throw new UserException("jseek " + cmd + " needs --init-from MODEL_DIR (or --resume), --out DIR and --steps N (see --help)");
        if (steps < 1) throw new UserException("--steps must be >= 1, got " + steps);
        if (warmup < 0 || warmup >= steps) throw new UserException("--warmup-steps " + warmup + " must be in [0, --steps " + steps + ")");
        if (!(alpha >= 0)) throw new UserException("--balance-alpha must be >= 0, got " + alpha);
        if (initFrom != null && !Files.isDirectory(initFrom)) throw new UserException("--init-from " + initFrom + ": no such model directory");
    }

    ModelConfig config(Path resumeDir) {
        return ModelConfig.load((resumeDir != null ? resumeDir : initFrom).resolve("config.json"));
    }

    Precision precision() {
        return switch (precision.toLowerCase(Locale.ROOT)) {
            case "fp32", "f32" -> Precision.FP32;
            case "bf16" -> Precision.BF16;
            case "fp8" -> Precision.FP8;
            default -> throw new UserException("--precision: unknown value '" + precision + "' (use fp32, bf16 or fp8)");
        };
    }

    /** A training model of {@code c} for micro-batches of rows x seqLen, with the --init-from weights unless resuming. */
    TrainModel model(ModelConfig c, int rows, int seqLen, Path resumeDir) {
        TrainModel m = new TrainModel(c, rows, seqLen, true, precision());
        m.setBalanceAlpha(alpha);
        if (resumeDir == null) try (Checkpoint ck = Checkpoint.open(initFrom)) { m.load(ck); }
        return m;
    }

    /** The tokenizer (explicit, else in or above --init-from, else in or above the resumed checkpoint). */
    Tokenizer tokenizer(Path resumeDir) {
        return TokenizerFiles.find(initFrom != null ? initFrom : resumeDir, tokenizer, true);
    }

    /** Copies the tokenizer into --out (if it has none), so the step-N directories find it (generate, serve). */
    void copyTokenizer(Tokenizer t) {
        try {
            Files.createDirectories(out);
            Path dst = out.resolve("tokenizer.json");
            if (!Files.exists(dst) && t.source() != null) {
                Path tmp = out.resolve("tokenizer.json.tmp");
                Files.copy(t.source(), tmp, StandardCopyOption.REPLACE_EXISTING);
                Files.move(tmp, dst, StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException e) {
            throw new UserException(out + ": cannot write tokenizer.json: " + e, e);
        }
    }

    /** Linear warmup to the peak, then a cosine to the floor at the last step. */
    LrSchedule lrSchedule(double defPeak, double defMin) {
        double peak = lr != null ? lr : defPeak, floor = minLr != null ? minLr : defMin;
        if (!(peak > 0) || !(floor >= 0)) throw new UserException("--lr must be > 0 and --min-lr >= 0, got " + peak + ", " + floor);
        LrSchedule.Builder b = warmup > 0 ? LrSchedule.builder(0).linear(LrSchedule.Unit.STEPS, warmup, peak) : LrSchedule.builder(peak);
        return b.cosine(LrSchedule.Unit.STEPS, steps, floor).build();
    }

    /** The loop's settings; {@code evalEvery} > 0 evaluates a validation set (if the trainer has one) every that many steps. */
    TrainerConfig trainerConfig(LrSchedule lrs, double lambda, int micro, int batch, ModelConfig c, long evalEvery) {
        try {
            return TrainerConfig.builder(lrs).gamma(LrSchedule.constant(gamma)).lambda(LrSchedule.constant(lambda)).evalEvery(evalEvery)
                    .adam(new AdamW.Config(0.9, 0.95, eps, weightDecay, precision() == Precision.FP8))
                    .batch(BatchRamp.fixed(batch, micro)).maxGradNorm(clip).seed(seed).checkpoints(out, every, keep)
                    .configJson(c.toJson()).metricsFile(out.resolve("metrics.jsonl")).progressBar(!noProgress).totalSteps(steps).build();
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage(), e);
        }
    }

    void printOptimizer(PrintWriter o, TrainerConfig cfg) {
        AdamW.Config a = cfg.adam();
        o.printf(Locale.ROOT, "  lr         %s%n", TrainCommand.describe(cfg.lr()));
        o.printf(Locale.ROOT, "  optimizer  AdamW beta1 %s beta2 %s eps %s weight decay %s; clip %s; balance alpha %s; gamma %s; precision %s; seed %d%n",
                a.beta1(), a.beta2(), a.eps(), a.weightDecay(), cfg.maxGradNorm() > 0 ? cfg.maxGradNorm() : "off", alpha, gamma,
                precision().name().toLowerCase(Locale.ROOT), seed);
        o.printf(Locale.ROOT, "  output     %s: checkpoints %s (keep %d), metrics.jsonl%s%n", out,
                every > 0 ? "every " + every + " steps and at the end" : "at the end", keep, noPlot ? "" : ", loss curves");
    }
}
