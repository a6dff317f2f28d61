package dev.jseek.cli;

import dev.jseek.bench.RowsBench;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.source.ModelSource;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code jseek bench rows}: parses the options, opens the model and runs {@link RowsBench} (an M-row forward against a 1-row one). */
@Command(name = "rows", mixinStandardHelpOptions = true,
        description = "Cost of a forward over M token rows (MTP verify: M tokens of one sequence; batch: M sequences) against M = 1, per phase.")
public final class BenchRowsCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "Model directory (config.json + safetensors) or .gguf file.") Path model;
    @Option(names = "--m", split = ",", defaultValue = "1,2,4,8,16", description = "Row counts M (default ${DEFAULT-VALUE}; 1 is the baseline).") int[] ms;
    @Option(names = "--context", defaultValue = "64", description = "Prompt tokens in each cache before the timed forwards (default ${DEFAULT-VALUE}).") int context;
    @Option(names = "--reps", defaultValue = "20", description = "Timed forwards per M, the median counts (as many untimed first) (default ${DEFAULT-VALUE}).") int reps;
    @Option(names = "--mode", defaultValue = "both", description = "verify, batch or both (default ${DEFAULT-VALUE}).") String mode;
    @Option(names = "--profile", description = "Also print the per-phase time of each M.") boolean profile;
    @Option(names = "--alternate", paramLabel = "KNOB=V1,V2", description = "The timed rounds with one decode-order knob "
            + "(jseek.contiguousBatch, jseek.manyRows, ...) switched between the values inside one process, each round every value in turn; "
            + "per value and M the median ms and the speed ratio to the first value (docs/serving.md, \"Contiguous task runs for batched steps\").")
    String alternate;
    @Mixin PoolThreadsOption threads;
    @Option(names = "--seed", defaultValue = "1", description = "Seed of the random prompt and tokens (default ${DEFAULT-VALUE}).") long seed;

    @Override public Integer call() {
        threads.apply();
        if (!mode.equals("verify") && !mode.equals("batch") && !mode.equals("both"))
            throw new UserException("--mode: unknown value '" + mode + "' (use verify, batch or both)");
        for (int m : ms) if (m < 1 || m > 64) throw new UserException("--m: " + m + " is outside 1..64");
        if (ms.length == 0 || ms[0] != 1) throw new UserException("--m: the list must start with 1 (the baseline)");
        if (context < 1) throw new UserException("--context must be >= 1, got " + context);
        if (reps < 1) throw new UserException("--reps must be >= 1, got " + reps);
        AlternateOption alt = AlternateOption.parse(alternate);           // before the model loads
        if (!ModelSource.isModel(model)) throw new UserException("--model: " + ModelSource.whyNotModel(model));
        try (DeepSeekV3 m = ModelSource.open(model)) {
            if (context + 64 > m.config.maxPositionEmbeddings())
                throw new UserException("--context " + context + ": with up to 64 more rows it exceeds the model's max_position_embeddings " + m.config.maxPositionEmbeddings());
            RowsBench bench;
            try {
                bench = new RowsBench(m, model.toString(), ms, context, reps, !mode.equals("batch"), !mode.equals("verify"), profile, seed,
                        alt == null ? null : alt.knob(), alt == null ? null : alt.values());
            } catch (IllegalArgumentException e) {
                throw new UserException(e.getMessage());
            }
            bench.run(System.out);
        }
        return 0;
    }
}
