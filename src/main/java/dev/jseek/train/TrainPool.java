package dev.jseek.train;

import dev.jseek.kernels.Parallel;

/**
 * The thread pool the training kernels run on: a facade over the process-wide {@link Parallel} pool, so training
 * loops and GEMMs share one set of threads (docs/architecture.md §9: one persistent pool, never oversubscribe; size
 * {@code jseek.threads}). Bodies get the index range of their chunk and a participant id in [0, {@link #threads()}).
 * A GEMM (or another forRange) called inside a body runs serially on that thread (Parallel's nesting rule), so e.g.
 * the MoE experts run in parallel with one single-threaded GEMM chain each. Chunks only change which thread computes
 * an element, never the order of a sum, so results do not depend on the thread count.
 */
final class TrainPool {
    private TrainPool() {}

    @FunctionalInterface
    interface Range { void run(int lo, int hi, int worker); }

    /** Whether this thread is inside a {@link #forRange} job: per thread, so thread ranks running jobs side by side
     *  (or a rank left blocked in one by a failed test) never hide the profiler of another thread. */
    private static final ThreadLocal<boolean[]> BUSY = ThreadLocal.withInitial(() -> new boolean[1]);

    /** True while a {@link #forRange} job runs (its bodies must not time themselves: {@link Profiler}). */
    static boolean busy() { return BUSY.get()[0]; }

    /** Number of participants. */
    static int threads() { return Parallel.threads(); }

    /** Runs body over [0, n) in chunks of at most {@code grain} indices, in parallel; returns when all are done. */
    static void forRange(int n, int grain, Range body) {
        if (n <= 0) return;
        int g = Math.max(1, grain);
        boolean[] busy = BUSY.get();
        boolean outer = !busy[0];
        busy[0] = true;
        try {
            int chunks = (int) ((n + (long) g - 1) / g);
            if (chunks == 1) body.run(0, n, 0);
            else Parallel.parallelFor(chunks, (c, w) -> body.run(c * g, Math.min(n, c * g + g), w));
        } finally {
            if (outer) busy[0] = false;
        }
    }

    /** x[from..to) = 0, in parallel blocks. */
    static void zero(float[] x, int from, int to) {
        int n = to - from;
        forRange(n, grain(n, 1 << 16), (lo, hi, w) -> java.util.Arrays.fill(x, from + lo, from + hi, 0f));
    }

    /** A grain giving each participant about 4 chunks of [0, n), at least {@code min}. */
    static int grain(int n, int min) {
        int chunks = 4 * threads();
        return Math.max(min, (n + chunks - 1) / chunks);
    }
}
