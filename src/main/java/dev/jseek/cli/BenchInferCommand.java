package dev.jseek.cli;

import dev.jseek.bench.DecodeAlternation;
import dev.jseek.bench.InferBench;
import dev.jseek.gguf.GgufFile;
import dev.jseek.gguf.QuantMix;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code jseek bench infer}: parses the options and runs {@link InferBench} (jseek vs llama-bench on the same GGUF files). */
@Command(name = "infer", mixinStandardHelpOptions = true,
        description = "Prefill and decode tokens/s of jseek next to llama.cpp's llama-bench on the same GGUF files (the 1.5B "
                + "DeepSeek-V3-shaped bench model at BF16, Q8_0 and Q4_K_M by default), with decode's effective bandwidth against a memory triad.")
public final class BenchInferCommand implements Callable<Integer> {
    @Option(names = "--llama-bench", description = "Path of a llama-bench binary (tools/build-llama-bench.sh builds one); without it jseek runs alone.")
    Path llamaBench;
    @Option(names = "--types", split = ",", defaultValue = "bf16,q8_0,q4_k_m",
            description = "Export types of the bench model (default ${DEFAULT-VALUE}).") List<String> types;
    @Option(names = "--gguf", split = ",", description = "Measure these GGUF files instead of the bench model.") List<Path> gguf;
    @Option(names = "--cache", description = "Where the bench model's files are written once (default ~/.cache/jseek/bench-infer).") Path cache;
    @Option(names = "--threads", description = "Threads for jseek and llama-bench (default: jseek.threads or all cores).") Integer threads;
    @Option(names = "--prompt", defaultValue = "512", description = "Prompt tokens of the prefill test (default ${DEFAULT-VALUE}).") int prompt;
    @Option(names = {"-n", "--gen"}, defaultValue = "128", description = "Tokens of the decode test (default ${DEFAULT-VALUE}).") int gen;
    @Option(names = "--reps", defaultValue = "3", description = "Timed repetitions of each test (default ${DEFAULT-VALUE}).") int reps;
    @Option(names = "--warmup-seconds", defaultValue = "10", paramLabel = "S", description = "Untimed runs of each test before the timed ones, "
            + "until this many seconds have passed (at least one run; default ${DEFAULT-VALUE}): the JIT compiles code after thousands "
            + "of calls, and a small model's step is mostly code called a few times per token.") double warmup;
    @Option(names = "--triad-mib", defaultValue = "256", description = "MiB of each of the memory triad's 3 arrays (default ${DEFAULT-VALUE}; keep it >= 4x the last-level cache).") int triadMib;
    @Option(names = "--profile", description = "After the timed runs, one more decode run per file with per-phase timers "
            + "(jseek.profile): time per token in attention, norms, routing, expert GEMVs, lm_head, sampling..., and the parallel sections (fork/joins) per token.")
    boolean profile;
    @Option(names = "--alternate", paramLabel = "KNOB=V1,V2", description = "Instead of the table: the decode test with one "
            + "decode-order knob (jseek.seqRows, jseek.manyRows, jseek.contiguousTasks, jseek.contiguousBatch) switched between the values inside one process, "
            + "--reps rounds of every value in turn; medians, ranges and per-round ratios (docs/quantization.md, \"The decode step\").")
    String alternate;
    @Option(names = "--seed", defaultValue = "1", description = "Seed of the bench model's weights and the prompt (default ${DEFAULT-VALUE}).") long seed;

    @Override public Integer call() {
        int t = PoolThreadsOption.apply(threads, InferBench::poolThreads);
        if (prompt < 1) throw new UserException("--prompt: must be >= 1, got " + prompt);
        if (gen < 1) throw new UserException("--gen: must be >= 1, got " + gen);
        if (triadMib < 1 || triadMib > 4096) throw new UserException("--triad-mib: must be in 1..4096, got " + triadMib);
        if (reps < 1) throw new UserException("--reps: must be >= 1, got " + reps);
        if (!(warmup >= 0 && warmup <= 3600)) throw new UserException("--warmup-seconds: in 0..3600, got " + warmup);
        if (llamaBench != null && !Files.isExecutable(llamaBench))
            throw new UserException("--llama-bench: " + llamaBench + " is not an executable file (tools/build-llama-bench.sh builds one)");
        List<QuantMix> mixes = new ArrayList<>();
        for (String s : types) {
            QuantMix q = ExportCommand.parseType(s.trim());
            mixes.add(q);
        }
        List<Path> files = gguf == null ? List.of() : gguf;
        for (Path f : files)
            if (!GgufFile.isGguf(f)) throw new UserException("--gguf: " + f + " is not a GGUF file");
        Path dir = cache != null ? cache : Path.of(System.getProperty("user.home"), ".cache", "jseek", "bench-infer");
        AlternateOption a = AlternateOption.parse(alternate);        // before the bench model is written or loaded
        InferBench bench = new InferBench(dir, files, mixes, t, prompt, gen, reps, seed, llamaBench, triadMib, profile, warmup, System.err);
        if (alternate == null) {
            bench.run(System.out);
            return 0;
        }
        new DecodeAlternation(bench.ggufs(), a.knob(), a.values(), gen, reps, seed, warmup, System.err).run(System.out);
        return 0;
    }
}
