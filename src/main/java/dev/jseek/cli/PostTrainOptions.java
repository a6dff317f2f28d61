package dev.jseek.cli;

import dev.jseek.model.ModelConfig;
import dev.jseek.tokenizer.Tokenizer;
import dev.jseek.train.AdamW;
import dev.jseek.train.BatchRamp;
import dev.jseek.train.LrSchedule;
import dev.jseek.train.Precision;
import dev.jseek.train.TrainModel;
import dev.jseek.train.TrainerConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The options {@code jseek sft} and {@code jseek grpo} share with each other (and, by meaning, with
 * {@code jseek train}): the model to start from, the run directory, optimizer, learning-rate schedule (linear warmup,
 * then cosine to a floor: the report's SFT schedule, docs/architecture.md §7.5, is 5e-6 -> 1e-6), clipping, MoE hooks, checkpoints and
 * resume. {@link #trainerConfig} turns them into the {@link TrainerConfig} of the shared training loop.
 */
final class PostTrainOptions {
    @Mixin RunOptions run;
    @Option(names = "--init-from", description = "HF model directory to start from (config.json + safetensors; a jseek train step-N directory works).") Path initFrom;
    @Option(names = "--tokenizer", description = "tokenizer.json (default: the one in or above --init-from).") Path tokenizer;
    @Option(names = "--steps", description = "Optimizer steps to train until.") Long steps;
    @Option(names = "--lr", description = "Peak learning rate (default: sft 5e-6, grpo 1e-6, as the report and DeepSeekMath).") Double lr;
    @Option(names = "--min-lr", description = "Learning rate at the last step, reached by a cosine (default: sft 1e-6, grpo = --lr).") Double minLr;
    @Option(names = "--warmup-steps", defaultValue = "0", description = "Linear warmup steps before the cosine (default ${DEFAULT-VALUE}).") long warmup;
    @Option(names = "--gamma", defaultValue = "0", description = "Aux-loss-free bias update speed (default ${DEFAULT-VALUE}: the report's end-of-pre-training value).") double gamma;

    void requireBasics(String cmd) {
        if (run.out == null || steps == null || (initFrom == null && run.resume == null))
            throw new UserException("jseek " + cmd + " needs --init-from MODEL_DIR (or --resume), --out DIR and --steps N (see --help)");
        if (steps < 1) throw new UserException("--steps must be >= 1, got " + steps);
        if (warmup < 0 || warmup >= steps) throw new UserException("--warmup-steps " + warmup + " must be in [0, --steps " + steps + ")");
        run.requireAlpha();
        run.optimizer.check();
        if (initFrom != null && !Files.isDirectory(initFrom)) throw new UserException("--init-from " + initFrom + ": no such model directory");
    }

    ModelConfig config(Path resumeDir) {
        return ModelConfig.load((resumeDir != null ? resumeDir : initFrom).resolve("config.json"));
    }

    /** A training model of {@code c} for micro-batches of rows x seqLen, with the --init-from weights unless resuming. */
    TrainModel model(ModelConfig c, int rows, int seqLen, Path resumeDir) {
        return run.model(c, rows, seqLen, true, true, resumeDir, initFrom, 0f);
    }

    /** The tokenizer (explicit, else in or above --init-from, else in or above the resumed checkpoint). */
    Tokenizer tokenizer(Path resumeDir) {
        return TokenizerFiles.find(initFrom != null ? initFrom : resumeDir, tokenizer, true);
    }

    /** Copies the tokenizer into --out (if it has none), so the step-N directories find it (generate, serve). */
    void copyTokenizer(Tokenizer t) {
        try {
            Files.createDirectories(run.out);
            Path dst = run.out.resolve("tokenizer.json");
            if (!Files.exists(dst) && t.source() != null) {
                Path tmp = run.out.resolve("tokenizer.json.tmp");
                Files.copy(t.source(), tmp, StandardCopyOption.REPLACE_EXISTING);
                Files.move(tmp, dst, StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException e) {
            throw new UserException(run.out + ": cannot write tokenizer.json: " + e, e);
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
        return run.trainerConfig(lrs, LrSchedule.constant(gamma), LrSchedule.constant(lambda), BatchRamp.fixed(batch, micro),
                run.precision() == Precision.FP8, c, steps, b -> b.evalEvery(evalEvery));
    }

    void printOptimizer(PrintWriter o, TrainerConfig cfg) {
        AdamW.Config a = cfg.adam();
        o.printf(Locale.ROOT, "  lr         %s%n", TrainCommand.describe(cfg.lr()));
        o.printf(Locale.ROOT, "  optimizer  AdamW beta1 %s beta2 %s eps %s weight decay %s; clip %s; balance alpha %s; gamma %s; precision %s; seed %d%n",
                a.beta1(), a.beta2(), a.eps(), a.weightDecay(), cfg.maxGradNorm() > 0 ? cfg.maxGradNorm() : "off", run.alpha, gamma,
                run.precision().name().toLowerCase(Locale.ROOT), run.seed);
        o.print(run.outputLine(", loss curves"));
    }
}
