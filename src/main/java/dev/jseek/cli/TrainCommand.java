package dev.jseek.cli;

import dev.jseek.data.DataFormatException;
import dev.jseek.data.DataLoader;
import dev.jseek.data.TokenDataset;
import dev.jseek.io.Checkpoint;
import dev.jseek.model.ModelConfig;
import dev.jseek.model.Presets;
import dev.jseek.train.BatchRamp;
import dev.jseek.train.DataLoaderSource;
import dev.jseek.train.AdamW;
import dev.jseek.train.LrSchedule;
import dev.jseek.train.NonFiniteException;
import dev.jseek.train.Precision;
import dev.jseek.train.TokenBatch;
import dev.jseek.train.TrainCheckpoint;
import dev.jseek.train.TrainModel;
import dev.jseek.train.TrainModelTrainable;
import dev.jseek.train.Trainer;
import dev.jseek.train.TrainerConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code jseek train}: pre-trains a DeepSeek-V3 model on a prepared token directory (spec F.1): AdamW, the report's
 * learning-rate / gamma / lambda schedule shapes scaled to the run, batch-size ramp by gradient accumulation,
 * global-norm clipping, optional EMA, checkpoints every K steps (HF layout + optimizer + EMA + state) and
 * {@code --resume}, metrics as JSONL in the output directory and a progress bar.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Pre-train a DeepSeek-V3 model on a prepared token directory (jseek data prepare).")
public final class TrainCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Option(names = "--data", required = true, description = "Prepared token directory (manifest.json + shards).") Path data;
    @Option(names = "--out", required = true, description = "Run directory: checkpoints step-N/ and metrics.jsonl.") Path out;
    @Option(names = "--preset", description = "Model preset (tiny, small, base, 671b) for a new run.") String preset;
    @Option(names = "--config", description = "HF config.json for a new run.") Path config;
    @Option(names = "--init-from", description = "Start from the weights of this HF model directory (its config.json unless --config/--preset).") Path initFrom;
    @Option(names = "--resume", arity = "0..1", fallbackValue = "", description = "Continue from a step-N directory, or (no value) the newest valid checkpoint in --out.") String resume;

    @Option(names = "--seq-len", defaultValue = "512", description = "Tokens per sequence (default ${DEFAULT-VALUE}).") int seqLen;
    @Option(names = "--micro-batch", defaultValue = "4", description = "Sequences per forward/backward (default ${DEFAULT-VALUE}).") int micro;
    @Option(names = "--batch", defaultValue = "16", description = "Sequences per optimizer step, a multiple of --micro-batch (default ${DEFAULT-VALUE}).") int batch;
    @Option(names = "--batch-start", description = "Batch-size ramp: sequences per step at the start (default = --batch, no ramp).") Integer batchStart;
    @Option(names = "--batch-ramp-tokens", defaultValue = "0", description = "Tokens over which the batch ramps linearly to --batch.") long rampTokens;
    @Option(names = "--steps", required = true, description = "Train until this many steps.") long steps;
    @Option(names = "--total-tokens", description = "Tokens the schedules are scaled to (default steps x batch x seq-len).") Double totalTokens;
    @Option(names = "--lr", defaultValue = "3e-4", description = "Peak learning rate of the report-shaped schedule (default ${DEFAULT-VALUE}).") double lrPeak;
    @Option(names = "--warmup-steps", defaultValue = "100", description = "Linear warmup steps (default ${DEFAULT-VALUE}).") long warmup;
    @Option(names = "--lr-schedule", description = "Explicit schedule, e.g. \"0; linear 2000s 2.2e-4; constant 10e12t; cosine 14.3e12t 2.2e-5\".") String lrSchedule;
    @Option(names = "--gamma-schedule", description = "Bias update speed schedule (default 0.001, 0 for the last 500/14800 of tokens).") String gammaSchedule;
    @Option(names = "--lambda-schedule", description = "MTP loss weight schedule (default 0.3, 0.1 after 10/14.8 of tokens).") String lambdaSchedule;
    @Option(names = "--balance-alpha", defaultValue = "1e-4", description = "Sequence-wise balance loss alpha (default ${DEFAULT-VALUE}).") float alpha;
    @Option(names = "--weight-decay", defaultValue = "0.1") double weightDecay;
    @Option(names = "--eps", defaultValue = "1e-8", description = "AdamW epsilon (default ${DEFAULT-VALUE}).") double eps;
    @Option(names = "--bf16-moments", description = "Store AdamW moments in BF16.") boolean bf16Moments;
    @Option(names = "--clip", defaultValue = "1.0", description = "Global gradient-norm clip, <= 0 disables (default ${DEFAULT-VALUE}).") double clip;
    @Option(names = "--ema-decay", defaultValue = "0", description = "Parameter EMA decay, 0 = none (default ${DEFAULT-VALUE}).") double emaDecay;
    @Option(names = "--seed", defaultValue = "1", description = "Seed of the init, data order and trainer RNG (default ${DEFAULT-VALUE}).") long seed;
    @Option(names = "--init-std", defaultValue = "0.006", description = "Init std of matrices (default ${DEFAULT-VALUE}, as the report).") float initStd;
    @Option(names = "--checkpoint-every", defaultValue = "0", description = "Steps between checkpoints, 0 = only at the end.") long every;
    @Option(names = "--keep", defaultValue = "3", description = "Checkpoints kept (default ${DEFAULT-VALUE}).") int keep;
    @Option(names = "--on-nonfinite", defaultValue = "skip", description = "skip or stop on a NaN/Inf loss or gradient (default ${DEFAULT-VALUE}).") String onNonFinite;
    @Option(names = "--precision", defaultValue = "fp32", description = "GEMM precision of attention/FFN Linears: fp32 or fp8 (spec G; default ${DEFAULT-VALUE}).") String precision;
    @Option(names = "--no-progress", description = "No progress bar.") boolean noProgress;

    @Override public Integer call() {
        if (seqLen < 2) throw new UserException("--seq-len must be >= 2, got " + seqLen);
        if (micro < 1 || batch < micro || batch % micro != 0)
            throw new UserException("--batch " + batch + " must be a positive multiple of --micro-batch " + micro);
        int start = batchStart == null ? batch : batchStart;
        if (start < micro || start % micro != 0 || start > batch)
            throw new UserException("--batch-start " + start + " must be a multiple of --micro-batch " + micro + " and <= --batch " + batch);
        if (steps < 1) throw new UserException("--steps must be >= 1, got " + steps);
        TrainerConfig.NonFinitePolicy policy = switch (onNonFinite.toLowerCase(Locale.ROOT)) {
            case "skip" -> TrainerConfig.NonFinitePolicy.SKIP;
            case "stop" -> TrainerConfig.NonFinitePolicy.STOP;
            default -> throw new UserException("--on-nonfinite: unknown value '" + onNonFinite + "' (use skip or stop)");
        };
        Precision prec = switch (precision.toLowerCase(Locale.ROOT)) {
            case "fp32", "f32" -> Precision.FP32;
            case "fp8" -> Precision.FP8;
            default -> throw new UserException("--precision: unknown value '" + precision + "' (use fp32 or fp8)");
        };
        Path resumeDir = resume == null ? null : TrainCheckpoint.resolve(resume.isEmpty() ? out : Path.of(resume), w -> System.err.println("jseek: warning: " + w));
        ModelConfig c = modelConfig(resumeDir);
        double total = totalTokens != null ? totalTokens : (double) steps * batch * seqLen;
        LrSchedule lr = lrSchedule != null ? parse("--lr-schedule", lrSchedule) : LrSchedule.deepseekV3Lr(lrPeak, warmup, total);
        LrSchedule gamma = gammaSchedule != null ? parse("--gamma-schedule", gammaSchedule) : LrSchedule.deepseekV3Gamma(total);
        LrSchedule lambda = lambdaSchedule != null ? parse("--lambda-schedule", lambdaSchedule) : LrSchedule.deepseekV3Lambda(total);
        TrainerConfig cfg;
        try {
            cfg = TrainerConfig.builder(lr).gamma(gamma).lambda(lambda)
                    .adam(new AdamW.Config(0.9, 0.95, eps, weightDecay, bf16Moments))
                    .batch(new BatchRamp(start, batch, rampTokens, micro)).maxGradNorm(clip).emaDecay(emaDecay)
                    .onNonFinite(policy).seed(seed).checkpoints(out, every, keep).configJson(c.toJson())
                    .metricsFile(out.resolve("metrics.jsonl")).progressBar(!noProgress).totalSteps(steps).build();
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage(), e);
        }
        try (TokenDataset ds = openData()) {
            int dataVocab = ds.manifest().tokenizer().vocabSize();
            if (dataVocab > c.vocabSize())
                throw new UserException(data + ": tokenizer vocab " + dataVocab + " exceeds the model's vocab_size " + c.vocabSize());
            TrainModel model = new TrainModel(c, micro, seqLen);
            model.setBalanceAlpha(alpha);
            model.setPrecision(prec);
            if (resumeDir == null) {
                if (initFrom != null) try (Checkpoint ck = Checkpoint.open(initFrom)) { model.load(ck); }
                else model.initRandom(seed, initStd);
            }
            DataLoader loader;
            try {
                loader = new DataLoader(ds.train(), micro, seqLen, seed, false);
            } catch (DataFormatException e) {
                throw new UserException(data + ": " + e.getMessage(), e);
            }
            try (Trainer<TokenBatch> t = new Trainer<>(new TrainModelTrainable(model), new DataLoaderSource(loader), cfg)) {
                if (resumeDir != null) t.resume(resumeDir);
                long t0 = System.nanoTime(), s0 = t.stepsDone(), tok0 = t.tokens();
                try {
                    t.train(steps);
                } catch (NonFiniteException e) {
                    throw new UserException(e.getMessage(), e);
                }
                double sec = (System.nanoTime() - t0) / 1e9;
                spec.commandLine().getOut().printf(Locale.ROOT, "trained steps %d..%d (%d tokens) in %.1f s, %.0f tokens/s; checkpoint %s; metrics %s%n",
                        s0 + 1, t.stepsDone(), t.tokens() - tok0, sec, (t.tokens() - tok0) / sec, t.lastCheckpoint(), out.resolve("metrics.jsonl"));
                spec.commandLine().getOut().flush();
            }
        }
        return 0;
    }

    private TokenDataset openData() {
        try {
            return TokenDataset.open(data);
        } catch (DataFormatException | IOException e) {
            throw new UserException(data + ": cannot open the prepared token directory: " + e.getMessage(), e);
        }
    }

    private ModelConfig modelConfig(Path resumeDir) {
        if (preset != null && config != null) throw new UserException("give --preset or --config, not both");
        ModelConfig c;
        if (preset != null) c = Presets.get(preset);
        else if (config != null) c = ModelConfig.load(config);
        else if (resumeDir != null) c = ModelConfig.load(resumeDir.resolve("config.json"));
        else if (initFrom != null) c = ModelConfig.load(initFrom.resolve("config.json"));
        else throw new UserException("a new run needs --preset, --config or --init-from");
        return c;
    }

    private static LrSchedule parse(String opt, String text) {
        try {
            return LrSchedule.parse(text);
        } catch (IllegalArgumentException e) {
            throw new UserException(opt + ": " + e.getMessage(), e);
        }
    }
}
