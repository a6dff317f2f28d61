package dev.jseek.kernels;

import static dev.jseek.kernels.QuantRows.bytes;
import static dev.jseek.kernels.QuantRows.f16;
import static dev.jseek.kernels.QuantRows.toFloat;

import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Fused dequantize-and-dot GEMV for weights stored in ggml block types (Q8_0, Q4_K, Q5_K, Q6_K), the decode path:
 * Y[m, n] (=|+=) X[m, k] W^T reading each row's blocks straight from the (mmapped) segment, one monomorphic kernel
 * per type in the style of llama3.java. Q8_0: per block the codes are widened to floats and multiplied with x into a
 * vector partial sum, scaled once by the block's scale. K-quants (Q4_K, Q5_K, Q6_K): each token's x is quantized
 * once per call to {@link Q8K} (int8 codes and a scale per 256, as llama.cpp does) and every row is an integer dot
 * product ({@link KQuantDot}), exact up to one float combination per super-block. Rows are split over the
 * {@link Parallel} pool; each (row, token) dot is computed the same way whatever m is (a 2-token verify equals two
 * 1-token steps bit for bit). No allocation once warm. Scalar twins: {@link dev.jseek.kernels.scalar.ScalarQuantGemv}
 * (Q8_0; reference-decoded weights, double sums) and {@link dev.jseek.kernels.scalar.ScalarKQuantDot} (K-quants).
 */
final class QuantGemv {
    private QuantGemv() {}

    private static final VectorSpecies<Float> F = Vec.F;
    private static final int L = Vec.LANES;
    private static final VectorSpecies<Byte> BL = QuantRows.BL;
    private static final java.nio.ByteOrder LE = java.nio.ByteOrder.LITTLE_ENDIAN;

    /** True for the weight types this kernel reads. */
    static boolean supports(DType t) { return t.isBlock(); }

    /** True for the types whose dots are integer products with {@link Q8K} activations. */
    static boolean integer(DType t) { return t == DType.Q4_K || t == DType.Q5_K || t == DType.Q6_K; }

    static void linear(float[] y, int yOff, float[] x, int xOff, int m, Matrix w, boolean accumulate) {
        int n = w.rows(), k = w.cols();
        Scratch own = Scratch.acquire();
        try {
            Q8K a = integer(w.dtype()) ? quantize(own, x, xOff, m, k) : null;
            int rowGrain = Parallel.grain(n, 4, 4);
            boolean serial = (long) n * k * m < (1L << 16);
            int tasks = (n + rowGrain - 1) / rowGrain;
            Parallel.Task body = (task, wk) -> {
                int r0 = task * rowGrain;
                rows(y, yOff, x, xOff, a, 0, m, w, accumulate, r0, Math.min(n, r0 + rowGrain));
            };
            if (serial) for (int i = 0; i < tasks; i++) body.run(i, 0);
            else if (DecodeOrder.contiguous(m)) Parallel.parallelForContiguous(tasks, body);
            else Parallel.parallelFor(tasks, body);
        } finally {
            own.release();
        }
    }

    /** The m rows of x (row stride k) quantized into own's {@link Q8K} buffer from element 0. */
    static Q8K quantize(Scratch own, float[] x, int xOff, int m, int k) {
        Q8K a = own.q8k();
        a.ensure(m * k);
        for (int tk = 0; tk < m; tk++) a.quantize(x, xOff + tk * k, k, tk * k);
        return a;
    }

    /**
     * For {@link Gemm#linearMany}: quantizes the input of every product that runs the integer kernels into own's
     * {@link Q8K} buffer, once per distinct input (same offset, tokens and width), and records where in
     * {@code slot[i]} (-1 for the other products). Returns null when no product needs it.
     */
    static Q8K quantizeMany(Scratch own, int count, Matrix[] w, float[] x, int[] jobs) {
        Q8K a = null;
        int used = 0;
        for (int i = 0; i < count; i++) {
            int xo = jobs[3 * i], m = jobs[3 * i + 1], k = w[i].cols();
            boolean need = integer(w[i].dtype()) && m > 0 && k > 0 && w[i].rows() > 0 && Gemv.fused(w[i], m);
            if (a == null) {
                if (!need) continue;
                a = own.q8k();
                a.slots(count);
                for (int j = 0; j < i; j++) a.slot[j] = -1;
            }
            a.slot[i] = -1;
            if (!need) continue;
            for (int j = 0; j < i && a.slot[i] < 0; j++)
                if (a.slot[j] >= 0 && jobs[3 * j] == xo && jobs[3 * j + 1] == m && w[j].cols() == k) a.slot[i] = a.slot[j];
            if (a.slot[i] >= 0) continue;
            a.ensure(used + m * k);
            for (int tk = 0; tk < m; tk++) a.quantize(x, xo + tk * k, k, used + tk * k);
            a.slot[i] = used;
            used += m * k;
        }
        return a;
    }

    /** Rows [r0, r1) of Y on the calling thread (K-quants: x quantized here). */
    static void rows(float[] y, int yOff, float[] x, int xOff, int m, Matrix w, boolean accumulate, int r0, int r1) {
        if (!integer(w.dtype())) {
            rows(y, yOff, x, xOff, null, 0, m, w, accumulate, r0, r1);
            return;
        }
        Scratch own = Scratch.acquire();
        try {
            rows(y, yOff, x, xOff, quantize(own, x, xOff, m, w.cols()), 0, m, w, accumulate, r0, r1);
        } finally {
            own.release();
        }
    }

    /**
     * Rows [r0, r1) of Y on the calling thread; K-quant weights read the m quantized rows of a from element aOff
     * (row stride k), Q8_0 reads x.
     */
    static void rows(float[] y, int yOff, float[] x, int xOff, Q8K a, int aOff, int m, Matrix w, boolean accumulate, int r0, int r1) {
        rows(y, yOff, x, xOff, a, aOff, m, w, accumulate, r0, r1, KQ_FLOAT);
    }

    /** As above; {@code q4Float} picks Q4_K's kernel ({@link #KQ_FLOAT}'s default; tests run both). */
    static void rows(float[] y, int yOff, float[] x, int xOff, Q8K a, int aOff, int m, Matrix w, boolean accumulate, int r0, int r1, boolean q4Float) {
        DType t = w.dtype();
        int n = w.rows(), k = w.cols();
        MemorySegment seg = w.data();
        long rb = w.rowBytes();
        if (t == DType.Q8_0 && Q8_TILES && m >= 2) {
            q8Rows(seg, rb, y, yOff, x, xOff, m, n, k, accumulate, r0, r1);
            return;
        }
        if (t == DType.Q4_K && q4Float) {
            Scratch sc = Scratch.acquire();
            try {
                float[] acc = sc.get(4, KQuantFloat.GROUP * Vec.LANES), acc1 = sc.get(3, KQuantFloat.GROUP * Vec.LANES);
                int nb = k / 256;
                for (int r = r0; r < r1; r += KQuantFloat.GROUP) {
                    int rows = Math.min(KQuantFloat.GROUP, r1 - r), tk = 0;
                    for (; KQ_PAIRS && tk + 2 <= m; tk += 2) {
                        KQuantFloat.q4_kRows2(seg, r * rb, rb, rows, x, xOff + tk * k, xOff + (tk + 1) * k, a.xs,
                                (aOff + tk * k) / 256 * KQuantFloat.XS, (aOff + (tk + 1) * k) / 256 * KQuantFloat.XS, nb, acc, acc1);
                        for (int i = 0; i < rows; i++) {
                            int yi = yOff + tk * n + r + i;
                            y[yi] = accumulate ? y[yi] + acc[i] : acc[i];
                            y[yi + n] = accumulate ? y[yi + n] + acc1[i] : acc1[i];
                        }
                    }
                    for (; tk < m; tk++) {
                        KQuantFloat.q4_kRows(seg, r * rb, rb, rows, x, xOff + tk * k, a.xs, (aOff + tk * k) / 256 * KQuantFloat.XS, nb, acc);
                        for (int i = 0; i < rows; i++) {
                            int yi = yOff + tk * n + r + i;
                            y[yi] = accumulate ? y[yi] + acc[i] : acc[i];
                        }
                    }
                }
            } finally {
                sc.release();
            }
            return;
        }
        if ((t == DType.Q4_K || t == DType.Q6_K) && KQ_PAIRS && m >= 2) {
            Scratch sc = Scratch.acquire();
            try {
                float[] two = sc.get(4, 4);
                int nb = k / 256;
                for (int r = r0; r < r1; r++) {
                    long p = r * rb;
                    int tk = 0;
                    for (; tk + 2 <= m; tk += 2) {
                        if (t == DType.Q4_K) KQuantDot.q4_k2(seg, p, a, aOff + tk * k, aOff + (tk + 1) * k, nb, two);
                        else KQuantDot.q6_k2(seg, p, a, aOff + tk * k, aOff + (tk + 1) * k, nb, two);
                        int yi = yOff + tk * n + r;
                        y[yi] = accumulate ? y[yi] + two[0] : two[0];
                        y[yi + n] = accumulate ? y[yi + n] + two[1] : two[1];
                    }
                    if (tk < m) {
                        float v = t == DType.Q4_K ? KQuantDot.q4_k(seg, p, a, aOff + tk * k, nb) : KQuantDot.q6_k(seg, p, a, aOff + tk * k, nb);
                        int yi = yOff + tk * n + r;
                        y[yi] = accumulate ? y[yi] + v : v;
                    }
                }
            } finally {
                sc.release();
            }
            return;
        }
        if ((t == DType.Q4_K || t == DType.Q6_K) && KQ_GROUPS && m == 1 && r1 - r0 >= KQuantDot.GROUP) {
            Scratch sc = Scratch.acquire();
            try {
                KQuantGroup g = sc.kqGroup();
                int nb = k / 256, r = r0;
                for (; r + KQuantDot.GROUP <= r1; r += KQuantDot.GROUP) {
                    if (t == DType.Q4_K) KQuantDot.q4_kRows(seg, r * rb, rb, a, aOff, nb, g);
                    else KQuantDot.q6_kRows(seg, r * rb, rb, a, aOff, nb, g);
                    for (int i = 0; i < KQuantDot.GROUP; i++) {
                        int yi = yOff + r + i;
                        y[yi] = accumulate ? y[yi] + g.out[i] : g.out[i];
                    }
                }
                for (; r < r1; r++) {
                    float v = t == DType.Q4_K ? KQuantDot.q4_k(seg, r * rb, a, aOff, nb) : KQuantDot.q6_k(seg, r * rb, a, aOff, nb);
                    y[yOff + r] = accumulate ? y[yOff + r] + v : v;
                }
            } finally {
                sc.release();
            }
            return;
        }
        if (t == DType.Q8_0 && Q8_LANES) {
            Scratch own = Scratch.acquire();
            try {
                float[] lanes = own.get(4, L);
                for (int r = r0; r < r1; r++)
                    for (int tk = 0; tk < m; tk++) {
                        float v = q8_0(seg, r * rb, x, xOff + tk * k, k / 32, lanes);
                        int yi = yOff + tk * n + r;
                        y[yi] = accumulate ? y[yi] + v : v;
                    }
            } finally {
                own.release();
            }
            return;
        }
        for (int r = r0; r < r1; r++)
            for (int tk = 0; tk < m; tk++) {
                long p = r * rb;
                float v = switch (t) {
                    case Q8_0 -> q8_0(seg, p, x, xOff + tk * k, k / 32);
                    case Q4_K -> KQuantDot.q4_k(seg, p, a, aOff + tk * k, k / 256);
                    case Q5_K -> KQuantDot.q5_k(seg, p, a, aOff + tk * k, k / 256);
                    case Q6_K -> KQuantDot.q6_k(seg, p, a, aOff + tk * k, k / 256);
                    default -> throw new IllegalArgumentException(t + " is not a block type");
                };
                int yi = yOff + tk * n + r;
                y[yi] = accumulate ? y[yi] + v : v;
            }
    }

    /**
     * Q8_0 rows times several tokens in one pass over the row (system property {@code jseek.q8Tiles}, default true;
     * false: one pass per token, the kernel of {@code jseek.quantFusedMaxM} = 4 before): each block's codes are widened
     * to floats once and feed the products of 2 or 4 tokens ({@link #q8_0x4}, {@link #q8_0x2}), every token summed in
     * exactly {@link #q8_0}'s order, so a token's value is the same whatever m (docs/quantization.md, "Small-M products").
     */
    static final boolean Q8_TILES = Boolean.parseBoolean(System.getProperty("jseek.q8Tiles", "true"));

    /**
     * Q4_K and Q6_K rows times 2 or more tokens take the tokens in pairs ({@link KQuantDot#q4_k2},
     * {@link KQuantDot#q6_k2}, and {@link KQuantFloat#q4_kRows2} for Q4_K in float: the codes unpacked once per pair;
     * the same bits as one token at a time) unless the system
     * property {@code jseek.kqPairs} is false.
     */
    static final boolean KQ_PAIRS = Boolean.parseBoolean(System.getProperty("jseek.kqPairs", "true"));

    /**
     * Q4_K and Q6_K rows times one token go in groups of {@link KQuantDot#GROUP} rows ({@link KQuantDot#q4_kRows},
     * {@link KQuantDot#q6_kRows}: lane sums, Q4_K's mins terms and the float combination once per super-block for the
     * whole group; the same bits as one row at a time) unless the system property {@code jseek.kqGroups} is false.
     */
    static final boolean KQ_GROUPS = Boolean.parseBoolean(System.getProperty("jseek.kqGroups", "true"));

    /**
     * With the system property {@code jseek.kqFloat} true, Q4_K rows run in float ({@link KQuantFloat}: codes converted
     * to float and multiplied with the unrounded activations, each sub-block's sum scaled once, 16 rows per call; every
     * token count, so a token's values are the same alone or in a batch); by default (false) the integer
     * {@link KQuantDot} products with {@link Q8K} activations, other bits. Off by default: in the lead's quiet
     * alternation the float kernel's 2-thread decode of the Q4_K_M bench model was 60-82 tokens/s in some runs and
     * 27-37 in others (the JIT now and then compiled its row method with boxed vectors; since its codes convert by
     * one B2F, 72-101 in 9 of 9 runs), the integer one 68-111, so no gain to switch to other numerics.
     * docs/quantization.md, "Q4_K in float".
     */
    static final boolean KQ_FLOAT = Boolean.parseBoolean(System.getProperty("jseek.kqFloat", "false"));


    /**
     * Q8_0 rows [r0, r1) times m >= 2 tokens: from {@link #Q8_GROUP_MIN_M} tokens, groups of 4 rows are copied one row after another into a byte buffer
     * (each row read in sequence: reading 4 rows interleaved is 3x slower from DRAM here), then token quads run
     * 2-row x 4-token tiles over the buffer ({@link #q8_0x2x4}), remaining token pairs 4-row x 2-token tiles ({@link #q8_0x4x2}: each block's codes widened once for 2 tokens, each x
     * vector loaded once for 4 rows) and an odd last token {@link #q8_0} per row; rows past the last whole group run
     * {@link #q8_0x4} / {@link #q8_0x2} / {@link #q8_0} on the segment. Every (row, token) is summed in
     * {@link #q8_0}'s order.
     */
    /**
     * From this many tokens Q8_0 row groups go through the byte buffer and the 4x2 tiles; fewer run the one-row token
     * tiles on the segment (measured per core on 512 x 1536: 4 tokens 1.25x faster one row at a time, 8 tokens 1.3x
     * slower).
     */
    static final int Q8_GROUP_MIN_M = 8;

    private static void q8Rows(MemorySegment seg, long rb, float[] y, int yOff, float[] x, int xOff, int m, int n, int k,
                               boolean accumulate, int r0, int r1) {
        int nb = k / 32, rbi = (int) rb;
        Scratch sc = Scratch.acquire();
        try {
            byte[] buf = sc.bytes(4 * rbi);
            int r = r0;
            for (; m >= Q8_GROUP_MIN_M && r + 4 <= r1; r += 4) {
                MemorySegment.copy(seg, java.lang.foreign.ValueLayout.JAVA_BYTE, r * rb, buf, 0, 4 * rbi);
                int tk = 0;
                for (; tk + 4 <= m; tk += 4) {
                    q8_0x2x4(buf, 0, rbi, nb, x, xOff + tk * k, k, y, yOff + tk * n + r, n, accumulate);
                    q8_0x2x4(buf, 2 * rbi, 3 * rbi, nb, x, xOff + tk * k, k, y, yOff + tk * n + r + 2, n, accumulate);
                }
                for (; tk + 2 <= m; tk += 2) q8_0x4x2(buf, rbi, nb, x, xOff + tk * k, k, y, yOff + tk * n + r, n, accumulate);
                if (tk < m)
                    for (int j = 0; j < 4; j++) {
                        float v = q8_0(seg, (r + j) * rb, x, xOff + tk * k, nb);
                        int yi = yOff + tk * n + r + j;
                        y[yi] = accumulate ? y[yi] + v : v;
                    }
            }
            for (; r < r1; r++) {
                long p = r * rb;
                int tk = 0;
                for (; tk + 4 <= m; tk += 4) q8_0x4(seg, p, x, xOff + tk * k, k, nb, y, yOff + tk * n + r, n, accumulate);
                for (; tk + 2 <= m; tk += 2) q8_0x2(seg, p, x, xOff + tk * k, k, nb, y, yOff + tk * n + r, n, accumulate);
                if (tk < m) {
                    float v = q8_0(seg, p, x, xOff + tk * k, nb);
                    int yi = yOff + tk * n + r;
                    y[yi] = accumulate ? y[yi] + v : v;
                }
            }
        } finally {
            sc.release();
        }
    }

    /**
     * 4 Q8_0 rows (b[j rb ..], j < 4) times 2 tokens (x rows xo, xo + k), each (row, token) summed as {@link #q8_0};
     * y[yi + j + i n] (=|+=) row j's dot with token i.
     */
    static void q8_0x4x2(byte[] b, int rb, int nb, float[] x, int xo, int k, float[] y, int yi, int n, boolean accumulate) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
        int x1 = xo + k, p1 = rb, p2 = 2 * rb, p3 = 3 * rb;
        for (int bi = 0, p = 0; bi < nb; bi++, p += 34) {
            int o = 32 * bi;
            FloatVector u = FloatVector.fromArray(F, x, xo + o), v = FloatVector.fromArray(F, x, x1 + o);
            FloatVector c = (FloatVector) ByteVector.fromArray(BL, b, p + 2).convertShape(VectorOperators.B2F, F, 0);
            FloatVector t00 = c.mul(u), t01 = c.mul(v);
            c = (FloatVector) ByteVector.fromArray(BL, b, p1 + p + 2).convertShape(VectorOperators.B2F, F, 0);
            FloatVector t10 = c.mul(u), t11 = c.mul(v);
            c = (FloatVector) ByteVector.fromArray(BL, b, p2 + p + 2).convertShape(VectorOperators.B2F, F, 0);
            FloatVector t20 = c.mul(u), t21 = c.mul(v);
            c = (FloatVector) ByteVector.fromArray(BL, b, p3 + p + 2).convertShape(VectorOperators.B2F, F, 0);
            FloatVector t30 = c.mul(u), t31 = c.mul(v);
            for (int j = L; j < 32; j += L) {
                u = FloatVector.fromArray(F, x, xo + o + j);
                v = FloatVector.fromArray(F, x, x1 + o + j);
                c = (FloatVector) ByteVector.fromArray(BL, b, p + 2 + j).convertShape(VectorOperators.B2F, F, 0);
                t00 = c.fma(u, t00); t01 = c.fma(v, t01);
                c = (FloatVector) ByteVector.fromArray(BL, b, p1 + p + 2 + j).convertShape(VectorOperators.B2F, F, 0);
                t10 = c.fma(u, t10); t11 = c.fma(v, t11);
                c = (FloatVector) ByteVector.fromArray(BL, b, p2 + p + 2 + j).convertShape(VectorOperators.B2F, F, 0);
                t20 = c.fma(u, t20); t21 = c.fma(v, t21);
                c = (FloatVector) ByteVector.fromArray(BL, b, p3 + p + 2 + j).convertShape(VectorOperators.B2F, F, 0);
                t30 = c.fma(u, t30); t31 = c.fma(v, t31);
            }
            FloatVector d = FloatVector.broadcast(F, h16(b, p));
            a00 = t00.fma(d, a00); a01 = t01.fma(d, a01);
            d = FloatVector.broadcast(F, h16(b, p1 + p));
            a10 = t10.fma(d, a10); a11 = t11.fma(d, a11);
            d = FloatVector.broadcast(F, h16(b, p2 + p));
            a20 = t20.fma(d, a20); a21 = t21.fma(d, a21);
            d = FloatVector.broadcast(F, h16(b, p3 + p));
            a30 = t30.fma(d, a30); a31 = t31.fma(d, a31);
        }
        put(y, yi, laneSum(a00), accumulate); put(y, yi + n, laneSum(a01), accumulate);
        put(y, yi + 1, laneSum(a10), accumulate); put(y, yi + 1 + n, laneSum(a11), accumulate);
        put(y, yi + 2, laneSum(a20), accumulate); put(y, yi + 2 + n, laneSum(a21), accumulate);
        put(y, yi + 3, laneSum(a30), accumulate); put(y, yi + 3 + n, laneSum(a31), accumulate);
    }

    /**
     * 2 Q8_0 rows (b[p0 ..], b[p1 ..]) times 4 tokens (x rows xo, xo + k, ...), each (row, token) summed as
     * {@link #q8_0}: a block's codes widened once for 4 tokens, each x vector loaded once for 2 rows (20 vector
     * registers: a 4x4 tile would need 32 for the per-block partial sums and the accumulators).
     */
    static void q8_0x2x4(byte[] b, int p0, int p1, int nb, float[] x, int xo, int k, float[] y, int yi, int n, boolean accumulate) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z;
        int x1 = xo + k, x2 = x1 + k, x3 = x2 + k;
        for (int bi = 0, p = 0; bi < nb; bi++, p += 34) {
            int o = 32 * bi;
            FloatVector c0 = (FloatVector) ByteVector.fromArray(BL, b, p0 + p + 2).convertShape(VectorOperators.B2F, F, 0);
            FloatVector c1 = (FloatVector) ByteVector.fromArray(BL, b, p1 + p + 2).convertShape(VectorOperators.B2F, F, 0);
            FloatVector v = FloatVector.fromArray(F, x, xo + o);
            FloatVector t00 = c0.mul(v), t10 = c1.mul(v);
            v = FloatVector.fromArray(F, x, x1 + o);
            FloatVector t01 = c0.mul(v), t11 = c1.mul(v);
            v = FloatVector.fromArray(F, x, x2 + o);
            FloatVector t02 = c0.mul(v), t12 = c1.mul(v);
            v = FloatVector.fromArray(F, x, x3 + o);
            FloatVector t03 = c0.mul(v), t13 = c1.mul(v);
            for (int j = L; j < 32; j += L) {
                c0 = (FloatVector) ByteVector.fromArray(BL, b, p0 + p + 2 + j).convertShape(VectorOperators.B2F, F, 0);
                c1 = (FloatVector) ByteVector.fromArray(BL, b, p1 + p + 2 + j).convertShape(VectorOperators.B2F, F, 0);
                v = FloatVector.fromArray(F, x, xo + o + j);
                t00 = c0.fma(v, t00); t10 = c1.fma(v, t10);
                v = FloatVector.fromArray(F, x, x1 + o + j);
                t01 = c0.fma(v, t01); t11 = c1.fma(v, t11);
                v = FloatVector.fromArray(F, x, x2 + o + j);
                t02 = c0.fma(v, t02); t12 = c1.fma(v, t12);
                v = FloatVector.fromArray(F, x, x3 + o + j);
                t03 = c0.fma(v, t03); t13 = c1.fma(v, t13);
            }
            FloatVector d = FloatVector.broadcast(F, h16(b, p0 + p));
            a00 = t00.fma(d, a00); a01 = t01.fma(d, a01); a02 = t02.fma(d, a02); a03 = t03.fma(d, a03);
            d = FloatVector.broadcast(F, h16(b, p1 + p));
            a10 = t10.fma(d, a10); a11 = t11.fma(d, a11); a12 = t12.fma(d, a12); a13 = t13.fma(d, a13);
        }
        put(y, yi, laneSum(a00), accumulate); put(y, yi + n, laneSum(a01), accumulate);
        put(y, yi + 2 * n, laneSum(a02), accumulate); put(y, yi + 3 * n, laneSum(a03), accumulate);
        put(y, yi + 1, laneSum(a10), accumulate); put(y, yi + 1 + n, laneSum(a11), accumulate);
        put(y, yi + 1 + 2 * n, laneSum(a12), accumulate); put(y, yi + 1 + 3 * n, laneSum(a13), accumulate);
    }

    private static void put(float[] y, int i, float v, boolean accumulate) { y[i] = accumulate ? y[i] + v : v; }

    /** The little-endian binary16 at b[p], as float. */
    private static float h16(byte[] b, int p) { return Float.float16ToFloat((short) ((b[p] & 0xFF) | (b[p + 1] << 8))); }

    /** 4 tokens (x rows xo, xo + k, ...) times the Q8_0 row at p, each summed as {@link #q8_0}; y[yi + i n] (=|+=) token i's dot. */
    static void q8_0x4(MemorySegment s, long p, float[] x, int xo, int k, int nb, float[] y, int yi, int n, boolean accumulate) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int x1 = xo + k, x2 = x1 + k, x3 = x2 + k;
        for (int b = 0; b < nb; b++, p += 34) {
            int o = 32 * b;
            FloatVector c = (FloatVector) ByteVector.fromMemorySegment(BL, s, p + 2, LE).convertShape(VectorOperators.B2F, F, 0);
            FloatVector t0 = c.mul(FloatVector.fromArray(F, x, xo + o)), t1 = c.mul(FloatVector.fromArray(F, x, x1 + o));
            FloatVector t2 = c.mul(FloatVector.fromArray(F, x, x2 + o)), t3 = c.mul(FloatVector.fromArray(F, x, x3 + o));
            for (int j = L; j < 32; j += L) {
                c = (FloatVector) ByteVector.fromMemorySegment(BL, s, p + 2 + j, LE).convertShape(VectorOperators.B2F, F, 0);
                t0 = c.fma(FloatVector.fromArray(F, x, xo + o + j), t0);
                t1 = c.fma(FloatVector.fromArray(F, x, x1 + o + j), t1);
                t2 = c.fma(FloatVector.fromArray(F, x, x2 + o + j), t2);
                t3 = c.fma(FloatVector.fromArray(F, x, x3 + o + j), t3);
            }
            FloatVector d = FloatVector.broadcast(F, f16(s, p));
            a0 = t0.fma(d, a0); a1 = t1.fma(d, a1); a2 = t2.fma(d, a2); a3 = t3.fma(d, a3);
        }
        float v0 = laneSum(a0), v1 = laneSum(a1), v2 = laneSum(a2), v3 = laneSum(a3);
        y[yi] = accumulate ? y[yi] + v0 : v0;
        y[yi + n] = accumulate ? y[yi + n] + v1 : v1;
        y[yi + 2 * n] = accumulate ? y[yi + 2 * n] + v2 : v2;
        y[yi + 3 * n] = accumulate ? y[yi + 3 * n] + v3 : v3;
    }

    /** 2 tokens, as {@link #q8_0x4}. */
    static void q8_0x2(MemorySegment s, long p, float[] x, int xo, int k, int nb, float[] y, int yi, int n, boolean accumulate) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        int x1 = xo + k;
        for (int b = 0; b < nb; b++, p += 34) {
            int o = 32 * b;
            FloatVector c = (FloatVector) ByteVector.fromMemorySegment(BL, s, p + 2, LE).convertShape(VectorOperators.B2F, F, 0);
            FloatVector t0 = c.mul(FloatVector.fromArray(F, x, xo + o)), t1 = c.mul(FloatVector.fromArray(F, x, x1 + o));
            for (int j = L; j < 32; j += L) {
                c = (FloatVector) ByteVector.fromMemorySegment(BL, s, p + 2 + j, LE).convertShape(VectorOperators.B2F, F, 0);
                t0 = c.fma(FloatVector.fromArray(F, x, xo + o + j), t0);
                t1 = c.fma(FloatVector.fromArray(F, x, x1 + o + j), t1);
            }
            FloatVector d = FloatVector.broadcast(F, f16(s, p));
            a0 = t0.fma(d, a0); a1 = t1.fma(d, a1);
        }
        float v0 = laneSum(a0), v1 = laneSum(a1);
        y[yi] = accumulate ? y[yi] + v0 : v0;
        y[yi + n] = accumulate ? y[yi + n] + v1 : v1;
    }

    /**
     * Whether the Q8_0 row sum reduces its lanes through a small array ({@link #q8_0(MemorySegment, long, float[], int,
     * int, float[])}: one vector store, then scalar adds of the stored lanes in index order) instead of
     * {@link Vec#sum}'s lane extractions: the same float additions, so the same bits, and on a row of 16 blocks the
     * extractions cost about as much as the blocks (system property {@code jseek.q8Lanes}, default true).
     */
    static final boolean Q8_LANES = Boolean.parseBoolean(System.getProperty("jseek.q8Lanes", "true"));

    /**
     * Whether the Q8_0 kernels (one token and the token tiles alike) sum each dot's vector accumulator by the pairwise
     * lane tree ({@link HalfGemv#tree}: 4 dependent shuffle-adds at 512 bits) instead of in lane order (16 dependent
     * adds): a row of a 1536 x 512 expert down projection is 16 blocks, and the in-order sum cost about a third of it
     * (system property {@code jseek.q8Tree}, default true; false: the in-order sums, other bits;
     * docs/quantization.md, "The decode step"). Scalar twin of either order: {@link
     * dev.jseek.kernels.scalar.ScalarQuantGemv#q8_0}.
     */
    static final boolean Q8_TREE = Boolean.parseBoolean(System.getProperty("jseek.q8Tree", "true"));

    /** The sum of a Q8_0 dot's accumulator lanes: {@link HalfGemv#tree} or, with {@code jseek.q8Tree=false}, {@link Vec#sum}. */
    static float laneSum(FloatVector v) { return Q8_TREE ? HalfGemv.tree(v) : Vec.sum(v); }

    /** {@link #q8_0(MemorySegment, long, float[], int, int)} with the lane sum through {@code lanes} (L floats): same bits. */
    static float q8_0(MemorySegment s, long p, float[] x, int xo, int nb, float[] lanes) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0, one = Vec.rolled(1); b < nb; b += one, p += 34, xo += 32) {
            FloatVector t = toFloat(bytes(s, p + 2)).mul(FloatVector.fromArray(F, x, xo));
            for (int j = L; j < 32; j += L) t = toFloat(bytes(s, p + 2 + j)).fma(FloatVector.fromArray(F, x, xo + j), t);
            acc = t.fma(FloatVector.broadcast(F, f16(s, p)), acc);
        }
        if (Q8_TREE) return HalfGemv.tree(acc);
        acc.intoArray(lanes, 0);
        float sum = 0f;
        for (int j = 0; j < L; j++) sum += lanes[j];
        return sum;
    }

    static float q8_0(MemorySegment s, long p, float[] x, int xo, int nb) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0, one = Vec.rolled(1); b < nb; b += one, p += 34, xo += 32) {
            FloatVector t = toFloat(bytes(s, p + 2)).mul(FloatVector.fromArray(F, x, xo));
            for (int j = L; j < 32; j += L) t = toFloat(bytes(s, p + 2 + j)).fma(FloatVector.fromArray(F, x, xo + j), t);
            acc = t.fma(FloatVector.broadcast(F, f16(s, p)), acc);
        }
        return laneSum(acc);
    }
}
