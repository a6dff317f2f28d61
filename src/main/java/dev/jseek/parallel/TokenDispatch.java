package dev.jseek.parallel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The all-to-all dispatch and combine of expert parallelism (report §3.2.2): routed experts are sharded over the
 * ranks ({@code expertsPerRank} consecutive experts each), and a token goes once to every rank that hosts at least
 * one of its top-k experts (the rank replicates it to its local experts). {@link #plan} builds the send lists
 * (grouped by destination rank, tokens ascending) and exchanges the row counts; {@link #dispatch} moves the token rows
 * there with one all-to-all-v; {@link #combine} sends each rank's result rows (its local experts' weighted outputs,
 * summed per token) back and adds them per token in rank order. The backward of dispatch is a combine of the
 * gradients and the backward of combine a dispatch. FP8 dispatch ({@link #dispatchFp8}): rows the caller quantized
 * to E4M3 with one FP32 scale per 1x128 tile travel as codes + scales (report §3.3); combine in BF16
 * ({@link #combineBf16}).
 *
 * <p>Send and receive buffers are the communicator's scratch slots 2-5 (native under MPI, so nothing is staged).
 */
public final class TokenDispatch {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private final Communicator comm;
    private final int hidden, expertsPerRank;
    private int tokens;
    private int[] sendTok = new int[0];
    private int[] sendCounts, sendDispls, recvCounts, recvDispls;
    private int received;

    public TokenDispatch(Communicator comm, int hidden, int expertsPerRank) {
        if (hidden < 1 || expertsPerRank < 1) throw new IllegalArgumentException("hidden " + hidden + ", experts per rank " + expertsPerRank);
        this.comm = comm;
        this.hidden = hidden;
        this.expertsPerRank = expertsPerRank;
    }

    /** Routes {@code tokens} tokens whose top-k experts are {@code experts[t * topK + j]}; exchanges the counts. */
    public void plan(int tokens, int topK, int[] experts) {
        int n = comm.size(), total = n * expertsPerRank;
        if (experts.length < tokens * topK) throw new IllegalArgumentException(experts.length + " expert ids for " + tokens + " x top-" + topK);
        boolean[] to = new boolean[n];
        int[] counts = new int[n];
        int[] list = new int[tokens * Math.min(topK, n)];
        int[][] perRank = new int[n][];
        int[] fill = new int[n];
        for (int r = 0; r < n; r++) perRank[r] = new int[tokens];
        for (int t = 0; t < tokens; t++) {
            Arrays.fill(to, false);
            for (int j = 0; j < topK; j++) {
                int e = experts[t * topK + j];
                if (e < 0 || e >= total) throw new IllegalArgumentException("token " + t + ": expert " + e + " outside 0.." + (total - 1));
                to[e / expertsPerRank] = true;
            }
            for (int r = 0; r < n; r++) if (to[r]) perRank[r][fill[r]++] = t;
        }
        int k = 0;
        for (int r = 0; r < n; r++) {
            counts[r] = fill[r];
            System.arraycopy(perRank[r], 0, list, k, fill[r]);
            k += fill[r];
        }
        this.tokens = tokens;
        this.sendTok = Arrays.copyOf(list, k);
        this.sendCounts = counts;
        this.sendDispls = Communicator.displs(counts);
        int[] ones = new int[n], d = new int[n];
        Arrays.fill(ones, 4);
        for (int r = 0; r < n; r++) d[r] = 4 * r;
        int[] got = new int[n];
        comm.allToAllV(MemorySegment.ofArray(counts), ones, d, MemorySegment.ofArray(got), ones, d, ElemType.BYTE);
        this.recvCounts = got;
        this.recvDispls = Communicator.displs(got);
        this.received = Communicator.sum(got);
    }

    /** Rows this rank receives in a dispatch (token copies for its experts). */
    public int received() { return received; }

    /** Rows sent to each rank by the last plan (tokens per destination rank). */
    public int[] sendCounts() { return sendCounts.clone(); }

    /** Rows received from each rank by the last plan. */
    public int[] recvCounts() { return recvCounts.clone(); }

    /** Rows this rank sends in a dispatch. */
    public int sent() { return sendTok.length; }

    /** Token index of send row i (rows grouped by destination rank). */
    public int sentToken(int i) { return sendTok[i]; }

    /** x [tokens, hidden] -> recv [received, hidden] (rows from rank 0 first, each source's rows in its token order). */
    public void dispatch(float[] x, float[] recv) {
        MemorySegment s = comm.scratch(2, 4L * sendTok.length * hidden), r = comm.scratch(3, 4L * received * hidden);
        for (int i = 0; i < sendTok.length; i++)
            MemorySegment.copy(x, sendTok[i] * hidden, s, ValueLayout.JAVA_FLOAT, 4L * i * hidden, hidden);
        comm.allToAllV(s, scaled(sendCounts, hidden), scaled(sendDispls, hidden), r, scaled(recvCounts, hidden), scaled(recvDispls, hidden), ElemType.FLOAT);
        MemorySegment.copy(r, ValueLayout.JAVA_FLOAT, 0, recv, 0, received * hidden);
    }

    /** The FP8 row size in bytes: hidden E4M3 codes, then one FP32 scale per 128 columns. */
    public int fp8RowBytes() { return hidden + 4 * tiles(); }

    /** FP32 scales per FP8 row: one per 128 columns (1x128 tiles). */
    public int tiles() { return (hidden + TILE - 1) / TILE; }

    private static final int TILE = 128;

    /**
     * FP8 dispatch: the caller's E4M3 rows ({@code codes [tokens, hidden]}, {@code scales [tokens, tiles()]}, one FP32
     * scale per 1x128 tile, e.g. from {@code fp8.TileQuantizer.quantizeRowsInto}) travel as codes + scales; the
     * receiver gets {@code recvCodes [received, hidden]} and {@code recvScales [received, tiles()]}.
     */
    public void dispatchFp8(byte[] codes, float[] scales, byte[] recvCodes, float[] recvScales) {
        int nt = tiles(), rb = fp8RowBytes();
        MemorySegment s = comm.scratch(2, (long) sendTok.length * rb), r = comm.scratch(3, (long) received * rb);
        for (int i = 0; i < sendTok.length; i++) {
            int t = sendTok[i];
            MemorySegment.copy(codes, t * hidden, s, ValueLayout.JAVA_BYTE, (long) i * rb, hidden);
            MemorySegment.copy(scales, t * nt, s, ValueLayout.JAVA_FLOAT_UNALIGNED, (long) i * rb + hidden, nt);
        }
        comm.allToAllV(s, scaled(sendCounts, rb), scaled(sendDispls, rb), r, scaled(recvCounts, rb), scaled(recvDispls, rb), ElemType.BYTE);
        for (int i = 0; i < received; i++) {
            MemorySegment.copy(r, ValueLayout.JAVA_BYTE, (long) i * rb, recvCodes, i * hidden, hidden);
            MemorySegment.copy(r, ValueLayout.JAVA_FLOAT_UNALIGNED, (long) i * rb + hidden, recvScales, i * nt, nt);
        }
    }

    /** y [received, hidden] (this rank's per-token expert sums) -> out [tokens, hidden]: rows added per token in rank order. */
    public void combine(float[] y, float[] out) {
        MemorySegment s = comm.scratch(4, 4L * received * hidden), r = comm.scratch(5, 4L * sendTok.length * hidden);
        MemorySegment.copy(y, 0, s, ValueLayout.JAVA_FLOAT, 0, received * hidden);
        comm.allToAllV(s, scaled(recvCounts, hidden), scaled(recvDispls, hidden), r, scaled(sendCounts, hidden), scaled(sendDispls, hidden), ElemType.FLOAT);
        Arrays.fill(out, 0, tokens * hidden, 0f);
        int L = F.length();
        for (int i = 0; i < sendTok.length; i++) {           // send rows are grouped by rank ascending: rank order per token
            int o = sendTok[i] * hidden, h = 0;
            long b = 4L * i * hidden;
            for (; h <= hidden - L; h += L)
                FloatVector.fromArray(F, out, o + h).add(FloatVector.fromMemorySegment(F, r, b + 4L * h, NATIVE)).intoArray(out, o + h);
            for (; h < hidden; h++) out[o + h] += r.get(ValueLayout.JAVA_FLOAT_UNALIGNED, b + 4L * h);
        }
    }

    /** {@link #combine} with the rows sent as BF16 (rounded to nearest even) and added in FP32. */
    public void combineBf16(float[] y, float[] out) {
        MemorySegment s = comm.scratch(4, 2L * received * hidden), r = comm.scratch(5, 2L * sendTok.length * hidden);
        for (int i = 0; i < received * hidden; i++) s.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * i, dev.jseek.tensor.Bf16.fromFloat(y[i]));
        int rb = 2 * hidden;
        comm.allToAllV(s, scaled(recvCounts, rb), scaled(recvDispls, rb), r, scaled(sendCounts, rb), scaled(sendDispls, rb), ElemType.BYTE);
        Arrays.fill(out, 0, tokens * hidden, 0f);
        for (int i = 0; i < sendTok.length; i++) {
            int o = sendTok[i] * hidden;
            long b = 2L * i * hidden;
            for (int h = 0; h < hidden; h++) out[o + h] += dev.jseek.tensor.Bf16.toFloat(r.get(ValueLayout.JAVA_SHORT_UNALIGNED, b + 2L * h));
        }
    }

    private static int[] scaled(int[] v, int f) {
        int[] o = new int[v.length];
        for (int i = 0; i < v.length; i++) o[i] = Math.multiplyExact(v[i], f);
        return o;
    }
}
