package dev.jseek.bench;

import dev.jseek.kernels.Parallel;
import dev.jseek.kernels.Vec;
import jdk.incubator.vector.FloatVector;

/**
 * The memory-bandwidth triad of STREAM, {@code a[i] = b[i] + s * c[i]} over three float arrays far larger than the
 * caches, on the {@link Parallel} pool (each thread a contiguous share): bytes moved = 3 arrays (two read, one
 * written; write-allocate traffic not counted, as STREAM counts it) over the best of {@code reps} passes. The
 * bandwidth decode can hope for on this machine with this many threads.
 */
public final class MemoryTriad {
    private MemoryTriad() {}

    /** Best GB/s (1e9 bytes) over reps passes of arrays of {@code mib} MiB each. */
    public static double gbPerSecond(int mib, int reps) {
        int n0 = (int) ((long) mib << 20 >> 2);
        int n = n0 - n0 % (64 * Vec.LANES);
        float[] a = new float[n], b = new float[n], c = new float[n];
        int tasks = Parallel.threads();
        int per = n / tasks;
        Parallel.parallelFor(tasks, (t, w) -> {                              // first touch in parallel
            for (int i = t * per, e = t == tasks - 1 ? n : i + per; i < e; i++) {
                b[i] = 1f;
                c[i] = 2f;
            }
        });
        double best = 0;
        for (int r = 0; r < reps + 1; r++) {
            long t0 = System.nanoTime();
            Parallel.parallelFor(tasks, (t, w) -> triad(a, b, c, 0.5f, t * per, t == tasks - 1 ? n : (t + 1) * per));
            double s = (System.nanoTime() - t0) / 1e9;
            if (r > 0) best = Math.max(best, 3.0 * 4 * n / s / 1e9);       // the first pass warms up
        }
        if (a[n - 1] != 2f) throw new IllegalStateException("triad computed " + a[n - 1] + ", not 2");
        return best;
    }

    private static void triad(float[] a, float[] b, float[] c, float s, int i0, int i1) {
        int L = Vec.LANES, i = i0;
        for (; i + L <= i1; i += L)
            FloatVector.fromArray(Vec.F, c, i).mul(s).add(FloatVector.fromArray(Vec.F, b, i)).intoArray(a, i);
        for (; i < i1; i++) a[i] = b[i] + s * c[i];
    }
}
