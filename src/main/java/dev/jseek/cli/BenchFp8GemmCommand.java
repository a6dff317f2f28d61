package dev.jseek.cli;

import dev.jseek.fp8.LimitedAccumulator;
import dev.jseek.bench.Fp8GemmBench;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code jseek bench fp8-gemm}: parses the options and runs {@link Fp8GemmBench} (FP8 GEMM error with and without promotion, and speed). */
@Command(name = "fp8-gemm", mixinStandardHelpOptions = true,
        description = "FP8 GEMM: error with and without promotion vs F64, and GFLOP/s of the emulation vs F32 sgemm.")
public final class BenchFp8GemmCommand implements Callable<Integer> {
    @Option(names = "--m", defaultValue = "256", description = "Rows of A (tokens). Default ${DEFAULT-VALUE}.") int m;
    @Option(names = "--n", defaultValue = "256", description = "Rows of B (output features). Default ${DEFAULT-VALUE}.") int n;
    @Option(names = "--k", split = ",", defaultValue = "512,1024,2048,4096,7168", description = "Reduction sizes. Default ${DEFAULT-VALUE}.") int[] ks;
    @Option(names = "--seed", defaultValue = "42", description = "Random seed. Default ${DEFAULT-VALUE}.") long seed;
    @Option(names = "--acc-bits", defaultValue = "14", description = "Significant bits of the limited accumulator. Default ${DEFAULT-VALUE}.") int bits;
    @Option(names = "--acc-chunk", defaultValue = "32", description = "Products per limited-accumulator update (divides 128). Default ${DEFAULT-VALUE}.") int chunk;
    @Option(names = "--acc-rounding", defaultValue = "TOWARD_ZERO", description = "NEAREST_EVEN or TOWARD_ZERO. Default ${DEFAULT-VALUE}.")
    LimitedAccumulator.Rounding rounding;
    @Option(names = "--reps", defaultValue = "3", description = "Timed repetitions (median reported), after >= 1 s of warm-up. Default ${DEFAULT-VALUE}.") int reps;
    @Option(names = "--no-speed", description = "Skip the timing.") boolean noSpeed;

    @Override public Integer call() {
        if (m < 1 || n < 1 || m > 16384 || n > 16384) throw new UserException("--m/--n must be in 1..16384, got " + m + ", " + n);
        for (int k : ks) if (k < 1 || k > 65536) throw new UserException("--k: each value must be in 1..65536, got " + k);
        if (reps < 1) throw new UserException("--reps must be >= 1, got " + reps);
        LimitedAccumulator acc;
        try {
            acc = new LimitedAccumulator(bits, chunk, rounding);
        } catch (IllegalArgumentException e) {
            throw new UserException("--acc-bits/--acc-chunk: " + e.getMessage());
        }
        new Fp8GemmBench(m, n, ks, seed, acc, bits, chunk, rounding, reps, noSpeed).run(System.out);
        return 0;
    }
}
