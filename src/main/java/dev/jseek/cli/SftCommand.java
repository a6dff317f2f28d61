package dev.jseek.cli;

import dev.jseek.model.ModelConfig;
import dev.jseek.posttrain.SftBatchSource;
import dev.jseek.posttrain.SftDataset;
import dev.jseek.posttrain.SftEncoder;
import dev.jseek.tokenizer.Tokenizer;
import dev.jseek.train.StepMetrics;
import dev.jseek.train.TokenBatch;
import dev.jseek.train.TrainModel;
import dev.jseek.train.TrainModelTrainable;
import dev.jseek.train.TrainState;
import dev.jseek.train.Trainer;
import dev.jseek.train.TrainerConfig;
import dev.jseek.train.Validation;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code jseek sft}: supervised fine-tuning (docs/architecture.md §7.5) of a model directory on chat conversations (JSONL, see
 * {@link dev.jseek.posttrain.ChatJsonl}) rendered with the DeepSeek-V3 chat template; the next-token loss (and the
 * MTP loss, weight {@code --mtp-lambda}) counts only the assistant tokens. Runs on the pre-training loop
 * ({@link Trainer}): AdamW, warmup + cosine learning rate (default the report's 5e-6 -> 1e-6), clipping, checkpoints
 * (HF model directories), {@code --resume}, metrics.jsonl, loss curves, validation on {@code --val-data}.
 */
@Command(name = "sft", mixinStandardHelpOptions = true, sortOptions = false, subcommands = {SftSynthCommand.class},
        description = {"Supervised fine-tuning on chat conversations: loss on assistant tokens only (docs/architecture.md §7.5).",
                "Data: JSONL, one {\"messages\": [{\"role\": ..., \"content\": ...}, ...]} per line."})
public final class SftCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Option(names = "--data", description = "Chat conversations, JSONL.") Path data;
    @Option(names = "--val-data", description = "Held-out conversations (JSONL): assistant-token loss every --eval-every steps.") Path valData;
    @Mixin PostTrainOptions opts;
    @Mixin BatchOptions shape;
    @Option(names = "--pack", description = "Pack several conversations per row, each attending only to itself; default: one per row, padded.") boolean pack;
    @Mixin ValidationOptions evals = new ValidationOptions(50, 8);
    @Option(names = "--mtp-lambda", defaultValue = "0.1", description = "MTP loss weight (default ${DEFAULT-VALUE}).") double mtpLambda;

    /** What the run did (for tests). */
    public record Outcome(long firstStep, long lastStep, StepMetrics first, StepMetrics last, StepMetrics lastValidation, Path checkpoint) {}

    private Outcome outcome;

    public Outcome outcome() { return outcome; }

    @Override public Integer call() {
        opts.requireBasics("sft");
        if (data == null) throw new UserException("jseek sft needs --data chats.jsonl");
        shape.check();
        evals.check();
        PrintWriter o = spec.commandLine().getOut();
        Path resumeDir = opts.run.resumeDir();
        ModelConfig c = opts.config(resumeDir);
        Tokenizer tok = opts.tokenizer(resumeDir);
        if (tok.vocabSize() > c.vocabSize())
            throw new UserException(tok.source() + ": tokenizer vocab " + tok.vocabSize() + " exceeds the model's vocab_size " + c.vocabSize());
        int minT = c.numNextnPredictLayers() + 1;
        if (shape.seqLen < minT) throw new UserException("--seq-len must exceed the MTP depth " + c.numNextnPredictLayers());
        SftEncoder enc = new SftEncoder(tok);
        SftDataset ds = SftDataset.load(data, enc, shape.seqLen + 1);
        SftDataset val = valData != null ? SftDataset.load(valData, enc, shape.seqLen + 1) : null;
        TrainerConfig cfg = opts.trainerConfig(opts.lrSchedule(5e-6, 1e-6), mtpLambda, shape.micro, shape.batch, c, val != null ? evals.every : 0);
        TrainModel model = opts.model(c, shape.micro, shape.seqLen, resumeDir);
        opts.copyTokenizer(tok);
        SftBatchSource source = new SftBatchSource(ds.examples(), shape.micro, shape.seqLen, minT, tok.padId(), pack, opts.run.seed);
        Validation<TokenBatch> validation = null;
        if (val != null && evals.every > 0) {
            List<TokenBatch> vb = SftBatchSource.inOrder(val.examples(), shape.micro, minT, tok.padId(), evals.batches);
            validation = new Validation<>(vb, b -> { long n = 0; for (int t : b.targets()) if (t >= 0) n++; return n; }, Double.NaN);
        }
        try (Trainer<TokenBatch> t = new Trainer<>(new TrainModelTrainable(model), source, cfg)) {
            t.setValidation(validation);
            TrainState resumed = resumeDir != null ? t.resume(resumeDir) : null;
            o.printf(Locale.ROOT, "jseek sft: %s%n", resumed == null ? "new run in " + opts.run.out + " from " + opts.initFrom
                    : "resuming " + resumeDir + " (step " + resumed.step() + ")");
            SftDataset.Stats s = ds.stats();
            o.printf(Locale.ROOT, "  data       %s: %d conversations (%d truncated to %d tokens, %d dropped), %,d tokens, %,d assistant targets (%.1f%%)%n",
                    data, s.conversations(), s.truncated(), shape.seqLen + 1, s.dropped(), s.tokens(), s.trainedTokens(), 100.0 * s.trainedTokens() / s.tokens());
            if (val != null) o.printf(Locale.ROOT, "  val        %s: %d conversations, %,d assistant targets%s%n", valData, val.stats().conversations(),
                    val.stats().trainedTokens(), validation == null ? " (not evaluated: --eval-every 0)" : ", every " + evals.every + " steps");
            o.printf(Locale.ROOT, "  batch      %s, seq-len <= %d, micro-batch %d, %d rows/step; tokenizer %s; MTP lambda %s%n",
                    pack ? "packed rows (conversations masked from each other)" : "one conversation per row, padded", shape.seqLen, shape.micro, shape.batch, tok.source(), mtpLambda);
            opts.printOptimizer(o, cfg);
            o.flush();
            TrainingRun.Outcome r = TrainingRun.train(t, opts.steps);
            outcome = new Outcome(r.firstStep(), r.lastStep(), r.first(), r.last(), r.lastValidation(), r.checkpoint());
        }
        opts.run.plots("jseek sft");
        if (outcome.last() != null)
            o.printf(Locale.ROOT, "steps %d..%d: assistant-token CE %.4f -> %.4f%n", outcome.firstStep(), outcome.lastStep(),
                    outcome.first().losses().main(), outcome.last().losses().main());
        if (outcome.lastValidation() != null)
            o.printf(Locale.ROOT, "validation assistant-token CE %.4f at step %d%n", outcome.lastValidation().valLoss(), outcome.lastValidation().step());
        o.printf(Locale.ROOT, "checkpoint %s%n", outcome.checkpoint());
        o.flush();
        return 0;
    }
}
