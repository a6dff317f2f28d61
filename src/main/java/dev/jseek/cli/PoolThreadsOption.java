package dev.jseek.cli;

import dev.jseek.kernels.Parallel;
import java.util.function.IntSupplier;
import picocli.CommandLine.Option;

/**
 * The benchmarks' {@code --threads}: the size of jseek's worker pool ({@code jseek.threads}), set before the pool
 * starts. {@code bench quant-gemv} and {@code bench rows} take it as this mixin; {@code bench gemm} and
 * {@code bench infer}, whose pools size a peer too, declare their own and call {@link #apply(Integer, IntSupplier)}.
 */
final class PoolThreadsOption {
    @Option(names = "--threads", description = "Pool threads (default: jseek.threads or all cores).") Integer threads;

    /** {@link #apply(Integer, IntSupplier)} to jseek's pool ({@link Parallel#threads}). */
    int apply() { return apply(threads, Parallel::threads); }

    /**
     * Sets {@code jseek.threads} to {@code threads} (null: leaves it) and returns the size of the pool {@code pool}
     * starts; refused when threads < 1 or the pool already runs with another number of threads.
     */
    static int apply(Integer threads, IntSupplier pool) {
        if (threads != null) {
            if (threads < 1) throw new UserException("--threads: must be >= 1, got " + threads);
            System.setProperty("jseek.threads", Integer.toString(threads));
        }
        int t = pool.getAsInt();
        if (threads != null && t != threads)
            throw new UserException("--threads " + threads + ": the jseek pool was already started with " + t + " threads");
        return t;
    }
}
