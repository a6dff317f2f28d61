package dev.jseek.cli;

import dev.jseek.bench.ContextBench;
import dev.jseek.model.Presets;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code jseek bench context}: parses the options and runs {@link ContextBench}. */
@Command(name = "context", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Training-step memory and tokens/s against sequence length; prefill tokens/s against prompt length.")
public final class BenchContextCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Option(names = "--preset", defaultValue = "small", description = "Model preset (default ${DEFAULT-VALUE}).") String preset;
    @Option(names = "--seq-lens", split = ",", defaultValue = "256,512,1024,2048,4096,8192", description = "Sequence lengths (default ${DEFAULT-VALUE}).") List<Integer> seqLens;
    @Option(names = "--tokens", defaultValue = "8192", description = "Tokens per training step (default ${DEFAULT-VALUE}).") int tokens;
    @Option(names = "--steps", defaultValue = "2", description = "Timed forward+backward passes per length after one warm-up; the fastest is reported (default ${DEFAULT-VALUE}).") int steps;
    @Option(names = "--prefill", negatable = true, defaultValue = "true", fallbackValue = "true", description = "Also time prefill (default on).") boolean prefill;
    @Option(names = "--seed", defaultValue = "1", description = "Seed (default ${DEFAULT-VALUE}).") long seed;

    @Override public Integer call() {
        if (steps < 1 || tokens < 1) throw new UserException("--steps and --tokens must be >= 1");
        if (seqLens.isEmpty()) throw new UserException("--seq-lens is empty");
        for (int t : seqLens) if (t < 2) throw new UserException("--seq-lens: " + t + " is not a sequence length >= 2");
        ContextBench.run(new ContextBench.Options(Presets.get(preset), preset, seqLens, tokens, steps, prefill, seed), spec.commandLine().getOut());
        return 0;
    }
}
