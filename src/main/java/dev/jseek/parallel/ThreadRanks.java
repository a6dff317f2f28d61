package dev.jseek.parallel;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Runs a body on N ranks that are threads of this JVM ({@code jseek train --ranks N}, tests), each with its
 * {@link ThreadComm}. A rank that throws fails the group, so the others stop at their next communication instead
 * of waiting for it; the other rank threads are interrupted. The first failure is rethrown once every rank has
 * stopped (ranks that do not stop within the grace period are left behind as daemon threads).
 */
public final class ThreadRanks {
    private ThreadRanks() {}

    private static final long GRACE_MILLIS = 10_000;

    /** {@link #run(int, long, Function)} with the deadline of {@link CommConfig#timeoutNanos()}. */
    public static <T> List<T> run(int n, Function<Communicator, T> body) { return run(n, CommConfig.timeoutNanos(), body); }

    /** Runs {@code body} on ranks 0..n-1; returns their results in rank order or rethrows the first failure. */
    public static <T> List<T> run(int n, long timeoutNanos, Function<Communicator, T> body) {
        ThreadComm.Group g = new ThreadComm.Group(n, timeoutNanos);
        List<T> results = new ArrayList<>();
        for (int i = 0; i < n; i++) results.add(null);
        Throwable[] first = new Throwable[1];
        Thread[] ts = new Thread[n];
        for (int r = 0; r < n; r++) {
            int rank = r;
            ts[r] = new Thread(() -> {
                try (Communicator c = g.member(rank)) {
                    T v = body.apply(c);
                    synchronized (results) { results.set(rank, v); }
                } catch (Throwable t) {
                    synchronized (first) {
                        if (first[0] == null) first[0] = t;
                    }
                    g.fail(t instanceof CommException ? t.getMessage() : "rank " + rank + " failed: " + t);
                    for (Thread o : ts) if (o != null && o != Thread.currentThread()) o.interrupt();
                }
            }, "rank-" + r);
            ts[r].setDaemon(true);
        }
        for (Thread t : ts) t.start();
        long graceEnd = Long.MAX_VALUE;
        for (Thread t : ts) {
            try {
                while (t.isAlive()) {
                    if (g.failure() != null && graceEnd == Long.MAX_VALUE) graceEnd = System.currentTimeMillis() + GRACE_MILLIS;
                    long wait = graceEnd == Long.MAX_VALUE ? 100 : graceEnd - System.currentTimeMillis();
                    if (wait <= 0) break;
                    t.join(Math.min(wait, 100));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                g.fail("interrupted while waiting for the ranks");
                throw new CommException("interrupted while waiting for the ranks");
            }
        }
        Throwable f = first[0];
        if (f == null && g.failure() != null) f = new CommException(g.failure());
        if (f instanceof RuntimeException re) throw re;
        if (f instanceof Error er) throw er;
        if (f != null) throw new CommException(f.toString(), f);
        return results;
    }
}
