package dev.jseek.parallel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The MPI backend: this process is one rank of {@code MPI_COMM_WORLD} (launched by {@code mpirun -np N ./jseek ...};
 * rank and size come from MPI), calling Open MPI through {@link Mpi} (FFM).
 *
 * <p>Every operation is MPI's non-blocking form ({@code MPI_Ialltoallv}, {@code MPI_Iallgatherv}, {@code MPI_Ibcast},
 * {@code MPI_Ibarrier}, {@code MPI_Isend}/{@code MPI_Irecv}) completed by an {@code MPI_Test} loop with a deadline
 * ({@link CommConfig#timeoutSeconds()}), so nothing waits forever. To name the ranks that did not arrive, a rank
 * whose wait for a collective outlasts the spin phase sends that collective's sequence number to every other rank on
 * a duplicate of the communicator (a few bytes, eager); a rank that times out reads those arrivals and names the
 * ranks whose last one is older. A collective that completes while spinning (the common case) sends nothing but
 * itself: the arrival check costs no message there. (A rank that completed collective k before the others counts as
 * arrived once it waits in a later one; it names a rank wrongly only when that rank completed k and then computed,
 * without any collective, for longer than the whole deadline.) A rank that
 * dies is Open MPI's to report: mpirun sees the process end, prints which rank it was, and terminates the others
 * (a shutdown hook adds one line on each). The CLI answers a {@link CommException} with {@link #abort}
 * ({@code MPI_Abort}), which stops every process.
 *
 * <p>Native segments go to MPI as they are; heap segments are staged through native buffers (one copy each way).
 * Reductions are the rank-ordered ones of {@link Communicator}; MPI's own reductions are not used.
 */
public final class MpiComm implements Communicator {
    private static final int TAG_ARRIVE = 1;
    private static MpiComm world;

    private final Mpi mpi;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment comm, ctl;
    private final int rank, size;
    private final MemorySegment ints, reqs, req0, flag, status, seqBuf, arrival;
    private final long[] seen;
    private final long timeoutNanos;
    private long seq;
    private final MemorySegment[] scratch = new MemorySegment[8];
    private final Arena[] scratchArena = new Arena[8];
    private volatile boolean finished;
    /** Busy-wait time before yielding: 1 ms, or 20 us when this node runs more ranks than it has cores ({@link #oversubscribed}). */
    private final long spinNanos;

    /** True when this JVM was started by Open MPI's mpirun (it sets OMPI_COMM_WORLD_SIZE). */
    public static boolean launchedByMpirun() { return System.getenv("OMPI_COMM_WORLD_SIZE") != null; }

    /** The world communicator (MPI initialized on first use, with MPI_THREAD_SERIALIZED). */
    public static synchronized MpiComm world() {
        if (world == null) world = new MpiComm();
        return world;
    }

    private MpiComm() {
        // The JVM handles SIGSEGV/SIGBUS itself (null checks, safepoints): keep Open MPI's stack-trace handlers off them.
        Mpi.setenvIfUnset("OMPI_MCA_opal_signal", "");
        mpi = Mpi.get();
        if (!mpi.initialized(arena)) {
            int provided = mpi.initThread(Mpi.THREAD_SERIALIZED, arena);
            if (provided < Mpi.THREAD_SERIALIZED)
                throw new CommException("Open MPI provides thread level " + provided + ", jseek needs MPI_THREAD_SERIALIZED (2)");
        }
        comm = mpi.commWorld;
        rank = mpi.commRank(comm, arena);
        size = mpi.commSize(comm, arena);
        ctl = mpi.commDup(comm, arena);
        ints = arena.allocate(ValueLayout.JAVA_INT, 4L * size);
        reqs = arena.allocate(ValueLayout.ADDRESS, 2L * size + 2);
        req0 = reqs.asSlice(0, 8);
        flag = arena.allocate(ValueLayout.JAVA_INT);
        status = arena.allocate(Mpi.STATUS_BYTES, 8);
        seqBuf = arena.allocate(ValueLayout.JAVA_LONG);
        arrival = arena.allocate(ValueLayout.JAVA_LONG);
        seen = new long[size];
        timeoutNanos = CommConfig.timeoutNanos();
        spinNanos = oversubscribed() ? 20_000L : 1_000_000L;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (!finished) System.err.println("jseek: rank " + rank + " of " + size + " (pid " + ProcessHandle.current().pid()
                    + ") terminated before the end of the job (when a rank dies, mpirun stops the others; its message names the rank)");
        }, "mpi-shutdown-note"));
    }

    /**
     * True when this node runs more ranks than it has cores. mpirun says so itself ({@code OMPI_MCA_mpi_oversubscribe},
     * which Open MPI's own waits follow too); without it, the local rank count is compared with the node's online
     * CPUs. (Not {@link Runtime#availableProcessors}: mpirun binds each rank to a core, so every rank sees 1 CPU, and
     * 2 ranks on 2 cores would count as oversubscribed and yield the core in the middle of every 1 MiB transfer.)
     */
    static boolean oversubscribed() {
        String o = System.getenv("OMPI_MCA_mpi_oversubscribe");
        if (o != null && !o.isBlank()) return o.trim().equals("1") || o.trim().equalsIgnoreCase("true");
        int localRanks = 1;
        try {
            String local = System.getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
            if (local != null) localRanks = Integer.parseInt(local.trim());
        } catch (NumberFormatException ignored) {
            // not under mpirun's environment: assume one rank per node
        }
        return localRanks > onlineCpus();
    }

    /** The node's online CPUs from /sys/devices/system/cpu/online ("0-3,8-11"); availableProcessors where unreadable. */
    static int onlineCpus() {
        try {
            int n = 0;
            for (String part : java.nio.file.Files.readString(java.nio.file.Path.of("/sys/devices/system/cpu/online")).trim().split(",")) {
                int dash = part.indexOf('-');
                n += dash < 0 ? 1 : Integer.parseInt(part.substring(dash + 1)) - Integer.parseInt(part.substring(0, dash)) + 1;
            }
            return Math.max(1, n);
        } catch (java.io.IOException | RuntimeException e) {
            return Runtime.getRuntime().availableProcessors();
        }
    }

    @Override public int rank() { return rank; }
    @Override public int size() { return size; }
    @Override public String backend() { return "mpi"; }

    @Override public MemorySegment scratch(int slot, long bytes) {
        if (slot < 0 || slot >= scratch.length) throw new IllegalArgumentException("scratch slot " + slot + " outside 0.." + (scratch.length - 1));
        MemorySegment s = scratch[slot];
        if (s == null || s.byteSize() < bytes) {
            if (scratchArena[slot] != null) scratchArena[slot].close();
            scratchArena[slot] = Arena.ofShared();
            scratch[slot] = s = HugePages.allocate(scratchArena[slot], Math.max(64, bytes + bytes / 8));
        }
        return s.asSlice(0, bytes);
    }

    private static final int STAGE_SEND = 6, STAGE_RECV = 7;

    /** The segment itself when native, else a native copy in a staging slot (copied in when {@code in}). */
    private MemorySegment stage(MemorySegment s, long bytes, int slot, boolean in) {
        if (s.isNative()) return s;
        MemorySegment n = scratch(slot, bytes);
        if (in) MemorySegment.copy(s, 0, n, 0, bytes);
        return n;
    }

    private void unstage(MemorySegment staged, MemorySegment s, long bytes) {
        if (staged != s) MemorySegment.copy(staged, 0, s, 0, bytes);
    }

    private MemorySegment type(ElemType t) { return t == ElemType.FLOAT ? mpi.floatType : mpi.byteType; }

    private MemorySegment ints(int block, int[] v) {
        MemorySegment s = ints.asSlice(4L * size * block, 4L * size);
        MemorySegment.copy(v, 0, s, ValueLayout.JAVA_INT, 0, size);
        return s;
    }

    private static long extent(int[] counts, int[] displs) {
        long e = 0;
        for (int i = 0; i < counts.length; i++) if (counts[i] > 0) e = Math.max(e, (long) displs[i] + counts[i]);
        return e;
    }

    @Override public void allToAllV(MemorySegment send, int[] sc, int[] sd, MemorySegment recv, int[] rc, int[] rd, ElemType type) {
        Communicator.checkCounts(sc, size, "all-to-all-v send");
        Communicator.checkCounts(rc, size, "all-to-all-v receive");
        long sb = extent(sc, sd) * type.bytes(), rb = extent(rc, rd) * type.bytes();
        MemorySegment s = stage(send, sb, STAGE_SEND, true), r = stage(recv, rb, STAGE_RECV, false);
        mpi.ialltoallv(s, ints(0, sc), ints(1, sd), type(type), r, ints(2, rc), ints(3, rd), comm, req0);
        complete("all-to-all-v");
        if (r != recv)                // only the received pieces: what lies between them in recv is not this call's to change
            for (int j = 0; j < size; j++)
                if (rc[j] > 0) MemorySegment.copy(r, (long) rd[j] * type.bytes(), recv, (long) rd[j] * type.bytes(), (long) rc[j] * type.bytes());
    }

    @Override public void allGatherV(MemorySegment send, MemorySegment recv, int[] counts, ElemType type) {
        Communicator.checkCounts(counts, size, "all-gather");
        long sb = (long) counts[rank] * type.bytes(), rb = (long) Communicator.sum(counts) * type.bytes();
        MemorySegment s = stage(send, sb, STAGE_SEND, true), r = stage(recv, rb, STAGE_RECV, false);
        mpi.iallgatherv(s, counts[rank], type(type), r, ints(0, counts), ints(1, Communicator.displs(counts)), comm, req0);
        complete("all-gather");
        unstage(r, recv, rb);
    }

    @Override public void broadcast(MemorySegment buf, int count, int root, ElemType type) {
        if (root < 0 || root >= size) throw new IllegalArgumentException("broadcast root " + root + " outside 0.." + (size - 1));
        long b = (long) count * type.bytes();
        MemorySegment s = stage(buf, b, STAGE_SEND, rank == root);
        mpi.ibcast(s, count, type(type), root, comm, req0);
        complete("broadcast");
        if (rank != root) unstage(s, buf, b);
    }

    @Override public void barrier() {
        testSends(false);
        mpi.ibarrier(comm, req0);
        complete("barrier");
    }

    @Override public void exchange(List<Transfer> batch) { post(batch).await(); }

    /**
     * MPI_Irecv then MPI_Isend for every transfer, sends always from a native copy; await tests the receives with the
     * deadline. Sends are buffered, as {@link ThreadComm}'s mailboxes are: await does not wait for them (a send above
     * Open MPI's eager limit completes only once the peer posts its receive, which a pipeline schedule may do in a
     * later batch than this one), so they stay in flight, are tested at every later post, barrier and close, and one
     * not received within the deadline fails with the peer and tag.
     */
    @Override public Pending post(List<Transfer> batch) {
        int n = batch.size();
        if (n == 0) return Pending.DONE;
        for (Transfer t : batch)
            if (t.peer() >= size || t.peer() == rank)
                throw new IllegalArgumentException("transfer peer " + t.peer() + " of rank " + rank + " in a group of " + size);
        testSends(false);
        // Not closed when the transfers time out: MPI may still write into these buffers until the job is aborted.
        // Shared: the sends may complete on another thread (an F&B pair's halves post and await on their own threads).
        Arena a = Arena.ofShared();
        MemorySegment rq = a.allocate(ValueLayout.ADDRESS, n);
        MemorySegment[] bufs = new MemorySegment[n];
        for (int i = 0; i < n; i++) {
            Transfer t = batch.get(i);
            MemorySegment b = t.buf();
            if (!b.isNative() || t.send()) {
                b = a.allocate(Math.max(1, t.bytes()), 64);
                if (t.send()) MemorySegment.copy(t.buf(), 0, b, 0, t.bytes());
            }
            bufs[i] = b;
        }
        for (int i = 0; i < n; i++) {           // receives first, then sends: all posted before any wait
            Transfer t = batch.get(i);
            if (!t.send()) mpi.irecv(bufs[i], t.count(), type(t.type()), t.peer(), t.tag(), comm, rq.asSlice(8L * i, 8));
        }
        for (int i = 0; i < n; i++) {
            Transfer t = batch.get(i);
            if (t.send()) mpi.isend(bufs[i], t.count(), type(t.type()), t.peer(), t.tag(), comm, rq.asSlice(8L * i, 8));
        }
        long posted = System.nanoTime();
        List<Integer> recvs = new ArrayList<>(), sends = new ArrayList<>();
        for (int i = 0; i < n; i++) (batch.get(i).send() ? sends : recvs).add(i);
        return new Pending() {
            private boolean completed;

            @Override public void await() {
                if (completed) return;
                MemorySegment rr = a.allocate(ValueLayout.ADDRESS, Math.max(1, recvs.size()));
                for (int j = 0; j < recvs.size(); j++) MemorySegment.copy(rq, 8L * recvs.get(j), rr, 8L * j, 8);
                boolean[] done = recvs.isEmpty() ? null : waitRequests(rr, recvs.size());
                if (done != null) {
                    List<String> who = new ArrayList<>();
                    for (int j = 0; j < recvs.size(); j++)
                        if (!done[j]) who.add("receive from rank " + batch.get(recvs.get(j)).peer() + " (tag " + batch.get(recvs.get(j)).tag() + ")");
                    throw new CommException(String.format(Locale.ROOT, "rank %d: %s did not complete within %.1f s (%s)", rank,
                            String.join(", ", who), timeoutNanos / 1e9, CommConfig.TIMEOUT_PROPERTY));
                }
                for (int i : recvs) {
                    Transfer t = batch.get(i);
                    if (bufs[i] != t.buf()) MemorySegment.copy(bufs[i], 0, t.buf(), 0, t.bytes());
                }
                completed = true;
                List<Transfer> st = new ArrayList<>();
                MemorySegment sq = a.allocate(ValueLayout.ADDRESS, Math.max(1, sends.size()));
                for (int j = 0; j < sends.size(); j++) { MemorySegment.copy(rq, 8L * sends.get(j), sq, 8L * j, 8); st.add(batch.get(sends.get(j))); }
                synchronized (inFlight) { inFlight.add(new InFlight(a, sq, st, new boolean[st.size()], posted)); }
                testSends(false);
            }
        };
    }

    /** Sends of completed batches not yet received by their peers, with their arena (closed when all are done). */
    private record InFlight(Arena arena, MemorySegment reqs, List<Transfer> sends, boolean[] done, long posted) {}

    private final List<InFlight> inFlight = new ArrayList<>();

    /**
     * Tests the sends in flight, closing the arenas of batches whose sends all completed; with {@code block}, waits
     * until none is left. A send older than the deadline throws, naming its peer and tag.
     */
    private void testSends(boolean block) {
        synchronized (inFlight) {
            long start = System.nanoTime();
            while (!inFlight.isEmpty()) {
                long now = System.nanoTime();
                for (var it = inFlight.iterator(); it.hasNext(); ) {
                    InFlight f = it.next();
                    boolean all = true;
                    for (int j = 0; j < f.done().length; j++) {
                        if (!f.done()[j] && mpi.test(f.reqs().asSlice(8L * j, 8), flag)) f.done()[j] = true;
                        all &= f.done()[j];
                    }
                    if (all) { it.remove(); f.arena().close(); continue; }
                    if (now - f.posted() - timeoutNanos > 0) {
                        List<String> who = new ArrayList<>();
                        for (int j = 0; j < f.done().length; j++)
                            if (!f.done()[j]) who.add("send to rank " + f.sends().get(j).peer() + " (tag " + f.sends().get(j).tag() + ")");
                        it.remove();   // its arena stays open: MPI may still read it until the job is aborted
                        throw new CommException(String.format(Locale.ROOT, "rank %d: %s was not received within %.1f s (%s)", rank,
                                String.join(", ", who), timeoutNanos / 1e9, CommConfig.TIMEOUT_PROPERTY));
                    }
                }
                if (!block || inFlight.isEmpty()) return;
                if (now - start < spinNanos) Thread.onSpinWait();
                else java.util.concurrent.locks.LockSupport.parkNanos(100_000L);
            }
        }
    }

    /** Every this many collectives a rank reads the arrivals queued for it even when it never waited (bounds the queue). */
    private static final int DRAIN_EVERY = 64;

    /** Sends sequence number {@code s} to every other rank on the control communicator (requests 1..); returns the count. */
    private int announce(long s) {
        seqBuf.set(ValueLayout.JAVA_LONG, 0, s);
        int k = 0;
        for (int p = 0; p < size; p++)
            if (p != rank) mpi.isend(seqBuf, 8, mpi.byteType, p, TAG_ARRIVE, ctl, reqs.asSlice(8L * ++k, 8));
        return k;
    }

    /**
     * Waits for the collective just posted (request 0) with the deadline: spins for {@link #spinNanos}, then announces
     * this rank's arrival (see the class comment) and yields the core until 10 ms have passed, then sleeps 0.1 ms
     * between tests. On timeout names the ranks that did not arrive.
     */
    private void complete(String name) {
        long s = ++seq;
        long start = System.nanoTime();
        int announced = -1;
        while (!mpi.test(req0, flag)) {
            long waited = System.nanoTime() - start;
            if (waited < spinNanos) { Thread.onSpinWait(); continue; }
            if (announced < 0) announced = announce(s);
            if (waited - timeoutNanos > 0) {
                drainArrivals();
                List<Integer> missing = new ArrayList<>();
                for (int p = 0; p < size; p++) if (p != rank && seen[p] < s) missing.add(p);
                String who = missing.isEmpty() ? "every rank arrived but the transfer did not complete"
                        : (missing.size() == 1 ? "rank " + missing.get(0) : "ranks " + missing) + " did not arrive";
                throw new CommException(String.format(Locale.ROOT, "collective #%d (%s): %s within %.1f s (%s); rank %d waited there",
                        s, name, who, timeoutNanos / 1e9, CommConfig.TIMEOUT_PROPERTY, rank));
            }
            if (waited < 10_000_000L) Thread.yield();
            else java.util.concurrent.locks.LockSupport.parkNanos(100_000L);
        }
        if (announced > 0) {
            // the arrival sends are eager (8 bytes): they complete locally, but seqBuf is reused by the next announcement
            if (waitRequests(reqs.asSlice(8, 8L * announced), announced) != null)
                throw new CommException(String.format(Locale.ROOT, "collective #%d (%s): rank %d's arrival messages were not delivered within %.1f s (%s)",
                        s, name, rank, timeoutNanos / 1e9, CommConfig.TIMEOUT_PROPERTY));
        }
        if (announced >= 0 || s % DRAIN_EVERY == 0) drainArrivals();
    }

    /**
     * Tests the n requests until all complete (returns null) or the deadline passes (returns which completed). The
     * wait spins (as MPI's own blocking calls do) for {@link #spinNanos}, then yields the core until 10 ms have
     * passed, then sleeps 0.1 ms between tests, so a long wait for a slower rank does not burn a core.
     */
    private boolean[] waitRequests(MemorySegment rq, int n) {
        boolean[] done = new boolean[n];
        int left = n;
        long start = System.nanoTime(), deadline = start + timeoutNanos;
        while (true) {
            for (int i = 0; i < n; i++)
                if (!done[i] && mpi.test(rq.asSlice(8L * i, 8), flag)) { done[i] = true; left--; }
            if (left == 0) return null;
            long now = System.nanoTime();
            if (now - deadline > 0) return done;
            long waited = now - start;
            if (waited < spinNanos) Thread.onSpinWait();
            else if (waited < 10_000_000L) Thread.yield();
            else java.util.concurrent.locks.LockSupport.parkNanos(100_000L);
        }
    }

    private void drainArrivals() {
        while (mpi.iprobe(Mpi.ANY_SOURCE, TAG_ARRIVE, ctl, flag, status)) {
            int src = status.get(ValueLayout.JAVA_INT, 0);
            mpi.recv(arrival, 8, mpi.byteType, src, TAG_ARRIVE, ctl);
            seen[src] = Math.max(seen[src], arrival.get(ValueLayout.JAVA_LONG, 0));
        }
    }

    /** MPI_Allreduce (MPI's own order) of native floats; for {@code bench comm}'s reference row only. */
    public void mpiAllreduceSum(MemorySegment send, MemorySegment recv, int count) {
        mpi.allreduceSum(send, recv, count, comm);
    }

    /**
     * MPI_Ialltoallv of native buffers completed by MPI_Test in a plain spin (no deadline, no arrival check): the FFM
     * binding without this class's logic; for {@code bench comm}'s "raw" column only.
     */
    public void mpiIalltoallvSpin(MemorySegment send, int[] sc, int[] sd, MemorySegment recv, int[] rc, int[] rd, ElemType type) {
        mpi.ialltoallv(send, ints(0, sc), ints(1, sd), type(type), recv, ints(2, rc), ints(3, rd), comm, req0);
        while (!mpi.test(req0, flag)) Thread.onSpinWait();
    }

    /** Blocking MPI_Alltoallv of native buffers (no deadline); for {@code bench comm}'s reference row only. */
    public void mpiAlltoallv(MemorySegment send, int[] sc, int[] sd, MemorySegment recv, int[] rc, int[] rd, ElemType type) {
        mpi.alltoallv(send, ints(0, sc), ints(1, sd), type(type), recv, ints(2, rc), ints(3, rd), comm);
    }

    /** Prints {@code message} on this rank and calls MPI_Abort, which terminates every process of the job. */
    @Override public void abort(String message) {
        finished = true;
        System.err.println("jseek: rank " + rank + " of " + size + ": " + message + "; aborting the MPI job");
        System.err.flush();
        mpi.abort(comm, 3);
        Runtime.getRuntime().halt(3);
    }

    /** Finalizes MPI (the world communicator lives until the JVM ends: close it once, at the end of the job). */
    @Override public void close() {
        if (finished) return;
        testSends(true);
        finished = true;
        mpi.finalizeMpi();
    }

    @Override public String toString() { return "mpi rank " + rank + " of " + size; }
}
