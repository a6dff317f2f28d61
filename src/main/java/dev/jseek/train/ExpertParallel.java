package dev.jseek.train;

import dev.jseek.parallel.Communicator;
import dev.jseek.parallel.ElemType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Expert parallelism for one {@link Moe} layer (report §3.2.2): the routed experts are sharded over an
 * expert-parallel group of {@code ep} consecutive ranks of {@code comm} (ranks [g ep, (g+1) ep), one group per
 * data-parallel replica of the experts), the group's q-th rank owning the contiguous experts [q E/ep, (q+1) E/ep).
 * The group's exchanges are all-to-all-v calls over the whole communicator with zero counts outside the group, so
 * every group exchanges at once and no sub-communicator is needed. Every rank routes its own tokens; its
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
    private final int n, ep, g0, local, E, perRank, dim;
    private final int[] sendCounts, sendDispls, recvCounts, recvDispls;
    /** Local expert-sorted rows: local row l holds received row perm[l]. */
    private int[] perm = new int[0];
    /** Row ranges of the local layout per expert (E + 1 entries; experts of other ranks have no rows). */
    final int[] localStart;
    private int sent, received;
    /** Rows received from each source rank, per local expert (source-major): the tokens per expert and rank. */
    private final int[] got;

    ExpertParallel(Communicator comm, int ep, int experts, int dim) {
        this.comm = comm;
        this.n = comm.size();
        if (ep < 1 || n % ep != 0) throw new IllegalArgumentException("expert-parallel groups of " + ep + " ranks do not tile " + n + " ranks");
        if (experts % ep != 0)
            throw new IllegalArgumentException(experts + " routed experts do not split evenly over " + ep + " expert-parallel ranks");
        this.ep = ep;
        this.local = comm.rank() % ep;
        this.g0 = comm.rank() - local;
        this.E = experts;
        this.perRank = experts / ep;
        this.dim = dim;
        sendCounts = new int[n]; sendDispls = new int[n]; recvCounts = new int[n]; recvDispls = new int[n];
        localStart = new int[E + 1];
        got = new int[ep * perRank];
    }

    int firstExpert() { return local * perRank; }

    /** Ranks in the expert-parallel group. */
    int groupSize() { return ep; }

    int experts() { return perRank; }

    /** Rows expert e ran on this rank in the last forward (0 for experts of the other ranks of the group). */
    int rowsOf(int e) { return localStart[e + 1] - localStart[e]; }

    /** Rows this rank received in the last plan (the rows its experts run). */
    int received() { return received; }

    /**
     * Exchanges the row counts of this forward: {@code start} (E + 1 entries) are the row ranges of this rank's
     * expert-sorted (token, expert) rows. After it, {@link #localStart} lays out the rows this rank's experts run.
     */
    void plan(int[] start) {
        int[] mine = new int[E];
        for (int e = 0; e < E; e++) mine[e] = start[e + 1] - start[e];
        int[] c = new int[n], sd = new int[n], rd = new int[n];
        for (int q = 0; q < ep; q++) { c[g0 + q] = 4 * perRank; sd[g0 + q] = 4 * perRank * q; rd[g0 + q] = 4 * perRank * q; }
        comm.allToAllV(MemorySegment.ofArray(mine), c, sd, MemorySegment.ofArray(got), c, rd, ElemType.BYTE);
        sent = 0;
        java.util.Arrays.fill(sendCounts, 0);
        java.util.Arrays.fill(recvCounts, 0);
        for (int q = 0; q < ep; q++) {
            sendCounts[g0 + q] = start[(q + 1) * perRank] - start[q * perRank];
            sendDispls[g0 + q] = start[q * perRank];
            sent += sendCounts[g0 + q];
        }
        received = 0;
        for (int s = 0; s < ep; s++) {
            recvDispls[g0 + s] = received;
            int k = 0;
            for (int le = 0; le < perRank; le++) k += got[s * perRank + le];
            recvCounts[g0 + s] = k;
            received += k;
        }
        if (perm.length < received) perm = new int[received];
        java.util.Arrays.fill(localStart, 0);
        int l = 0, e0 = firstExpert();
        for (int le = 0; le < perRank; le++) {
            localStart[e0 + le] = l;
            for (int s = 0; s < ep; s++) {
                int off = recvDispls[g0 + s];
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

    /** Source row index of send row i. */
    interface RowIndex { int of(int i); }

    private int[] scaled(int[] v) {
        int[] o = new int[v.length];
        for (int i = 0; i < v.length; i++) o[i] = Math.multiplyExact(v[i], dim);
        return o;
    }
}
