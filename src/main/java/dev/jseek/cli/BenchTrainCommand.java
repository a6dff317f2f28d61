package dev.jseek.cli;

import dev.jseek.bench.TrainBench;
import dev.jseek.bench.TrainStepPeer;
import dev.jseek.model.ConfigException;
import dev.jseek.model.ModelConfig;
import dev.jseek.model.Presets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jseek bench train}: parses the options and runs {@link TrainBench} (training-step tokens/s and MFU of jseek vs a
 * {@link TrainStepPeer} on the class path).
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Training-step tokens/s and MFU of jseek vs PyTorch eager (same model, weights, batch, threads).")
public final class BenchTrainCommand implements Callable<Integer> {
    @Option(names = "--presets", split = ",", defaultValue = "tiny,small",
            description = "Model presets from jseek init (default ${DEFAULT-VALUE}).") List<String> presets;
    @Option(names = {"-b", "--batch"}, defaultValue = "4", description = "Sequences per step (default ${DEFAULT-VALUE}).") int batch;
    @Option(names = {"-t", "--seq"}, defaultValue = "128", description = "Tokens per sequence (default ${DEFAULT-VALUE}).") int seq;
    @Option(names = "--warmup", defaultValue = "3", description = "Untimed steps first, at least (default ${DEFAULT-VALUE}).") int warmup;
    @Option(names = "--warmup-seconds", defaultValue = "8",
            description = "...and at least this long, so the JIT has compiled the hot code (default ${DEFAULT-VALUE}).") double warmupSeconds;
    @Option(names = "--steps", defaultValue = "5", description = "Timed steps; the median is reported (default ${DEFAULT-VALUE}).") int steps;
    @Option(names = "--lr", defaultValue = "1e-3", description = "AdamW learning rate (default ${DEFAULT-VALUE}).") float lr;
    @Option(names = "--seed", defaultValue = "1", description = "Weights and data seed (default ${DEFAULT-VALUE}).") long seed;
    @Option(names = "--peak-gflops", description = "Peak F32 GFLOP/s for MFU; default: measured with a large sgemm.") Double peakGflops;
    @Option(names = "--peak-size", defaultValue = "1024", description = "Square sgemm size of the peak measurement (default ${DEFAULT-VALUE}).") int peakSize;
    @Option(names = "--peer", defaultValue = "auto",
            description = "auto (use a peer when on the class path), none, or require (default ${DEFAULT-VALUE}).") String peerMode;
    @Option(names = "--no-recompute", description = "Keep every activation (no recomputation of RMSNorm outputs and MLA up-projections, docs/architecture.md §7.1).") boolean noRecompute;
    @Option(names = "--profile", description = "Print jseek's time per section of the step (timers around each module).") boolean profile;

    @Override public Integer call() throws Exception {
        if (batch < 1) throw new UserException("--batch must be >= 1, got " + batch);
        if (seq < 2) throw new UserException("--seq must be >= 2, got " + seq);
        if (warmup < 0) throw new UserException("--warmup must be >= 0, got " + warmup);
        if (!(warmupSeconds >= 0)) throw new UserException("--warmup-seconds must be >= 0, got " + warmupSeconds);
        if (steps < 1) throw new UserException("--steps must be >= 1, got " + steps);
        if (peakGflops != null && !(peakGflops > 0)) throw new UserException("--peak-gflops must be > 0, got " + peakGflops);
        if (peakSize < 64 || peakSize > 8192) throw new UserException("--peak-size must be in 64..8192, got " + peakSize);
        if (!List.of("auto", "none", "require").contains(peerMode))
            throw new UserException("--peer: unknown value '" + peerMode + "' (use auto, none or require)");
        List<ModelConfig> configs = new ArrayList<>();
        for (String p : presets) {
            try {
                configs.add(Presets.get(p.trim()));
            } catch (ConfigException e) {
                throw new UserException("--presets: " + e.getMessage());
            }
        }
        for (int i = 0; i < configs.size(); i++)
            if (seq <= configs.get(i).numNextnPredictLayers())
                throw new UserException("--seq " + seq + " must exceed the MTP depth " + configs.get(i).numNextnPredictLayers() + " of preset " + presets.get(i).trim());
        TrainStepPeer peer = peerMode.equals("none") ? null : TrainBench.findPeer();
        if (peer == null && peerMode.equals("require"))
            throw new UserException("--peer require: no TrainStepPeer on the class path (run tools/bench-train.sh)");
        List<String> names = new ArrayList<>();
        for (String p : presets) names.add(p.trim());
        new TrainBench(names, configs, batch, seq, warmup, warmupSeconds, steps, lr, seed, peakGflops, peakSize, peer, !peerMode.equals("none"),
                noRecompute, profile).run(System.out);
        return 0;
    }
}
