package dev.jseek.train;

/**
 * The thread pool the training kernels run on: a facade over the process-wide kernels pool, so training loops and
 * GEMMs share one set of threads (java-anchors "Threading": one persistent pool, never oversubscribe). Bodies get
 * the index range of their chunk and a participant id in [0, {@link #threads()}) for per-thread scratch. Until the
 * kernels pool is on this branch the facade runs every chunk on the calling thread (same results, no speedup).
 */
final class TrainPool {
    private TrainPool() {}

    @FunctionalInterface
    interface Range { void run(int lo, int hi, int worker); }

    private static volatile boolean busy;

    /** True while a {@link #forRange} job runs (its bodies must not time themselves: {@link Profiler}). */
    static boolean busy() { return busy; }

    /** Number of participants. */
    static int threads() { return 1; }

    /** Runs body over [0, n) in chunks of at most {@code grain} indices, in parallel; returns when all are done. */
    static void forRange(int n, int grain, Range body) {
        if (n <= 0) return;
        int g = Math.max(1, grain);
        boolean outer = !busy;
        busy = true;
        try {
            for (int lo = 0; lo < n; lo += g) body.run(lo, Math.min(n, lo + g), 0);
        } finally {
            if (outer) busy = false;
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
