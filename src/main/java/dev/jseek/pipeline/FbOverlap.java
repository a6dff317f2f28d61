package dev.jseek.pipeline;

import dev.jseek.parallel.Communicator;
import dev.jseek.parallel.ElemType;
import dev.jseek.parallel.SubComm;
import dev.jseek.parallel.Transfer;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The F&amp;B pair of DualPipe with expert parallelism (report §3.2.1, Figure 4): the forward of one micro-batch and
 * the input-gradient backward of another take turns on this rank, switching at every expert all-to-all, so each
 * micro-batch's dispatch and combine are in flight while the other micro-batch computes. The forward runs on the
 * calling thread, the backward on a helper thread; only one of them runs at a time (the turn passes under a lock),
 * so they never compete for the cores, and the communicator is used serially (MPI_THREAD_SERIALIZED).
 *
 * <p>Each micro-batch slot's MoE layers talk to the expert-parallel group through a {@link SlotComm}: a plain
 * blocking all-to-all outside a pair; inside one, the all-to-all is posted ({@link SubComm#postAllToAllV}, the
 * communicator's non-blocking transfers), the turn passes to the other half, and the transfer is completed when the
 * turn comes back. The forward half uses tag role 1 and the backward half role 2, so their transfers in flight
 * never match each other's; every rank of the group runs the same pair in the same turns, so the transfers of a
 * role pair up in order. Turns depend only on the model and the schedule: the numbers are those of the unpaired run.
 *
 * <p>Each all-to-all is timed: {@link Stats#commNs} is post to completion as its half saw it (the whole of it when
 * blocking), {@link Stats#exposedNs} the part after its half had the turn back (the wait nothing hid).
 */
final class FbOverlap implements AutoCloseable {
    /** Whether F&amp;B pairs overlap (system property {@code jseek.pipeline.overlap}, default true). */
    static final String PROPERTY = "jseek.pipeline.overlap";

    /** All-to-all time in F&amp;B pairs and elsewhere, nanoseconds. */
    static final class Stats {
        long pairs, commNs, exposedNs, plainNs, plainCount, pairCount;
        void reset() { pairs = commNs = exposedNs = plainNs = plainCount = pairCount = 0; }
    }

    private final ExecutorService helper = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "jseek-fb-overlap");
        t.setDaemon(true);
        return t;
    });
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final boolean[] finished = new boolean[2];
    private int turn;
    final Stats stats = new Stats();

    /** Runs {@code f} (this thread) and {@code b} (the helper thread) in turns switched at their slots' all-to-alls. */
    void run(SlotComm fc, Runnable f, SlotComm bc, Runnable b) {
        lock.lock();
        try {
            finished[0] = finished[1] = false;
            turn = 0;
        } finally {
            lock.unlock();
        }
        fc.bind(this, 0);
        bc.bind(this, 1);
        stats.pairs++;
        Future<?> other = helper.submit(() -> {
            waitTurn(1);
            try {
                b.run();
            } finally {
                finish(1);
            }
        });
        Throwable failure = null;
        try {
            waitTurn(0);
            f.run();
        } catch (Throwable t) {
            failure = t;
        } finally {
            finish(0);
        }
        try {
            other.get();
        } catch (ExecutionException e) {
            if (failure == null) failure = e.getCause();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            if (failure == null) failure = e;
        } finally {
            fc.unbind();
            bc.unbind();
        }
        if (failure instanceof RuntimeException re) throw re;
        if (failure instanceof Error err) throw err;
        if (failure != null) throw new IllegalStateException(failure);
    }

    /** The pair without overlap: {@code f}, then {@code b}, on this thread, each all-to-all blocking (timed as in a pair). */
    void runInOrder(SlotComm fc, Runnable f, SlotComm bc, Runnable b) {
        fc.bind(null, 0);
        bc.bind(null, 1);
        stats.pairs++;
        try {
            f.run();
            b.run();
        } finally {
            fc.unbind();
            bc.unbind();
        }
    }

    /** Hands the turn to the other half (unless it finished) and returns when it comes back. */
    private void pass(int side) {
        handOver(side, false);
        waitTurn(side);
    }

    private void waitTurn(int side) {
        lock.lock();
        try {
            while (turn != side) changed.awaitUninterruptibly();
        } finally {
            lock.unlock();
        }
    }

    private void finish(int side) { handOver(side, true); }

    /**
     * Gives the turn to the other half, {@code side} having finished when {@code done}; while not done, a half whose
     * other half finished keeps the turn. (Only the half holding the turn hands it over, so it is still this half's
     * when {@link #pass} then waits for it, if the other half gave it back or finished meanwhile.)
     */
    private void handOver(int side, boolean done) {
        lock.lock();
        try {
            if (done) finished[side] = true;
            if (done || !finished[1 - side]) turn = 1 - side;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Override public void close() { helper.shutdownNow(); }

    /**
     * A micro-batch slot's view of the expert-parallel group: blocking all-to-alls (role 0) outside an F&amp;B pair,
     * posted ones that pass the turn inside one. Other operations go to the group as they are.
     */
    static final class SlotComm implements Communicator {
        private final SubComm plain, forward, backward;
        private final Stats stats;
        private FbOverlap pair;
        private boolean paired;
        private int side;

        SlotComm(SubComm group, Stats stats) {
            this.plain = group.role(0);
            this.forward = group.role(1);
            this.backward = group.role(2);
            this.stats = stats;
        }

        /** Inside a pair as its forward (side 0) or backward (1) half; p null: the pair runs in order. */
        void bind(FbOverlap p, int side) { pair = p; paired = true; this.side = side; }

        void unbind() { pair = null; paired = false; }

        @Override public void allToAllV(MemorySegment send, int[] sc, int[] sd, MemorySegment recv, int[] rc, int[] rd, ElemType type) {
            long t0 = System.nanoTime();
            if (!paired) {
                plain.allToAllV(send, sc, sd, recv, rc, rd, type);
                stats.plainNs += System.nanoTime() - t0;
                stats.plainCount++;
                return;
            }
            SubComm g = side == 0 ? forward : backward;
            if (pair == null) {
                g.allToAllV(send, sc, sd, recv, rc, rd, type);
                long t = System.nanoTime() - t0;
                stats.commNs += t;
                stats.exposedNs += t;
                stats.pairCount++;
                return;
            }
            Pending p = g.postAllToAllV(send, sc, sd, recv, rc, rd, type);
            long posted = System.nanoTime();
            pair.pass(side);
            long back = System.nanoTime();
            p.await();
            long done = System.nanoTime();
            stats.commNs += done - t0;
            stats.exposedNs += done - back + (posted - t0);
            stats.pairCount++;
        }

        @Override public int rank() { return plain.rank(); }
        @Override public int size() { return plain.size(); }
        @Override public String backend() { return plain.backend(); }
        @Override public void allGatherV(MemorySegment send, MemorySegment recv, int[] counts, ElemType type) { plain.allGatherV(send, recv, counts, type); }
        @Override public void broadcast(MemorySegment buf, int count, int root, ElemType type) { plain.broadcast(buf, count, root, type); }
        @Override public void barrier() { plain.barrier(); }
        @Override public void exchange(List<Transfer> batch) { plain.exchange(batch); }
        @Override public MemorySegment scratch(int slot, long bytes) { return plain.scratch(slot, bytes); }
        @Override public void abort(String message) { plain.abort(message); }
        @Override public void close() {}
    }
}
