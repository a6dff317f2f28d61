package dev.jseek.parallel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * A group of {@link #size()} ranks that exchange buffers: the collectives of data and expert parallelism and the
 * batched point-to-point transfers of a pipeline schedule. Two backends: {@link ThreadComm} (ranks are threads of one
 * JVM, {@link ThreadRanks}) and {@link MpiComm} (ranks are MPI processes, Open MPI through FFM).
 *
 * <p>Primitives ({@link #allToAllV}, {@link #allGatherV}, {@link #broadcast}, {@link #barrier}, {@link #exchange})
 * move bytes and never combine them. Every reduction is built on them here and sums in rank order with
 * {@link RankOrderSum}: {@code ((x_0 + x_1) + x_2) + ...}, the same bits on every rank, in every run and on both
 * backends, and a 1-rank group returns its own input. (MPI's own reductions may use any order and tree; jseek does
 * not use them.)
 *
 * <p>Buffers are {@link MemorySegment}s of {@link ElemType} elements, heap or native; counts and displacements are in
 * elements. The MPI backend passes native segments to MPI as they are and stages heap segments through native
 * buffers. Every call waits at most {@link CommConfig#timeoutSeconds()} for the other ranks, then throws a
 * {@link CommException} naming the ranks that did not arrive. All ranks must make the same sequence of collective
 * calls. A communicator is used by one thread at a time.
 */
public interface Communicator extends AutoCloseable {
    /** This rank, in [0, size). */
    int rank();

    /** Number of ranks. */
    int size();

    /** "threads" or "mpi". */
    String backend();

    /**
     * All-to-all with per-rank counts (MPI_Alltoallv): {@code sendCounts[j]} elements at {@code sendDispls[j]} of
     * {@code send} go to rank j, which receives them at {@code recvDispls[rank]} of its {@code recv} (and names
     * {@code recvCounts[rank]}, which must equal the count sent).
     */
    void allToAllV(MemorySegment send, int[] sendCounts, int[] sendDispls,
                   MemorySegment recv, int[] recvCounts, int[] recvDispls, ElemType type);

    /** All-gather with per-rank counts: rank i's {@code counts[i]} elements land at offset sum(counts[0..i)) of every recv. */
    void allGatherV(MemorySegment send, MemorySegment recv, int[] counts, ElemType type);

    /** Copies {@code count} elements of root's {@code buf} into every rank's {@code buf}. */
    void broadcast(MemorySegment buf, int count, int root, ElemType type);

    /** Returns when every rank has called it. */
    void barrier();

    /**
     * Posts all transfers of the batch at once (non-blocking sends and receives, like DualPipe's
     * {@code batch_isend_irecv}) and returns when all have completed.
     */
    void exchange(List<Transfer> batch);

    /**
     * Posts the transfers of the batch (non-blocking sends and receives) and returns at once; {@link Pending#await}
     * completes them (receive buffers are filled only then; send buffers may be reused at once). A rank may hold
     * several pending batches, but two of them must not receive from the same peer with the same tag. The default
     * completes the batch before returning.
     */
    default Pending post(List<Transfer> batch) {
        exchange(batch);
        return Pending.DONE;
    }

    /** Transfers posted by {@link #post}, completed by {@link #await} (once; later calls return at once). */
    interface Pending {
        Pending DONE = () -> {};

        void await();
    }

    /**
     * A buffer of at least {@code bytes} bytes owned by this communicator and kept between calls, of the kind its
     * transfers are fastest with (native for MPI). Slots 0-1: the reductions below; 2-5: {@link TokenDispatch};
     * 6-7: the MPI backend's staging of heap buffers.
     * Contents are undefined after another call with the same slot.
     */
    MemorySegment scratch(int slot, long bytes);

    /** Stops the whole job because of {@code message}: MPI_Abort under MPI, failing every rank's next wait on threads. */
    void abort(String message);

    @Override void close();

    // ---- rank-ordered reductions (built on the primitives, identical on both backends) ----

    /**
     * Reduce-scatter with per-rank counts: {@code send} holds size() consecutive pieces (piece j has
     * {@code counts[j]} floats); rank r receives in {@code recv} the rank-ordered sum of every rank's piece r.
     */
    default void reduceScatterSum(MemorySegment send, MemorySegment recv, int[] counts) {
        int n = size(), r = rank();
        checkCounts(counts, n, "reduce-scatter");
        int mine = counts[r];
        int[] rc = new int[n], rd = new int[n];
        for (int i = 0; i < n; i++) { rc[i] = mine; rd[i] = i * mine; }
        MemorySegment parts = scratch(0, 4L * n * mine);
        allToAllV(send, counts, displs(counts), parts, rc, rd, ElemType.FLOAT);
        RankOrderSum.sum(parts, n, mine, recv);
    }

    /** In-place all-reduce of {@code count} floats: every rank gets the rank-ordered sum (reduce-scatter + all-gather). */
    default void allReduceSum(MemorySegment buf, int count) {
        int[] counts = split(count, size());
        MemorySegment shard = scratch(1, 4L * counts[rank()]);
        reduceScatterSum(buf, shard, counts);
        allGatherV(shard, buf, counts, ElemType.FLOAT);
    }

    // ---- arrays ----

    default void allReduceSum(float[] a, int off, int len) { allReduceSum(floats(a, off, len), len); }

    /** {@link #reduceScatterSum(MemorySegment, MemorySegment, int[])} over arrays: pieces start at sendOff. */
    default void reduceScatterSum(float[] send, int sendOff, int[] counts, float[] recv, int recvOff) {
        reduceScatterSum(floats(send, sendOff, sum(counts)), floats(recv, recvOff, counts[rank()]), counts);
    }

    /** {@link #allGatherV} over arrays: this rank's counts[rank] floats at sendOff, everything at recvOff. */
    default void allGather(float[] send, int sendOff, int[] counts, float[] recv, int recvOff) {
        allGatherV(floats(send, sendOff, counts[rank()]), floats(recv, recvOff, sum(counts)), counts, ElemType.FLOAT);
    }

    default void broadcast(float[] a, int off, int len, int root) { broadcast(floats(a, off, len), len, root, ElemType.FLOAT); }

    default void broadcast(byte[] a, int root) { broadcast(MemorySegment.ofArray(a), a.length, root, ElemType.BYTE); }

    /** Every rank's {@code mine} (all of the same length) concatenated in rank order. */
    default double[] allGather(double[] mine) {
        double[] r = new double[size() * mine.length];
        MemorySegment.copy(allGatherBytes(MemorySegment.ofArray(mine)), ValueLayout.JAVA_DOUBLE_UNALIGNED, 0, r, 0, r.length);
        return r;
    }

    /** Every rank's {@code mine} (all of the same length) concatenated in rank order. */
    default long[] allGather(long[] mine) {
        long[] r = new long[size() * mine.length];
        MemorySegment.copy(allGatherBytes(MemorySegment.ofArray(mine)), ValueLayout.JAVA_LONG_UNALIGNED, 0, r, 0, r.length);
        return r;
    }

    /** Every rank's bytes {@code mine} (all of the same size) concatenated in rank order. */
    private MemorySegment allGatherBytes(MemorySegment mine) {
        int n = size(), len = Math.toIntExact(mine.byteSize());
        byte[] out = new byte[Math.multiplyExact(n, len)];
        int[] counts = new int[n];
        java.util.Arrays.fill(counts, len);
        allGatherV(mine, MemorySegment.ofArray(out), counts, ElemType.BYTE);
        return MemorySegment.ofArray(out);
    }

    // ---- helpers ----

    /** The floats a[off, off + len) as a heap segment. */
    static MemorySegment floats(float[] a, int off, int len) {
        return MemorySegment.ofArray(a).asSlice(4L * off, 4L * len);
    }

    /** {@code count} split into n near-equal consecutive pieces (the first count % n get one more). */
    static int[] split(int count, int n) {
        int[] c = new int[n];
        for (int i = 0; i < n; i++) c[i] = count / n + (i < count % n ? 1 : 0);
        return c;
    }

    /** Exclusive prefix sums. */
    static int[] displs(int[] counts) {
        int[] d = new int[counts.length];
        for (int i = 1; i < counts.length; i++) d[i] = d[i - 1] + counts[i - 1];
        return d;
    }

    static int sum(int[] counts) {
        long s = 0;
        for (int c : counts) s += c;
        return Math.toIntExact(s);
    }

    static void checkCounts(int[] counts, int n, String what) {
        if (counts.length != n) throw new IllegalArgumentException(what + ": " + counts.length + " counts for " + n + " ranks");
        for (int c : counts) if (c < 0) throw new IllegalArgumentException(what + ": negative count " + c);
    }
}
