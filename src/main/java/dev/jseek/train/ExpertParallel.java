package dev.jseek.train;

import dev.jseek.parallel.Communicator;
import dev.jseek.parallel.ElemType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Expert parallelism for one {@link Moe} layer (report §3.2.2): the routed experts are sharded over the ranks of
 * {@code comm}, rank q owning the contiguous experts [q E/n, (q+1) E/n). Every rank routes its own tokens; its
 * (token, expert) rows, sorted by expert, are therefore already grouped by owner, and one all-to-all-v moves each
 * group to its owner ({@link #dispatch}). The owner lays the rows it received out by local expert (for each local
 * expert: source rank 0's rows, then rank 1's, ...), runs its experts, and {@link #combine} returns every row's
 * output to its source rank in the source's own row order. The source then weights and sums each token's K
 * outputs in slot order, exactly as on one rank. Backward is the mirror: the output gradients travel as a dispatch,
 * the input gradients come back as a combine.
 *
 * <p>Rows move one (token, expert) pair per row (not one row per token and rank, as {@code parallel.TokenDispatch}
 * does): a token with two experts on one rank is sent twice, in exchange for the per-row outputs coming back
 * unsummed, so the weighting and summation order is that of the 1-rank layer and its forward has the same bits.
 */
final class ExpertParallel {
    private final Communicator comm;
    private final int n, rank, E, perRank, dim;
    private final int[] sendCounts, sendDispls, recvCounts, recvDispls;
    /** Local expert-sorted rows: local row l holds received row perm[l]. */
    private int[] perm = new int[0];
    /** Row ranges of the local layout per expert (E + 1 entries; experts of other ranks have no rows). */
    final int[] localStart;
    private int sent, received;
    /** Rows received from each source rank, per local expert (source-major): the tokens per expert and rank. */
    private final int[] got;

    ExpertParallel(Communicator comm, int experts, int dim) {
        this.comm = comm;
        this.n = comm.size();
        this.rank = comm.rank();
        if (experts % n != 0)
            throw new IllegalArgumentException(experts + " routed experts do not split evenly over " + n + " expert-parallel ranks");
        this.E = experts;
        this.perRank = experts / n;
        this.dim = dim;
        sendCounts = new int[n]; sendDispls = new int[n]; recvCounts = new int[n]; recvDispls = new int[n];
        localStart = new int[E + 1];
        got = new int[n * perRank];
    }

    int firstExpert() { return rank * perRank; }

    int experts() { return perRank; }

    /** Rows this rank received in the last plan (the rows its experts run). */
    int received() { return received; }

    /**
     * Exchanges the row counts of this forward: {@code start} (E + 1 entries) are the row ranges of this rank's
     * expert-sorted (token, expert) rows. After it, {@link #localStart} lays out the rows this rank's experts run.
     */
    void plan(int[] start) {
        int[] mine = new int[E];
        for (int e = 0; e < E; e++) mine[e] = start[e + 1] - start[e];
        int[] c = new int[n], d = new int[n];
        for (int q = 0; q < n; q++) { c[q] = 4 * perRank; d[q] = 4 * perRank * q; }
        comm.allToAllV(MemorySegment.ofArray(mine), c, d, MemorySegment.ofArray(got), c, d, ElemType.BYTE);
        sent = 0;
        for (int q = 0; q < n; q++) {
            sendCounts[q] = start[(q + 1) * perRank] - start[q * perRank];
            sendDispls[q] = start[q * perRank];
            sent += sendCounts[q];
        }
        received = 0;
        for (int s = 0; s < n; s++) {
            recvDispls[s] = received;
            int k = 0;
            for (int le = 0; le < perRank; le++) k += got[s * perRank + le];
            recvCounts[s] = k;
            received += k;
        }
        if (perm.length < received) perm = new int[received];
        java.util.Arrays.fill(localStart, 0);
        int l = 0, e0 = firstExpert();
        for (int le = 0; le < perRank; le++) {
            localStart[e0 + le] = l;
            for (int s = 0; s < n; s++) {
                int off = recvDispls[s];
                for (int j = 0; j < le; j++) off += got[s * perRank + j];
                for (int i = 0; i < got[s * perRank + le]; i++) perm[l++] = off + i;
            }
        }
        for (int e = e0 + perRank; e <= E; e++) localStart[e] = l;
    }

    /** Source-sorted rows [sent, dim] of {@code src} (row r at srcOff + row(r) * dim) -> local rows at dstOff of dst. */
    void dispatch(float[] src, RowIndex row, int srcOff, float[] dst, int dstOff) {
        MemorySegment s = comm.scratch(2, 4L * Math.max(1, sent) * dim), r = comm.scratch(3, 4L * Math.max(1, received) * dim);
        for (int i = 0; i < sent; i++) MemorySegment.copy(src, srcOff + row.of(i) * dim, s, ValueLayout.JAVA_FLOAT, 4L * i * dim, dim);
        comm.allToAllV(s, scaled(sendCounts), scaled(sendDispls), r, scaled(recvCounts), scaled(recvDispls), ElemType.FLOAT);
        for (int l = 0; l < received; l++) MemorySegment.copy(r, ValueLayout.JAVA_FLOAT, 4L * perm[l] * dim, dst, dstOff + l * dim, dim);
    }

    /** Local rows at srcOff of src -> this rank's source-sorted rows [sent, dim] at dstOff of dst (the inverse of dispatch). */
    void combine(float[] src, int srcOff, float[] dst, int dstOff) {
        MemorySegment s = comm.scratch(4, 4L * Math.max(1, received) * dim), r = comm.scratch(5, 4L * Math.max(1, sent) * dim);
        for (int l = 0; l < received; l++) MemorySegment.copy(src, srcOff + l * dim, s, ValueLayout.JAVA_FLOAT, 4L * perm[l] * dim, dim);
        comm.allToAllV(s, scaled(recvCounts), scaled(recvDispls), r, scaled(sendCounts), scaled(sendDispls), ElemType.FLOAT);
        MemorySegment.copy(r, ValueLayout.JAVA_FLOAT, 0, dst, dstOff, sent * dim);
    }

    /** Rows received by this rank's experts from each source rank in the last plan (tokens per rank and owner). */
    int[] receivedFrom() { return recvCounts.clone(); }

    /** Source row index of send row i. */
    interface RowIndex { int of(int i); }

    private int[] scaled(int[] v) {
        int[] o = new int[v.length];
        for (int i = 0; i < v.length; i++) o[i] = Math.multiplyExact(v[i], dim);
        return o;
    }
}
