package dev.jseek.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jseek.io.AtomicFiles;
import dev.jseek.posttrain.ArithmeticTask;
import dev.jseek.tokenizer.Message;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code jseek sft synth}: writes synthetic chat conversations of a verifiable task (arithmetic) as SFT JSONL. */
@Command(name = "synth", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Write synthetic SFT conversations of the arithmetic task (user question, assistant answer) as JSONL.")
public final class SftSynthCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Option(names = "--task", defaultValue = "arithmetic", description = "arithmetic[:MAX[:OPS]] (default ${DEFAULT-VALUE}).") String task;
    @Option(names = "--count", defaultValue = "1000", description = "Conversations (default ${DEFAULT-VALUE}).") int count;
    @Option(names = "--seed", defaultValue = "1", description = "Seed; the same task and seed give jseek grpo's training prompts (default ${DEFAULT-VALUE}).") long seed;
    @Option(names = "--out", required = true, description = "Output JSONL file.") Path out;

    @Override public Integer call() {
        if (count < 1) throw new UserException("--count must be >= 1, got " + count);
        ArithmeticTask t;
        try {
            t = ArithmeticTask.parse(task, seed);
        } catch (IllegalArgumentException e) {
            throw new UserException("--task: " + e.getMessage(), e);
        }
        ObjectMapper json = new ObjectMapper();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < count; i++) {
            ObjectNode o = json.createObjectNode();
            ArrayNode ms = o.putArray("messages");
            for (Message m : t.chat(i)) ms.addObject().put("role", m.role()).put("content", m.content());
            sb.append(o).append('\n');
        }
        AtomicFiles.write(out, sb.toString().getBytes(StandardCharsets.UTF_8));
        spec.commandLine().getOut().printf("wrote %d conversations of %s to %s%n", count, t.describe(), out);
        spec.commandLine().getOut().flush();
        return 0;
    }

}
