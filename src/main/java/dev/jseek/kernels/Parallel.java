package dev.jseek.kernels;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The process-wide persistent worker pool every parallel kernel runs on (docs/architecture.md §9).
 *
 * <p>Size: system property {@code jseek.threads} (default {@link Runtime#availableProcessors()}); the calling
 * thread is one of them, so {@code threads() - 1} daemon workers are started on first use. A job is a task count
 * {@code n} and a body; participants take task indices from one atomic counter (dynamic load balance) until
 * {@code n} is reached, and the call returns when every task has finished (the caller waits for tasks, never for a
 * worker that has not shown up). Idle workers spin ({@link Thread#onSpinWait}, yielding every
 * {@code jseek.yieldEvery} spins) for {@code jseek.spinMicros} microseconds (default 2000) after their last job,
 * then park until the next one.
 *
 * <p>Re-entrancy: a call made from inside a running body (on a worker or on the submitting thread) runs its tasks
 * serially on that thread. Calls from several unrelated threads are serialized: one job owns the pool at a time,
 * the others wait for it. An exception thrown by a body is rethrown to the caller after all tasks have stopped.
 */
public final class Parallel {
    private Parallel() {}

    /**
     * Body of {@link #parallelFor(int, Task)}: task index and the executing participant's id in [0, threads()).
     * Ids are distinct among the participants of one job (a nested, serial call reports the id of the participant
     * running it), so they can index per-participant scratch that belongs to that job.
     */
    @FunctionalInterface
    public interface Task { void run(int i, int worker); }

    /** Body of {@link #parallelForRange}: the half-open index range [lo, hi). */
    @FunctionalInterface
    public interface RangeTask { void run(int lo, int hi); }

    private static final int THREADS = configuredThreads();
    private static final long SPIN_NANOS = Long.getLong("jseek.spinMicros", 2000L) * 1000L;
    /** Spins of the submitting thread before it starts yielding while workers finish their last tasks. */
    private static final int PURE_SPINS = Integer.getInteger("jseek.pureSpins", 2000);
    /** An idle worker yields once every this many spins, so spinning costs little on an oversubscribed machine. */
    private static final int YIELD_EVERY = Integer.getInteger("jseek.yieldEvery", 64);

    private static final ReentrantLock OWNER = new ReentrantLock();
    private static volatile Worker[] workers;
    /** The job being run (or the last one); a new Job object per call, published by this volatile write. */
    private static volatile Job current;

    /** One parallelFor call: its own counters, so a worker that wakes late can never run tasks of another call. */
    private static final class Job {
        final Task body;
        final int n;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        volatile Throwable failure;
        /** Tasks the submitting thread ran (its own count; read after the job). */
        int callerTasks;

        /**
         * Contiguous mode ({@link #parallelForContiguous}): participant p owns tasks [n p / P, n (p + 1) / P), its
         * remaining range packed as (lo << 32 | hi) at seg[p * PAD] (one cache line each); null in shared-counter mode.
         */
        final long[] seg;

        Job(Task body, int n, boolean contiguous) {
            this.body = body;
            this.n = n;
            if (contiguous) {
                seg = new long[THREADS * PAD];
                for (int p = 0; p < THREADS; p++)
                    seg[p * PAD] = (long) (int) ((long) n * p / THREADS) << 32 | (int) ((long) n * (p + 1) / THREADS);
            } else {
                seg = null;
            }
        }

        /** The next task of participant p's range from its front (its owner), or -1 when the range is empty. */
        int front(int p) {
            int at = p * PAD;
            for (; ; ) {
                long v = (long) SEG.getVolatile(seg, at);
                int lo = (int) (v >>> 32), hi = (int) v;
                if (lo >= hi) return -1;
                if (SEG.compareAndSet(seg, at, v, (long) (lo + 1) << 32 | (hi & 0xFFFFFFFFL))) return lo;
            }
        }

        /** The last task of participant p's range, taken from its back (a participant done with its own), or -1. */
        int back(int p) {
            int at = p * PAD;
            for (; ; ) {
                long v = (long) SEG.getVolatile(seg, at);
                int lo = (int) (v >>> 32), hi = (int) v;
                if (lo >= hi) return -1;
                if (SEG.compareAndSet(seg, at, v, (long) lo << 32 | ((hi - 1) & 0xFFFFFFFFL))) return hi - 1;
            }
        }

        private int runOne(int i, int worker) {
            try {
                if (failure == null) body.run(i, worker);
            } catch (Throwable t) {
                if (failure == null) failure = t;
            }
            return 1;
        }

        /**
         * Runs tasks until none is left, then counts them into {@code done} with one atomic add (not one per task: with
         * two threads each contended update moves the counter's cache line between the cores, and a decode step has
         * about 70 sections of tens of tasks).
         */
        void drain(int worker) {
            int i, ran = 0;
            try {
                if (seg == null) {
                    while ((i = next.getAndIncrement()) < n) ran += runOne(i, worker);
                } else {
                    int own = worker % THREADS;
                    while ((i = front(own)) >= 0) ran += runOne(i, worker);
                    for (int q = 1; q < THREADS; q++) {
                        int p = (own + q) % THREADS;
                        while ((i = back(p)) >= 0) ran += runOne(i, worker);
                    }
                }
            } finally {
                if (worker == 0) callerTasks += ran;
                if (ran > 0) done.addAndGet(ran);
            }
        }
    }

    /** Longs between two participants' ranges in contiguous mode (64 bytes: no shared cache line). */
    private static final int PAD = 8;
    private static final java.lang.invoke.VarHandle SEG = java.lang.invoke.MethodHandles.arrayElementVarHandle(long[].class);

    /** True on the submitting thread while its body runs, so nested calls go serial. */
    private static final ThreadLocal<boolean[]> IN_JOB = ThreadLocal.withInitial(() -> new boolean[1]);

    private static int configuredThreads() {
        String s = System.getProperty("jseek.threads");
        if (s == null || s.isBlank()) return Math.max(1, Runtime.getRuntime().availableProcessors());
        int t;
        try {
            t = Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("system property jseek.threads: not an integer: '" + s + "'");
        }
        if (t < 1 || t > 4096) throw new IllegalArgumentException("system property jseek.threads: must be in 1..4096, got " + t);
        return t;
    }

    /** Parallel sections (jobs handed to the pool, not the ones run serially) since the start, for profiles. */
    private static long jobCount;

    /** Parallel sections run so far (approximate when several threads submit; exact for one). */
    public static long jobCount() { return jobCount; }

    private static volatile boolean stats;
    private static long statTasks, statCallerTasks, statAlone, statWaitNanos;

    /**
     * Turns on (and zeroes) the participation counters of the parallel sections (the decode-step profile's): tasks
     * run, tasks the submitting thread ran itself, sections in which no worker ran a task, and the time the
     * submitting thread waited for workers to finish their last tasks; off keeps the counts. Exact for one
     * submitting thread.
     */
    public static void stats(boolean on) {
        if (on) statTasks = statCallerTasks = statAlone = statWaitNanos = 0;
        stats = on;
    }

    /** {tasks, tasks run by the submitting thread, sections no worker joined, nanoseconds waited for workers}. */
    public static long[] statsSnapshot() { return new long[] {statTasks, statCallerTasks, statAlone, statWaitNanos}; }

    /** Number of participants (workers + the calling thread). */
    public static int threads() { return THREADS; }

    /** Runs {@code body.run(i, worker)} for every i in [0, n), in parallel; returns when all are done. */
    public static void parallelFor(int n, Task body) { run(n, body, false); }

    /**
     * {@link #parallelFor(int, Task)} where each participant walks its own contiguous run of the tasks: participant p
     * (the calling thread is 0) takes tasks [n p / P, n (p + 1) / P) in ascending order, then takes what is left of
     * the others' runs from their ends, descending (so a late or descheduled worker's share still gets done, and the
     * owner's run stays one ascending walk). For row-chunked products whose consecutive tasks are consecutive rows,
     * each thread then streams one contiguous stretch of memory instead of every P-th chunk (docs/quantization.md,
     * "The decode step"). Which thread runs a task changes nothing else.
     */
    public static void parallelForContiguous(int n, Task body) { run(n, body, true); }

    private static void run(int n, Task body, boolean contiguous) {
        if (n <= 0) return;
        Thread self = Thread.currentThread();
        if (n == 1 || THREADS == 1 || self instanceof Worker || IN_JOB.get()[0]) {
            int id = self instanceof Worker wk ? wk.id : 0;
            for (int i = 0; i < n; i++) body.run(i, id);
            return;
        }
        OWNER.lock();
        boolean[] inJob = IN_JOB.get();
        try {
            Worker[] ws = startWorkers();
            Job job = new Job(body, n, contiguous);
            jobCount++;
            current = job;                               // volatile write publishes the job
            for (Worker w : ws) if (w.parked) LockSupport.unpark(w);
            inJob[0] = true;
            try {
                job.drain(0);
            } finally {
                inJob[0] = false;
            }
            // wait for tasks still running on workers (not for workers that never showed up)
            long w0 = stats ? System.nanoTime() : 0L;
            for (int spins = 0; job.done.get() < n; spins++) {
                if (spins < PURE_SPINS) Thread.onSpinWait();
                else Thread.yield();                     // oversubscribed machine: let the worker run
            }
            if (stats) {
                statTasks += n;
                statCallerTasks += job.callerTasks;
                if (job.callerTasks == n) statAlone++;
                statWaitNanos += System.nanoTime() - w0;
            }
            Throwable f = job.failure;
            if (f != null) {
                if (f instanceof RuntimeException re) throw re;
                if (f instanceof Error er) throw er;
                throw new RuntimeException(f);
            }
        } finally {
            OWNER.unlock();
        }
    }

    /** Runs {@code body.accept(i)} for every i in [0, n) in parallel. */
    public static void parallelFor(int n, java.util.function.IntConsumer body) {
        parallelFor(n, (i, w) -> body.accept(i));
    }

    /**
     * Splits [0, n) into chunks of {@code grain} (the last may be shorter) and runs {@code body.run(lo, hi)} for each
     * in parallel.
     */
    public static void parallelForRange(int n, int grain, RangeTask body) {
        if (n <= 0) return;
        int g = Math.max(1, grain);
        int chunks = (int) ((n + (long) g - 1) / g);
        parallelFor(chunks, (c, w) -> {
            int lo = c * g;
            body.run(lo, Math.min(n, lo + g));
        });
    }

    /** A grain that gives each participant about {@code perThread} chunks of [0, n), rounded up to {@code multiple}. */
    public static int grain(int n, int perThread, int multiple) {
        int chunks = Math.max(1, THREADS * Math.max(1, perThread));
        int g = (n + chunks - 1) / chunks;
        int m = Math.max(1, multiple);
        return Math.max(m, (g + m - 1) / m * m);
    }

    private static Worker[] startWorkers() {
        Worker[] ws = workers;
        if (ws != null) return ws;
        ws = new Worker[THREADS - 1];
        for (int i = 0; i < ws.length; i++) {
            ws[i] = new Worker(i + 1, current);
            ws[i].start();
        }
        workers = ws;
        return ws;
    }

    private static final class Worker extends Thread {
        final int id;
        volatile boolean parked;
        private Job seen;

        Worker(int id, Job seenAtStart) {
            super("jseek-worker-" + id);
            this.id = id;
            this.seen = seenAtStart;
            setDaemon(true);
        }

        @Override public void run() {
            while (true) {
                Job job = awaitJob();
                seen = job;
                job.drain(id);
            }
        }

        private Job awaitJob() {
            long deadline = System.nanoTime() + SPIN_NANOS;
            Job j;
            int spins = 0;
            while ((j = current) == seen) {
                if (System.nanoTime() < deadline) {
                    if (++spins % YIELD_EVERY == 0) Thread.yield();
                    else Thread.onSpinWait();
                    continue;
                }
                parked = true;
                if ((j = current) != seen) { parked = false; return j; }
                LockSupport.park(this);
                parked = false;
                deadline = System.nanoTime() + SPIN_NANOS;
            }
            return j;
        }
    }
}
