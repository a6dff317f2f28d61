package dev.jseek.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jseek.io.AtomicFiles;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.ModelConfig;
import dev.jseek.posttrain.GrpoTrainable;
import dev.jseek.posttrain.PolicySnapshot;
import dev.jseek.posttrain.PromptSet;
import dev.jseek.posttrain.RewardEval;
import dev.jseek.posttrain.Rewards;
import dev.jseek.posttrain.RolloutBatch;
import dev.jseek.posttrain.RolloutSource;
import dev.jseek.posttrain.Tasks;
import dev.jseek.posttrain.WeightedReward;
import dev.jseek.source.ModelSource;
import dev.jseek.tokenizer.Tokenizer;
import dev.jseek.train.StepMetrics;
import dev.jseek.train.TrainModel;
import dev.jseek.train.TrainState;
import dev.jseek.train.Trainer;
import dev.jseek.train.TrainerConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code jseek grpo}: reinforcement learning with Group Relative Policy Optimization (docs/architecture.md §7.6, DeepSeekMath's
 * per-token form): per prompt, G completions sampled from the current policy, rewards (rule-based: exact answer,
 * format; model-based: a scoring model's log-prob or yes/no judgement), group-normalized advantages, the clipped
 * objective with a KL penalty to a frozen reference model (default: the starting model). One policy update per batch
 * of rollouts. Runs on the pre-training loop: AdamW, schedules, checkpoints, {@code --resume}, metrics.jsonl (with
 * reward, kl, clip_fraction, completion_tokens, ...). {@code --eval-prompts N} scores greedy answers on N held-out
 * prompts before and after (eval.json). Subcommand {@code eval}: the same score for any model directory.
 */
@Command(name = "grpo", mixinStandardHelpOptions = true, sortOptions = false, subcommands = {GrpoEvalCommand.class},
        description = {"GRPO reinforcement learning with rule-based and model-based rewards (docs/architecture.md §7.6).",
                "Tasks: arithmetic[:MAX[:OPS]] (synthetic, verifiable) or jsonl:FILE ({\"prompt\": ..., \"answer\": ...} per line)."})
public final class GrpoCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin TaskRewardOptions taskReward;
    @Mixin PostTrainOptions opts;
    @Option(names = "--micro-batch", defaultValue = "1", description = "Prompts per forward/backward (default ${DEFAULT-VALUE}).") int micro;
    @Option(names = "--batch", defaultValue = "4", description = "Prompts per optimizer step, a multiple of --micro-batch (default ${DEFAULT-VALUE}).") int batch;
    @Option(names = "--max-seq-len", defaultValue = "256", description = "Longest prompt + completion in tokens (default ${DEFAULT-VALUE}).") int maxSeqLen;
    @Mixin RolloutOptions rollouts;
    @Option(names = "--clip-eps", defaultValue = "0.2", description = "Ratio clip epsilon (default ${DEFAULT-VALUE}).") double clipEps;
    @Option(names = "--beta", defaultValue = "0.04", description = "KL penalty weight, 0 = no reference model (default ${DEFAULT-VALUE}, as DeepSeekMath).") double beta;
    @Option(names = "--ref", description = "Reference model directory for the KL term (default: --init-from).") Path refDir;
    @Option(names = "--eval-prompts", defaultValue = "0", description = "Greedy evaluation on this many held-out prompts before and after (default ${DEFAULT-VALUE} = none).") int evalPrompts;

    /** What the run did (for tests). */
    public record Outcome(long firstStep, long lastStep, List<StepMetrics> steps, RewardEval.Result before, RewardEval.Result after, Path checkpoint) {}

    private Outcome outcome;

    public Outcome outcome() { return outcome; }

    @Override public Integer call() {
        opts.requireBasics("grpo");
        String task = taskReward.task("jseek grpo");
        RunOptions.checkBatch(micro, batch);
        if (evalPrompts < 0) throw new UserException("--eval-prompts must be >= 0, got " + evalPrompts);
        PrintWriter o = spec.commandLine().getOut();
        Path resumeDir = opts.run.resumeDir();
        ModelConfig c = opts.config(resumeDir);
        if (maxSeqLen < 2 || maxSeqLen >= c.maxPositionEmbeddings())
            throw new UserException("--max-seq-len " + maxSeqLen + " must be in [2, max_position_embeddings " + c.maxPositionEmbeddings() + ")");
        Tokenizer tok = opts.tokenizer(resumeDir);
        if (tok.vocabSize() > c.vocabSize())
            throw new UserException(tok.source() + ": tokenizer vocab " + tok.vocabSize() + " exceeds the model's vocab_size " + c.vocabSize());
        PromptSet prompts = taskReward.prompts(opts.run.seed);
        List<DeepSeekV3> opened = new ArrayList<>();
        try {
            WeightedReward rw = taskReward.reward(tok, opened);
            if (Rewards.needsAnswers(rw) && !prompts.hasAnswers())
                throw new UserException("--reward " + taskReward.reward + ": the exact reward needs answers, and " + prompts.describe() + " has none");
            Path refPath = refDir != null ? refDir : opts.initFrom;
            if (beta > 0 && refPath == null) throw new UserException("--beta > 0 needs a reference model: --ref DIR (or --init-from)");
            DeepSeekV3 ref = null;
            if (beta > 0) {
                ref = ModelSource.open(refPath);
                opened.add(ref);
            }
            RolloutSource.Settings st = rollouts.settings(micro, opts.run.seed, maxSeqLen);
            TrainerConfig cfg = opts.trainerConfig(opts.lrSchedule(1e-6, opts.lr != null ? opts.lr : 1e-6), 0, micro * rollouts.group, batch * rollouts.group, c, 0);
            TrainModel model = opts.model(c, micro * rollouts.group, maxSeqLen, resumeDir);
            opts.copyTokenizer(tok);
            RolloutSource source = new RolloutSource(model, tok, prompts, rw, ref, st);
            GrpoTrainable trainable = new GrpoTrainable(model, clipEps, beta);
            List<StepMetrics> steps = new ArrayList<>();
            RewardEval.Result before = null, after = null;
            try (Trainer<RolloutBatch> t = new Trainer<>(trainable, source, cfg)) {
                TrainState resumed = resumeDir != null ? t.resume(resumeDir) : null;
                o.printf(Locale.ROOT, "jseek grpo: %s%n", resumed == null ? "new run in " + opts.run.out + " from " + opts.initFrom
                        : "resuming " + resumeDir + " (step " + resumed.step() + ")");
                o.printf(Locale.ROOT, "  task       %s; reward %s%n", prompts.describe(), rw.name());
                o.printf(Locale.ROOT, "  rollouts   %s%n", rollouts.describe(batch, micro));
                o.printf(Locale.ROOT, "  objective  clip eps %s, KL beta %s%s; one policy update per batch (ratio 1)%n", clipEps, beta,
                        beta > 0 ? " against " + refPath : "");
                opts.printOptimizer(o, cfg);
                o.flush();
                if (evalPrompts > 0) before = evaluate(o, model, tok, rw, "before", t.stepsDone());
                t.addListener(m -> {
                    steps.add(m);
                    if (opts.run.noProgress) {
                        o.printf(Locale.ROOT, "step %d: reward %.3f, kl %.4f, loss %.4f, %.1f s%n", m.step(), m.extra().getOrDefault("reward", Double.NaN),
                                m.extra().getOrDefault("kl", Double.NaN), m.losses().total(), m.seconds());
                        o.flush();
                    }
                });
                TrainingRun.Outcome r = TrainingRun.train(t, opts.steps);
                if (evalPrompts > 0) after = evaluate(o, model, tok, rw, "after", t.stepsDone());
                outcome = new Outcome(r.firstStep(), r.lastStep(), steps, before, after, r.checkpoint());
            }
            if (before != null) writeEval(before, after);
        } finally {
            for (DeepSeekV3 m : opened) m.close();
        }
        opts.run.plots("jseek grpo");
        if (!outcome.steps().isEmpty()) {
            int n = outcome.steps().size(), k = Math.max(1, n / 5);
            o.printf(Locale.ROOT, "steps %d..%d: mean rollout reward %.3f over the first %d steps, %.3f over the last %d%n", outcome.firstStep(),
                    outcome.lastStep(), meanReward(outcome.steps().subList(0, k)), k, meanReward(outcome.steps().subList(n - k, n)), k);
        }
        o.printf(Locale.ROOT, "checkpoint %s%n", outcome.checkpoint());
        o.flush();
        return 0;
    }

    static double meanReward(List<StepMetrics> ms) {
        double s = 0;
        for (StepMetrics m : ms) s += m.extra().getOrDefault("reward", Double.NaN);
        return s / ms.size();
    }

    private RewardEval.Result evaluate(PrintWriter o, TrainModel model, Tokenizer tok, WeightedReward rw, String when, long step) {
        try (DeepSeekV3 m = PolicySnapshot.of(model)) {
            RewardEval.Result r = RewardEval.run(m, tok, taskReward.heldOut(opts.run.seed), 0, evalPrompts, rw, rollouts.maxNew, 0f, opts.run.seed, 3);
            GrpoEvalCommand.print(o, r, "eval " + when + " (step " + step + ", greedy, " + evalPrompts + " held-out prompts)");
            return r;
        }
    }

    private void writeEval(RewardEval.Result before, RewardEval.Result after) {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = json.createObjectNode();
        root.put("task", taskReward.task);
        root.put("reward", taskReward.reward);
        root.put("prompts", evalPrompts);
        root.set("before", GrpoEvalCommand.toJson(json, before));
        if (after != null) root.set("after", GrpoEvalCommand.toJson(json, after));
        try {
            AtomicFiles.write(opts.run.out.resolve("eval.json"), (json.writeValueAsString(root) + "\n").getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UserException(opts.run.out + ": cannot write eval.json: " + e, e);
        }
    }

}
