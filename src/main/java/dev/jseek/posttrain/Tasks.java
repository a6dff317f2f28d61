package dev.jseek.posttrain;

import java.nio.file.Path;

/** Parses a task specification into a {@link PromptSet}: {@code arithmetic[:MAX[:OPS]]} or {@code jsonl:FILE}. */
public final class Tasks {
    private Tasks() {}

    public static PromptSet parse(String spec, long seed) {
        if (spec.startsWith("jsonl:")) {
            String f = spec.substring("jsonl:".length());
            if (f.isEmpty()) throw new IllegalArgumentException("task '" + spec + "': give the file after 'jsonl:'");
            return JsonlPromptSet.read(Path.of(f), seed);
        }
        if (spec.equals("arithmetic") || spec.startsWith("arithmetic:")) return ArithmeticTask.parse(spec, seed);
        throw new IllegalArgumentException("task '" + spec + "': unknown (use arithmetic[:MAX[:OPS]] or jsonl:FILE)");
    }
}
