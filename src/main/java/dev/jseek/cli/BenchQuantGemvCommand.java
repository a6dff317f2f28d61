package dev.jseek.cli;

import dev.jseek.bench.QuantGemvBench;
import dev.jseek.tensor.DType;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code jseek bench quant-gemv}: parses the options and runs {@link QuantGemvBench} (decode GEMV Gweights/s per weight type). */
@Command(name = "quant-gemv", mixinStandardHelpOptions = true,
        description = "Decode GEMV throughput per weight type (Q8_0, Q4_K, Q5_K, Q6_K, BF16): weights/s and bytes/s, streaming and cache-resident.")
public final class BenchQuantGemvCommand implements Callable<Integer> {
    @Option(names = "--types", split = ",", defaultValue = "Q8_0,Q4_K,Q5_K,Q6_K,BF16", description = "Weight types (default ${DEFAULT-VALUE}).") List<String> types;
    @Option(names = "--tokens", split = ",", defaultValue = "1", description = "Token counts m (default ${DEFAULT-VALUE}).") int[] tokens;
    @Option(names = "--rows", defaultValue = "2048", description = "Rows per matrix (default ${DEFAULT-VALUE}).") int rows;
    @Option(names = "--cols", defaultValue = "1536", description = "Columns per matrix, a multiple of 256 (default ${DEFAULT-VALUE}).") int cols;
    @Option(names = "--stream-mib", defaultValue = "256", description = "Weight MiB per type in the streaming set (default ${DEFAULT-VALUE}).") int streamMib;
    @Option(names = "--rounds", defaultValue = "5", description = "Timed rounds, best counts (default ${DEFAULT-VALUE}).") int rounds;
    @Mixin PoolThreadsOption threads;

    @Override public Integer call() {
        threads.apply();
        DType[] ts = new DType[types.size()];
        for (int i = 0; i < ts.length; i++) {
            try {
                ts[i] = DType.valueOf(types.get(i).trim().toUpperCase());
            } catch (IllegalArgumentException e) {
                throw new UserException("--types: unknown type '" + types.get(i) + "' (use Q8_0, Q4_K, Q5_K, Q6_K, BF16, F16, F32)");
            }
            if (!ts[i].isBlock() && ts[i] != DType.BF16 && ts[i] != DType.F16 && ts[i] != DType.F32)
                throw new UserException("--types: " + ts[i] + " is not a weight type this bench runs (use Q8_0, Q4_K, Q5_K, Q6_K, BF16, F16, F32)");
        }
        if (rows < 1 || cols < 256 || cols % 256 != 0) throw new UserException("--rows must be >= 1 and --cols a positive multiple of 256, got " + rows + "x" + cols);
        for (int m : tokens) if (m < 1 || m > 64) throw new UserException("--tokens: " + m + " is outside 1..64");
        if (streamMib < 1 || rounds < 1) throw new UserException("--stream-mib and --rounds must be >= 1");
        new QuantGemvBench(ts, rows, cols, tokens, streamMib, rounds).run(System.out);
        return 0;
    }
}
