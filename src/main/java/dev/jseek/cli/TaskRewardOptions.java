package dev.jseek.cli;

import dev.jseek.model.DeepSeekV3;
import dev.jseek.posttrain.PromptSet;
import dev.jseek.posttrain.Rewards;
import dev.jseek.posttrain.Tasks;
import dev.jseek.posttrain.WeightedReward;
import dev.jseek.source.ModelSource;
import dev.jseek.tokenizer.Tokenizer;
import java.util.List;
import picocli.CommandLine.Option;

/** The prompts and the reward of {@code jseek grpo} and {@code jseek grpo eval}: {@code --task} and {@code --reward}. */
final class TaskRewardOptions {
    @Option(names = "--task", description = "arithmetic[:MAX[:OPS]] (operands 0..MAX, default 20; operators of +-*, default +) or jsonl:FILE (required).") String task;
    @Option(names = "--reward", defaultValue = "exact,format=0.1", description = "Comma-separated NAME[=WEIGHT]: exact, format, logprob:DIR, judge:DIR (default ${DEFAULT-VALUE}).") String reward;

    /** The task; a missing --task is a {@link UserException} naming {@code cmd}. */
    String task(String cmd) {
        if (task == null) throw new UserException(cmd + " needs --task (arithmetic[:MAX[:OPS]] or jsonl:FILE)");
        return task;
    }

    /** The task's prompts drawn with {@code seed} (the training draws). */
    PromptSet prompts(long seed) {
        try {
            return Tasks.parse(task, seed);
        } catch (IllegalArgumentException e) {
            throw new UserException("--task: " + e.getMessage(), e);
        }
    }

    /** Held-out prompts of the task: arithmetic draws with another seed; a JSONL file's first prompts. */
    PromptSet heldOut(long seed) { return prompts(task.startsWith("arithmetic") ? seed + 1_000_003 : seed); }

    /** The reward; the scoring models it opens are added to {@code opened} (the caller closes them). */
    WeightedReward reward(Tokenizer tok, List<DeepSeekV3> opened) {
        try {
            return Rewards.parse(reward, tok, d -> { DeepSeekV3 m = ModelSource.open(d); opened.add(m); return m; });
        } catch (IllegalArgumentException e) {
            throw new UserException("--reward: " + e.getMessage(), e);
        }
    }
}
