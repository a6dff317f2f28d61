package dev.jseek.train;

import dev.jseek.parallel.Communicator;
import dev.jseek.parallel.ElemType;
import java.lang.foreign.MemorySegment;
import dev.jseek.tensor.Bf16;
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
 *
 * <p>FP8 (report §3.3.3 "Low-Precision Communication"): {@link #dispatchFp8} quantizes each row to E4M3 with one
 * power-of-two scale per 1x128 tile at the source and moves those bytes (dim + 4 dim/128 per row instead of 4 dim),
 * and the owner stores them straight into its E4M3 activation cache: the same bytes a 1-rank FP8 layer quantizes
 * from the same token. {@link #combineBf16} moves the expert outputs as BF16 (2 bytes per element); the FP8 layer
 * rounds them to BF16 first ({@link Moe#setBf16Combine}), so the round trip is exact. The backward exchanges are BF16
 * too (report §3.3.3 keeps the combine's forward and backward in BF16): the output gradients go to the owners as a
 * BF16 dispatch ({@link #dispatchBf16}) and the input gradients come back as a BF16 combine, rounded to nearest even.
 * {@link #lastDispatchBytes} / {@link #lastCombineBytes} count the payload this rank sent.
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

    /** Rows this rank sent in the last plan (its tokens' (token, expert) pairs). */
    int sent() { return sent; }

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

    private long dispatchBytes, combineBytes;
    private byte[] q8 = new byte[0];
    private float[] q8s = new float[0];

    /** Payload bytes this rank sent in its last forward dispatch (all destinations, itself included). */
    long lastDispatchBytes() { return dispatchBytes; }

    /** Payload bytes this rank sent in its last forward combine. */
    long lastCombineBytes() { return combineBytes; }

    /**
     * FP8 dispatch: the source-sorted rows of {@code src} quantized to E4M3 (1x128 tiles, scales {@code fmt}), sent as
     * [dim codes | tiles float scales] per row; the owner writes local row l into rows l of {@code slot} of {@code cache}.
     */
    void dispatchFp8(float[] src, RowIndex row, int srcOff, ActCache cache, CacheSlot slot, dev.jseek.fp8.ScaleFormat fmt) {
        int tiles = slot.tilesPerRow(), rowBytes = dim + 4 * tiles;
        if (q8.length < sent * dim) { q8 = new byte[sent * dim]; q8s = new float[sent * tiles]; }
        MemorySegment s = comm.scratch(2, (long) Math.max(1, sent) * rowBytes), r = comm.scratch(3, (long) Math.max(1, received) * rowBytes);
        for (int i = 0; i < sent; i++) {
            dev.jseek.fp8.TileQuantizer.quantizeRowsInto(src, srcOff + row.of(i) * dim, 1, dim, fmt, q8, i * dim, q8s, i * tiles);
            MemorySegment.copy(q8, i * dim, s, ValueLayout.JAVA_BYTE, (long) i * rowBytes, dim);
            MemorySegment.copy(q8s, i * tiles, s, ValueLayout.JAVA_FLOAT_UNALIGNED, (long) i * rowBytes + dim, tiles);
        }
        dispatchBytes = (long) sent * rowBytes;
        comm.allToAllV(s, times(sendCounts, rowBytes), times(sendDispls, rowBytes), r, times(recvCounts, rowBytes), times(recvDispls, rowBytes), ElemType.BYTE);
        for (int l = 0; l < received; l++) {
            long o = (long) perm[l] * rowBytes;
            MemorySegment.copy(r, ValueLayout.JAVA_BYTE, o, cache.codes, slot.code(l), dim);
            MemorySegment.copy(r, ValueLayout.JAVA_FLOAT_UNALIGNED, o + dim, cache.scales, slot.scale(l), tiles);
        }
    }

    /**
     * {@link #combine} with a BF16 payload: the local rows go back as 2 bytes per element, rounded to nearest even (the
     * forward's expert outputs are BF16 values already, so they travel exactly; the backward's input gradients are rounded).
     */
    void combineBf16(float[] src, int srcOff, float[] dst, int dstOff) {
        MemorySegment s = comm.scratch(4, 2L * Math.max(1, received) * dim), r = comm.scratch(5, 2L * Math.max(1, sent) * dim);
        for (int l = 0; l < received; l++) {
            long o = 2L * perm[l] * dim;
            for (int j = 0; j < dim; j++) s.set(ValueLayout.JAVA_SHORT_UNALIGNED, o + 2L * j, Bf16.fromFloat(src[srcOff + l * dim + j]));
        }
        combineBytes = 2L * received * dim;
        comm.allToAllV(s, times(recvCounts, 2 * dim), times(recvDispls, 2 * dim), r, times(sendCounts, 2 * dim), times(sendDispls, 2 * dim), ElemType.BYTE);
        for (int i = 0; i < sent * dim; i++) dst[dstOff + i] = Bf16.toFloat(r.get(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * i));
    }

    /**
     * {@link #dispatch} with a BF16 payload (the backward of the FP8 layer's combine, report §3.3.3: the output gradients
     * travel in BF16): each element rounded to nearest even at the source, widened back to float at the owner.
     */
    void dispatchBf16(float[] src, RowIndex row, int srcOff, float[] dst, int dstOff) {
        MemorySegment s = comm.scratch(2, 2L * Math.max(1, sent) * dim), r = comm.scratch(3, 2L * Math.max(1, received) * dim);
        for (int i = 0; i < sent; i++) {
            int o = srcOff + row.of(i) * dim;
            long b = 2L * i * dim;
            for (int j = 0; j < dim; j++) s.set(ValueLayout.JAVA_SHORT_UNALIGNED, b + 2L * j, Bf16.fromFloat(src[o + j]));
        }
        gradDispatchBytes = 2L * sent * dim;
        comm.allToAllV(s, times(sendCounts, 2 * dim), times(sendDispls, 2 * dim), r, times(recvCounts, 2 * dim), times(recvDispls, 2 * dim), ElemType.BYTE);
        for (int l = 0; l < received; l++) {
            long b = 2L * perm[l] * dim;
            int o = dstOff + l * dim;
            for (int j = 0; j < dim; j++) dst[o + j] = Bf16.toFloat(r.get(ValueLayout.JAVA_SHORT_UNALIGNED, b + 2L * j));
        }
    }

    private long gradDispatchBytes;

    /** Payload bytes this rank sent in its last BF16 gradient dispatch (the backward of the FP8 combine). */
    long lastGradDispatchBytes() { return gradDispatchBytes; }

    /** Source row index of send row i. */
    interface RowIndex { int of(int i); }

    private int[] scaled(int[] v) { return times(v, dim); }

    /** Row counts or offsets times {@code k} (elements or bytes per row). */
    private static int[] times(int[] v, int k) {
        int[] o = new int[v.length];
        for (int i = 0; i < v.length; i++) o[i] = Math.multiplyExact(v[i], k);
        return o;
    }
}
