package dev.jseek.cli;

import dev.jseek.bench.Fp8TrainBench;
import dev.jseek.model.ModelConfig;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code jseek bench fp8}: parses the options and runs {@link Fp8TrainBench} (the same training in FP32, BF16 and FP8). */
@Command(name = "fp8", mixinStandardHelpOptions = true,
        description = "Train a preset model in FP32, BF16 and FP8 from the same init and data; compare FP8 with BF16.")
public final class BenchFp8TrainCommand implements Callable<Integer> {
    @Option(names = "--preset", defaultValue = "tiny", description = "Model preset. Default ${DEFAULT-VALUE}.") String preset;
    @Option(names = "--steps", defaultValue = "60", description = "Optimizer steps per run. Default ${DEFAULT-VALUE}.") int steps;
    @Option(names = "--batch", defaultValue = "2", description = "Sequences per step. Default ${DEFAULT-VALUE}.") int batch;
    @Option(names = "--seq", defaultValue = "32", description = "Tokens per sequence. Default ${DEFAULT-VALUE}.") int seq;
    @Option(names = "--lr", defaultValue = "3e-3", description = "AdamW learning rate (constant). Default ${DEFAULT-VALUE}.") float lr;
    @Option(names = "--init-std", defaultValue = "0.02", description = "Init std of the matrices. Default ${DEFAULT-VALUE}.") float initStd;
    @Option(names = "--p-next", defaultValue = "0.8", description = "Probability of the preferred successor token. Default ${DEFAULT-VALUE}.") double pNext;
    @Option(names = "--seed", defaultValue = "42", description = "Seed of init and data. Default ${DEFAULT-VALUE}.") long seed;
    @Option(names = "--every", defaultValue = "10", description = "Print every N steps. Default ${DEFAULT-VALUE}.") int every;
    @Option(names = "--moments", defaultValue = "auto", description = "AdamW moments: auto (BF16 for the FP8 run, FP32 otherwise), fp32 or bf16 for all. Default ${DEFAULT-VALUE}.") String moments;
    @Option(names = "--no-recompute", description = "Keep every activation (no recomputation of norms and MLA up-projections).") boolean noRecompute;

    @Override public Integer call() {
        if (steps < 1 || batch < 1 || seq < 2 || every < 1) throw new UserException("--steps, --batch, --every must be >= 1 and --seq >= 2");
        if (!(lr > 0) || !(initStd > 0) || !(pNext >= 0 && pNext <= 1)) throw new UserException("--lr and --init-std must be > 0, --p-next in [0, 1]");
        ModelConfig c = dev.jseek.model.Presets.get(preset);
        if (seq <= c.numNextnPredictLayers()) throw new UserException("--seq must exceed the MTP depth " + c.numNextnPredictLayers() + ", got " + seq);
        String mo = moments.toLowerCase(java.util.Locale.ROOT);
        if (!mo.equals("auto") && !mo.equals("fp32") && !mo.equals("bf16")) throw new UserException("--moments: unknown value '" + moments + "' (use auto, fp32 or bf16)");
        new Fp8TrainBench(preset, c, steps, batch, seq, lr, initStd, pNext, seed, every, mo, noRecompute).run(System.out);
        return 0;
    }
}
