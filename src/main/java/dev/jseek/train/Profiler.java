package dev.jseek.train;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Wall-clock timers per named section of the training step, and a count of the GEMM FLOPs executed by
 * {@link Linear}, for {@code jseek bench train --profile} (off by default: then every call is one branch on a static
 * boolean). Turned on by {@link #enable} or the system property {@code jseek.profile=true}.
 *
 * <p>Sections are registered once ({@link #section}); {@link #start} returns a timestamp (0 when off) and
 * {@link #stop} adds the elapsed time to a section. Sections may nest (a parent's time includes its children's);
 * the report says so by indentation of the registered name only, not by arithmetic. Only the thread that enabled
 * profiling times, and not inside a {@link TrainPool} job (so GEMMs run by the parallel expert loop count in
 * "moe routed experts" but not in the gemm lines); the FLOP count includes every GEMM.
 */
public final class Profiler {
    private Profiler() {}

    private static volatile boolean on = Boolean.getBoolean("jseek.profile");
    private static volatile Thread owner = Boolean.getBoolean("jseek.profile") ? Thread.currentThread() : null;
    private static final List<String> names = new ArrayList<>();
    private static long[] nanos = new long[0], calls = new long[0];
    private static final AtomicLong gemmFlops = new AtomicLong();

    /** Registers a section (idempotent by name); returns its id. */
    public static synchronized int section(String name) {
        int i = names.indexOf(name);
        if (i >= 0) return i;
        names.add(name);
        nanos = java.util.Arrays.copyOf(nanos, names.size());
        calls = java.util.Arrays.copyOf(calls, names.size());
        return names.size() - 1;
    }

    /** Turns profiling on or off; when on, the calling thread is the one that times. */
    public static void enable(boolean enabled) {
        on = enabled;
        owner = enabled ? Thread.currentThread() : null;
    }

    public static boolean enabled() { return on; }

    /** A start timestamp, or 0 when profiling is off. */
    public static long start() { return on && Thread.currentThread() == owner && !TrainPool.busy() ? System.nanoTime() : 0L; }

    /** Adds the time since {@code t0} to section {@code id} (no-op when off). */
    public static void stop(int id, long t0) {
        if (t0 == 0L) return;
        nanos[id] += System.nanoTime() - t0;
        calls[id]++;
    }

    /** Counts 2*m*n*k FLOPs of one GEMM (no-op when off). */
    static void gemm(long m, long n, long k) {
        if (on) gemmFlops.addAndGet(2 * m * n * k);
    }

    /** Zeroes every timer and the FLOP count. */
    public static synchronized void reset() {
        java.util.Arrays.fill(nanos, 0);
        java.util.Arrays.fill(calls, 0);
        gemmFlops.set(0);
    }

    /** GEMM FLOPs counted since the last reset. */
    public static long gemmFlops() { return gemmFlops.get(); }

    /** Section names in registration order. */
    public static synchronized List<String> names() { return List.copyOf(names); }

    /** Nanoseconds accumulated in each section (registration order). */
    public static synchronized long[] nanos() { return nanos.clone(); }

    /** Number of timed calls of each section. */
    public static synchronized long[] calls() { return calls.clone(); }
}
