package dev.jseek.cli;

import dev.jseek.bench.PipelineBench;
import dev.jseek.model.ModelConfig;
import dev.jseek.model.Presets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code jseek bench pipeline}: parses the options and runs {@link PipelineBench}. */
@Command(name = "pipeline", mixinStandardHelpOptions = true,
        description = "Pipeline schedules (1F1B, ZB1P, DualPipe, DualPipeV): simulated bubbles vs the report's formulas for measured F, B, W; "
                + "measured timelines on thread ranks (PNG + HTML); per-rank memory.")
public final class BenchPipelineCommand implements Callable<Integer> {
    @Option(names = "--preset", defaultValue = "small", description = "Model preset (default ${DEFAULT-VALUE}).") String preset;
    @Option(names = "--seq-len", defaultValue = "64", description = "Tokens per micro-batch (one sequence; default ${DEFAULT-VALUE}).") int seqLen;
    @Option(names = "--pp", defaultValue = "4", description = "Stages of the measured runs (DualPipeV runs them on pp/2 ranks; default ${DEFAULT-VALUE}).") int pp;
    @Option(names = "--micro-batches", defaultValue = "8", description = "Micro-batches of the measured runs (>= 2 pp for DualPipe; default ${DEFAULT-VALUE}).") int micro;
    @Option(names = "--reps", defaultValue = "5", description = "Timed repetitions of each stage's F, B and W (median; default ${DEFAULT-VALUE}).") int reps;
    @Option(names = "--memory-only", description = "Print only the per-rank memory table (deterministic byte counts, no timing).") boolean memoryOnly;
    @Option(names = "--out", defaultValue = ".", description = "Folder for pipeline.png and pipeline.html (default: the current one).") Path out;

    @Override public Integer call() throws Exception {
        ModelConfig c;
        try {
            c = Presets.get(preset);
        } catch (RuntimeException e) {
            throw new UserException("--preset: " + e.getMessage());
        }
        if (seqLen <= c.numNextnPredictLayers() || seqLen > c.maxPositionEmbeddings())
            throw new UserException("--seq-len must be in " + (c.numNextnPredictLayers() + 1) + ".." + c.maxPositionEmbeddings() + ", got " + seqLen);
        if (pp < 2 || pp % 2 != 0 || pp > c.numHiddenLayers() + 2)
            throw new UserException("--pp must be even and in 2.." + (c.numHiddenLayers() + 2) + " (the embedding, each layer and the head), got " + pp);
        if (micro < 2 * pp || micro % 2 != 0) throw new UserException("--micro-batches must be even and >= 2 pp = " + 2 * pp + " (DualPipe), got " + micro);
        if (reps < 1) throw new UserException("--reps must be >= 1, got " + reps);
        if (!Files.isDirectory(out)) throw new UserException("--out: " + out + " is not a directory");
        PipelineBench.run(new PipelineBench.Options(c, preset, seqLen, pp, micro, reps, out, memoryOnly), System.out);
        return 0;
    }
}
