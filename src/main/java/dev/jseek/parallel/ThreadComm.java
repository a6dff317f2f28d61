package dev.jseek.parallel;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The thread backend: ranks are threads of one JVM sharing a {@link Group} ({@link ThreadRanks} starts them). A
 * collective is a two-phase rendezvous: each rank publishes its call and waits until every rank has published one
 * (phase 1), copies what it needs straight from the other ranks' buffers, and waits until every rank has finished
 * copying (phase 2), so no buffer is reused while a peer still reads it. Sends of {@link #exchange} are copied into
 * per-(source, destination, tag) mailboxes, so a batch never blocks on its own sends. Native buffers must be
 * accessible from every rank thread (global, auto or shared arenas; not confined ones).
 *
 * <p>Deadline: a wait longer than the group's timeout fails the group with a message naming the ranks that did not
 * arrive; a rank that throws fails the group ({@link Group#fail}); either way every rank's next or current wait
 * throws {@link CommException} with that message.
 */
public final class ThreadComm implements Communicator {
    /** State shared by the ranks of one group. */
    public static final class Group {
        final int size;
        final long timeoutNanos;
        final ReentrantLock lock = new ReentrantLock();
        final Condition changed = lock.newCondition();
        final long[] phase;
        final Op[] ops;
        final Map<List<Integer>, ArrayDeque<byte[]>> mail = new HashMap<>();
        volatile String failure;

        public Group(int size, long timeoutNanos) {
            if (size < 1) throw new IllegalArgumentException("a group needs at least 1 rank, got " + size);
            if (timeoutNanos <= 0) throw new IllegalArgumentException("timeout must be > 0 ns, got " + timeoutNanos);
            this.size = size;
            this.timeoutNanos = timeoutNanos;
            this.phase = new long[size];
            this.ops = new Op[size];
        }

        /** Marks the group failed with {@code message} (the first failure wins) and wakes every waiting rank. */
        public void fail(String message) {
            lock.lock();
            try {
                if (failure == null) failure = message;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }

        /** The first failure, or null. */
        public String failure() { return failure; }

        /** The communicator of rank r. */
        public ThreadComm member(int r) {
            if (r < 0 || r >= size) throw new IllegalArgumentException("rank " + r + " outside 0.." + (size - 1));
            return new ThreadComm(this, r);
        }
    }

    /** One rank's published collective call. */
    private record Op(String name, MemorySegment send, int[] sc, int[] sd, MemorySegment recv, int[] rc, int[] rd,
                      ElemType type, int root) {}

    private final Group g;
    private final int rank;
    private long seq;
    private final HeapScratch scratch = new HeapScratch();

    private ThreadComm(Group g, int rank) {
        this.g = g;
        this.rank = rank;
    }

    @Override public int rank() { return rank; }
    @Override public int size() { return g.size; }
    @Override public String backend() { return "threads"; }

    @Override public MemorySegment scratch(int slot, long bytes) { return scratch.get(slot, bytes); }

    @Override public void allToAllV(MemorySegment send, int[] sc, int[] sd, MemorySegment recv, int[] rc, int[] rd, ElemType type) {
        Communicator.checkCounts(sc, g.size, "all-to-all-v send");
        Communicator.checkCounts(rc, g.size, "all-to-all-v receive");
        collective(new Op("allToAllV", send, sc, sd, recv, rc, rd, type, -1), ops -> {
            int b = type.bytes();
            for (int i = 0; i < g.size; i++) {
                Op p = ops[i];
                if (p.sc[rank] != rc[i])
                    throw new CommException("all-to-all-v: rank " + i + " sends " + p.sc[rank] + " elements to rank " + rank + ", which expects " + rc[i]);
                MemorySegment.copy(p.send, (long) p.sd[rank] * b, recv, (long) rd[i] * b, (long) rc[i] * b);
            }
        });
    }

    @Override public void allGatherV(MemorySegment send, MemorySegment recv, int[] counts, ElemType type) {
        Communicator.checkCounts(counts, g.size, "all-gather");
        collective(new Op("allGather", send, counts, null, recv, null, null, type, -1), ops -> {
            int b = type.bytes();
            long off = 0;
            for (int i = 0; i < g.size; i++) {
                if (!Arrays.equals(ops[i].sc, counts))
                    throw new CommException("all-gather: rank " + i + " passes counts " + Arrays.toString(ops[i].sc) + ", rank " + rank + " " + Arrays.toString(counts));
                MemorySegment.copy(ops[i].send, 0, recv, off, (long) counts[i] * b);
                off += (long) counts[i] * b;
            }
        });
    }

    @Override public void broadcast(MemorySegment buf, int count, int root, ElemType type) {
        if (root < 0 || root >= g.size) throw new IllegalArgumentException("broadcast root " + root + " outside 0.." + (g.size - 1));
        collective(new Op("broadcast", buf, new int[] {count}, null, null, null, null, type, root), ops -> {
            Op r = ops[root];
            if (r.root != root || r.sc[0] != count)
                throw new CommException("broadcast: rank " + rank + " expects " + count + " elements from root " + root
                        + ", root rank " + root + " sends " + r.sc[0] + (r.root != root ? " as root " + r.root : ""));
            if (rank != root) MemorySegment.copy(r.send, 0, buf, 0, (long) count * type.bytes());
        });
    }

    @Override public void barrier() {
        collective(new Op("barrier", null, null, null, null, null, null, ElemType.BYTE, -1), ops -> {});
    }

    @Override public void exchange(List<Transfer> batch) { post(batch).await(); }

    /** Sends are copied into the mailboxes now; receives are taken from them, in posting order per (peer, tag), by await. */
    @Override public Pending post(List<Transfer> batch) {
        for (Transfer t : batch) checkPeer(t.peer());
        List<Transfer> pending = new ArrayList<>();
        g.lock.lock();
        try {
            throwIfFailed();
            for (Transfer t : batch) {
                if (!t.send()) { pending.add(t); continue; }
                byte[] copy = new byte[Math.toIntExact(t.bytes())];
                MemorySegment.copy(t.buf(), 0, MemorySegment.ofArray(copy), 0, copy.length);
                g.mail.computeIfAbsent(List.of(rank, t.peer(), t.tag()), k -> new ArrayDeque<>()).add(copy);
            }
            g.changed.signalAll();
        } finally {
            g.lock.unlock();
        }
        if (pending.isEmpty()) return Pending.DONE;
        return new Pending() {
            @Override public void await() {
                if (pending.isEmpty()) return;
                long deadline = System.nanoTime() + g.timeoutNanos;
                g.lock.lock();
                try {
                    throwIfFailed();
                    while (!pending.isEmpty()) {
                        for (var it = pending.iterator(); it.hasNext(); ) {
                            Transfer t = it.next();
                            ArrayDeque<byte[]> q = g.mail.get(List.of(t.peer(), rank, t.tag()));
                            if (q == null || q.isEmpty()) continue;
                            byte[] m = q.poll();
                            if (m.length != t.bytes())
                                throw fail("receive on rank " + rank + " from rank " + t.peer() + " (tag " + t.tag() + "): " + m.length
                                        + " bytes arrived, " + t.bytes() + " expected");
                            MemorySegment.copy(MemorySegment.ofArray(m), 0, t.buf(), 0, m.length);
                            it.remove();
                        }
                        if (pending.isEmpty()) break;
                        long left = deadline - System.nanoTime();
                        if (left <= 0) {
                            List<String> who = new ArrayList<>();
                            for (Transfer t : pending) who.add("rank " + t.peer() + " (tag " + t.tag() + ")");
                            throw fail(String.format(java.util.Locale.ROOT, "rank %d: receives from %s did not arrive within %.1f s (%s)",
                                    rank, String.join(", ", who), g.timeoutNanos / 1e9, CommConfig.TIMEOUT_PROPERTY));
                        }
                        awaitChange(left);
                        throwIfFailed();
                    }
                } finally {
                    g.lock.unlock();
                }
            }
        };
    }

    @Override public void abort(String message) {
        g.fail("rank " + rank + " aborted the job: " + message);
        throw new CommException("rank " + rank + " aborted the job: " + message);
    }

    @Override public void close() {}

    // ---- the rendezvous ----

    @FunctionalInterface
    private interface Move { void run(Op[] ops); }

    private void collective(Op op, Move move) {
        long s = ++seq;
        long deadline = System.nanoTime() + g.timeoutNanos;
        Op[] ops;
        g.lock.lock();
        try {
            throwIfFailed();
            g.ops[rank] = op;
            g.phase[rank] = 2 * s - 1;
            g.changed.signalAll();
            waitAll(2 * s - 1, deadline, op.name, s);
            ops = g.ops.clone();
            for (int i = 0; i < g.size; i++)
                if (!ops[i].name.equals(op.name) || ops[i].type != op.type)
                    throw fail("collective #" + s + ": rank " + rank + " called " + op.name + " (" + op.type + ") but rank " + i
                            + " called " + ops[i].name + " (" + ops[i].type + ")");
        } finally {
            g.lock.unlock();
        }
        try {
            move.run(ops);
        } catch (CommException e) {
            g.fail(e.getMessage());
            throw e;
        }
        g.lock.lock();
        try {
            g.phase[rank] = 2 * s;
            g.changed.signalAll();
            waitAll(2 * s, System.nanoTime() + g.timeoutNanos, op.name, s);
        } finally {
            g.lock.unlock();
        }
    }

    private void waitAll(long target, long deadline, String name, long s) {
        while (true) {
            throwIfFailed();
            boolean all = true;
            for (long p : g.phase) if (p < target) { all = false; break; }
            if (all) return;
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                List<Integer> missing = new ArrayList<>();
                for (int i = 0; i < g.size; i++) if (g.phase[i] < target) missing.add(i);
                throw fail(String.format(java.util.Locale.ROOT, "collective #%d (%s): rank%s %s did not arrive within %.1f s (%s); rank %d waited there",
                        s, name, missing.size() == 1 ? "" : "s", missing.size() == 1 ? missing.get(0).toString() : missing.toString(),
                        g.timeoutNanos / 1e9, CommConfig.TIMEOUT_PROPERTY, rank));
            }
            awaitChange(left);
        }
    }

    private void awaitChange(long nanos) {
        try {
            g.changed.awaitNanos(Math.min(nanos, TimeUnit.MILLISECONDS.toNanos(200)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw fail("rank " + rank + " was interrupted while waiting for the other ranks");
        }
    }

    private void throwIfFailed() {
        String f = g.failure;
        if (f != null) throw new CommException(f);
    }

    /** Fails the group (caller holds the lock or not) and returns the exception to throw. */
    private CommException fail(String message) {
        g.fail(message);
        return new CommException(g.failure());
    }

    private void checkPeer(int p) {
        if (p >= g.size || p == rank) throw new IllegalArgumentException("transfer peer " + p + " of rank " + rank + " in a group of " + g.size);
    }
}
