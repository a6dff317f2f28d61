package dev.jseek.train;

import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongConsumer;

/**
 * Exponential moving average of the parameters (docs/architecture.md §7.1: "EMA of parameters kept in CPU memory, updated
 * asynchronously after each step"): after update k, {@code ema = decay * ema + (1 - decay) * params_k} per element
 * in FP32 ({@code decay} and {@code 1 - decay} rounded to float once), starting from the parameters given at
 * construction.
 *
 * <p>Threading: {@link #submit} runs on the training thread and only copies the parameters into one of two staging
 * buffers (double buffering: it waits only if the worker has not yet consumed the update before the previous one);
 * a single daemon worker thread applies the updates strictly in submission order. The result after update N is
 * therefore the same sequence of FP32 operations as a plain loop, bit for bit, whatever the timing.
 * {@link #values()} waits for all submitted updates. Not for use by more than one submitting thread.
 */
public final class Ema implements AutoCloseable {
    private final float decay, oneMinus;
    private final double decayValue;
    private final float[] ema;
    private final float[][] staging;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final LongConsumer beforeUpdate; // test hook (timing); may be null
    private final Thread worker;
    private long submitted, applied, base; // updates: submitted/applied count since construction or restore
    private boolean closed;
    private Throwable failure;

    /** An EMA starting at a copy of {@code initial}; {@code decay} in [0, 1). */
    public Ema(float[] initial, double decay) { this(initial, decay, null); }

    Ema(float[] initial, double decay, LongConsumer beforeUpdate) {
        if (!(decay >= 0 && decay < 1)) throw new IllegalArgumentException("EMA decay must be in [0, 1), got " + decay);
        this.decayValue = decay;
        this.decay = (float) decay;
        this.oneMinus = (float) (1 - decay);
        this.ema = initial.clone();
        this.staging = new float[][] {new float[initial.length], new float[initial.length]};
        this.beforeUpdate = beforeUpdate;
        this.worker = Thread.ofPlatform().daemon().name("jseek-ema").start(this::run);
    }

    public double decay() { return decayValue; }

    /** Number of elements. */
    public int size() { return ema.length; }

    /** Hands the parameters after one optimizer step to the worker (copies them; returns without waiting for the update). */
    public void submit(float[] params) {
        if (params.length != ema.length) throw new IllegalArgumentException("EMA of " + ema.length + " floats got " + params.length);
        long k;
        lock.lock();
        try {
            k = submitted + 1;
            while (applied < k - 2 && failure == null && !closed) changed.awaitUninterruptibly();
            check();
        } finally {
            lock.unlock();
        }
        System.arraycopy(params, 0, staging[(int) (k & 1)], 0, params.length);
        long next = k;
        publish(() -> submitted = next);
    }

    /** Waits until every submitted update is applied. */
    public void sync() {
        lock.lock();
        try {
            while (applied < submitted && failure == null) changed.awaitUninterruptibly();
            check();
        } finally {
            lock.unlock();
        }
    }

    /** The EMA after all submitted updates (waits for them); the live array: do not modify, and read it before the next {@link #submit}. */
    public float[] values() {
        sync();
        return ema;
    }

    /** Updates applied since the EMA was created or restored, plus the count given to {@link #restore}. */
    public long updates() {
        sync();
        return base + applied;
    }

    /** Replaces the EMA (resuming from a checkpoint) with {@code values} after {@code updates} updates. */
    public void restore(float[] values, long updates) {
        if (values.length != ema.length) throw new IllegalArgumentException("EMA of " + ema.length + " floats cannot restore " + values.length);
        sync();
        System.arraycopy(values, 0, ema, 0, ema.length);
        lock.lock();
        try {
            base = updates - applied;
        } finally {
            lock.unlock();
        }
    }

    /** Applies {@code change} to the shared state under the lock and wakes the waiters. */
    private void publish(Runnable change) {
        lock.lock();
        try {
            change.run();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void check() {
        if (failure != null) throw new IllegalStateException("EMA worker failed: " + failure, failure);
        if (closed) throw new IllegalStateException("EMA is closed");
    }

    private void run() {
        try {
            while (true) {
                long k;
                lock.lock();
                try {
                    while (applied >= submitted && !closed) changed.awaitUninterruptibly();
                    if (applied >= submitted) return; // closed and drained
                    k = applied + 1;
                } finally {
                    lock.unlock();
                }
                if (beforeUpdate != null) beforeUpdate.accept(k);
                float[] p = staging[(int) (k & 1)];
                float d = decay, o = oneMinus;
                float[] e = ema;
                for (int i = 0; i < e.length; i++) e[i] = d * e[i] + o * p[i];
                long done = k;
                publish(() -> applied = done);
            }
        } catch (Throwable t) {
            publish(() -> failure = t);
        }
    }

    /** Applies the pending updates, then stops the worker. */
    @Override public void close() {
        publish(() -> closed = true);
        try {
            worker.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
