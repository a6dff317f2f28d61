package dev.jseek.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.posttrain.RewardEval;
import dev.jseek.posttrain.WeightedReward;
import dev.jseek.tokenizer.Tokenizer;
import java.io.PrintWriter;
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
 * {@code jseek grpo eval}: the mean reward of a model on N prompts of a task (greedy by default), with each reward
 * part (e.g. exact-answer accuracy), the finished share and a few samples: the before/after number of a GRPO run.
 */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Score a model's answers on N prompts of a task (mean reward, each reward part, samples).")
public final class GrpoEvalCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin ModelOption model;
    @Mixin ModelTokenizerOption tokenizer;
    @Mixin TaskRewardOptions taskReward;
    @Option(names = "--prompts", defaultValue = "200", description = "Prompts to score (default ${DEFAULT-VALUE}).") int prompts;
    @Option(names = "--held-out", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Arithmetic: draw the held-out prompts jseek grpo --eval-prompts uses (default); --no-held-out: the training draws.") boolean heldOut;
    @Option(names = "--max-new-tokens", defaultValue = "32", description = "Completion token limit (default ${DEFAULT-VALUE}).") int maxNew;
    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default), else sampled with --seed.") float temperature;
    @Option(names = "--seed", defaultValue = "1", description = "Task seed (as jseek grpo --seed) and sampling seed (default ${DEFAULT-VALUE}).") long seed;
    @Option(names = "--show", defaultValue = "5", description = "Sample answers to print (default ${DEFAULT-VALUE}).") int show;

    @Override public Integer call() {
        if (prompts < 1) throw new UserException("--prompts must be >= 1, got " + prompts);
        String task = taskReward.task("jseek grpo eval");
        Path modelPath = model.checked();
        Tokenizer tok = tokenizer.find(modelPath, true);
        List<DeepSeekV3> opened = new ArrayList<>();
        try (DeepSeekV3 m = model.open()) {
            WeightedReward rw = taskReward.reward(tok, opened);
            RewardEval.Result r;
            try {
                r = RewardEval.run(m, tok, heldOut ? taskReward.heldOut(seed) : taskReward.prompts(seed), 0, prompts, rw,
                        maxNew, temperature, seed, show);
            } catch (IllegalArgumentException e) {
                throw new UserException(e.getMessage(), e);
            }
            print(spec.commandLine().getOut(), r, modelPath + " on " + prompts + " prompts of " + task + (temperature > 0 ? ", temperature " + temperature : ", greedy"));
        } finally {
            for (DeepSeekV3 x : opened) x.close();
        }
        return 0;
    }

    static void print(PrintWriter o, RewardEval.Result r, String title) {
        StringBuilder parts = new StringBuilder();
        for (int j = 0; j < r.partNames().size(); j++) parts.append(String.format(Locale.ROOT, ", %s %.3f", r.partNames().get(j), r.parts()[j]));
        o.printf(Locale.ROOT, "%s: mean reward %.4f%s; finished %.1f%%, %.1f tokens per answer%n", title, r.reward(), parts, 100 * r.finished(), r.tokens());
        for (String[] s : r.samples()) o.printf(Locale.ROOT, "    %s -> %s%s%n", s[0], quote(s[1]), s[2] != null ? "   (reference " + s[2] + ")" : "");
        o.flush();
    }

    private static String quote(String s) {
        String t = s.replace("\n", "\\n");
        return "\"" + (t.length() > 80 ? t.substring(0, 80) + "..." : t) + "\"";
    }

    static ObjectNode toJson(ObjectMapper json, RewardEval.Result r) {
        ObjectNode o = json.createObjectNode();
        o.put("mean_reward", r.reward());
        ObjectNode p = o.putObject("parts");
        for (int j = 0; j < r.partNames().size(); j++) p.put(r.partNames().get(j), r.parts()[j]);
        o.put("finished", r.finished());
        o.put("tokens_per_answer", r.tokens());
        ArrayNode s = o.putArray("samples");
        for (String[] x : r.samples()) s.addObject().put("question", x[0]).put("answer", x[1]).put("reference", x[2]);
        return o;
    }
}
