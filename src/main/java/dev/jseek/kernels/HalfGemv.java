package dev.jseek.kernels;

import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * GEMV and small-m GEMM for float weights (BF16, F16, F32; docs/quantization.md, "Kernels"): Y[m, n]
 * (=|+=) X[m, k] W^T for the decode step (m = 1), speculative verify (m = 2) and batched decode (m up to
 * {@link Gemm#GEMV_MAX_M}), every weight row streamed from memory once per call whatever m is.
 *
 * <p>Rows go 4 at a time. BF16 is widened in registers as it is read (one 16-bit to 32-bit lane conversion and a
 * shift per {@link Vec#LANES} weights, no buffer), and each widened vector feeds 4 tokens' fused multiply-adds
 * before the next is loaded: a 4-row x 4-token tile keeps 16 vector accumulators, so the weights of 4 rows cost 4
 * loads and 8 widening operations per 16 FMAs. Tokens past a multiple of 4 run 4-row x 2-token and 4-row x 1-token
 * passes over the same rows, which are still in L1/L2 from the first pass (off by default, for BF16: 3 of them as
 * one 4x3 tile, {@link #TILE3}; 2-4 tokens over short rows read row after row, {@link #SEQ_TILES_MAX_K}). F16 (whose widening costs ~10 operations a vector) is
 * widened once per 4-row group into an L1/L2 buffer and then multiplied like F32; F32 rows are copied there the
 * same way (each row read in sequence: reading 4 rows interleaved in place was 3x slower from DRAM here).
 *
 * <p>One order of summation for every (row, token) dot, whatever m, the tile and the thread split: one vector
 * accumulator over the {@link Vec#LANES}-wide blocks of the row in order (FMA from zero), a pairwise lane tree
 * (lane i += lane i + L/2, then + L/4, ... {@link #reduce}), then the remaining k mod L products added one by one in
 * float. So a token's outputs are bitwise the same alone or in a batch (the serving engine's batch invariance,
 * speculative decoding's verify) and equal {@link dev.jseek.kernels.scalar.ScalarHalfGemv}, the scalar twin that
 * computes this order with {@link Math#fma}. Nothing is allocated once warm besides {@link #linear}'s parallel task.
 */
final class HalfGemv {
    private HalfGemv() {}

    private static final VectorSpecies<Float> F = Vec.F;
    private static final VectorSpecies<Integer> I = Vec.I;
    private static final VectorSpecies<Short> S = Vec.S;
    private static final int L = Vec.LANES;
    /** Rows per group. */
    static final int R = 4;
    /** Tokens per tile. */
    static final int T = 4;

    /**
     * F32 weights run this kernel too (rows copied 4 at a time into an L1/L2 buffer, each row read in sequence, then the
     * F32 tiles: one pass over the weights for all m tokens) unless the system property {@code jseek.f32Tiles} is
     * false (then {@link Gemv}'s chunked path, one 4x2 or 4x1 pass per token pair and a lane sum per dot, kept for
     * comparison: docs/quantization.md, "Small-M products").
     */
    static final boolean F32_TILES = Boolean.parseBoolean(System.getProperty("jseek.f32Tiles", "true"));

    /**
     * Experimental, off by default (system property {@code jseek.q8Half}): Q8_0 weights at every token count up to the
     * packed GEMM's threshold run this kernel too, each block widened in registers to its exact values q * d (an
     * int8 times a binary16 scale is exact in float) and multiplied like BF16 in 4-row x 4-token tiles, in this
     * class's order of summation; the 4 rows of a group are first copied one after another into a byte buffer. That
     * changes Q8_0's 1-token bits (the fused {@link QuantGemv} kernel sums per block, then scales), so it is a
     * different M = 1 kernel, not only an M-row one: docs/quantization.md, "Small-M products".
     */
    static final boolean Q8_HALF = Boolean.getBoolean("jseek.q8Half");

    /** True for the weight dtypes this kernel multiplies. */
    static boolean supports(DType t) { return t == DType.BF16 || t == DType.F16 || t == DType.F32 && F32_TILES || t == DType.Q8_0 && Q8_HALF; }

    /** Y (=|+=) X W^T on the {@link Parallel} pool (row groups split over the participants). */
    static void linear(float[] y, int yOff, float[] x, int xOff, int m, Matrix w, boolean accumulate) {
        int n = w.rows(), k = w.cols();
        int rowGrain = Parallel.grain(n, 4, R);
        int tasks = (n + rowGrain - 1) / rowGrain;
        Parallel.Task body = (t, wk) -> {
            int r0 = t * rowGrain;
            rows(y, yOff, x, xOff, m, w, accumulate, r0, Math.min(n, r0 + rowGrain));
        };
        if ((long) n * k * m < (1L << 16)) for (int t = 0; t < tasks; t++) body.run(t, 0);
        else if (DecodeOrder.contiguous(m)) Parallel.parallelForContiguous(tasks, body);
        else Parallel.parallelFor(tasks, body);
    }

    /** Rows [r0, r1) of Y (=|+=) X W^T on the calling thread (the same bits as {@link #linear} for those rows). */
    static void rows(float[] y, int yOff, float[] x, int xOff, int m, Matrix w, boolean accumulate, int r0, int r1) {
        rows(y, yOff, x, xOff, m, w, accumulate, r0, r1, w.cols() <= SEQ_TILES_MAX_K, TILE3);
    }

    /**
     * {@link #rows} with BF16's small-M memory order ({@link #SEQ_TILES_MAX_K}) and 3-token tile ({@link #TILE3})
     * chosen: the same bits either way.
     */
    static void rows(float[] y, int yOff, float[] x, int xOff, int m, Matrix w, boolean accumulate, int r0, int r1,
                     boolean seqTiles, boolean tile3) {
        if (r0 >= r1 || m <= 0) return;
        Scratch s = Scratch.acquire();
        try {
            float[] out = s.get(0, R * T * L);
            MemorySegment seg = w.data();
            Object heap = seg.heapBase().orElse(null);
            if (w.dtype() == DType.BF16) {
                if (heap instanceof short[] sa && seg.address() % 2 == 0)
                    bf16Rows(sa, (int) (seg.address() / 2), y, yOff, x, xOff, m, w, accumulate, r0, r1, out, seqTiles, tile3);
                else if (heap == null && m == 1 && DecodeOrder.seqRows) bf16SeqRows(seg, y, yOff, x, xOff, w, accumulate, r0, r1, out);
                else if (heap == null) bf16Rows(seg, y, yOff, x, xOff, m, w, accumulate, r0, r1, out, seqTiles, tile3);
                else bufferedRows(y, yOff, x, xOff, m, w, accumulate, r0, r1, out, s);
            } else if (w.dtype() == DType.Q8_0) {
                q8Rows(seg, y, yOff, x, xOff, m, w, accumulate, r0, r1, out, s);
            } else if (w.dtype() == DType.F32 && m == 1 && heap == null) {
                if (DecodeOrder.seqRows) f32SeqRows(seg, y, yOff, x, xOff, w, accumulate, r0, r1, out);
                else f32Rows(seg, y, yOff, x, xOff, w, accumulate, r0, r1, out);
            } else if (w.dtype() == DType.F16 || w.dtype() == DType.F32) {
                bufferedRows(y, yOff, x, xOff, m, w, accumulate, r0, r1, out, s);
            } else {
                throw new IllegalArgumentException(w.dtype() + " is not a BF16, F16 or F32 weight");
            }
        } finally {
            s.release();
        }
    }

    /**
     * One token times BF16 rows in native memory, each 4-row group read row after row (one sequential stream through
     * memory instead of {@link #bf16x4x1}'s 4 streams a row apart; {@link DecodeOrder}'s {@code jseek.seqRows}): each
     * row's accumulator by the same fused multiply-adds in the same order, the 4 lane trees together, so the same
     * bits. A group past the end reads only its rows.
     */
    private static void bf16SeqRows(MemorySegment seg, float[] y, int yOff, float[] x, int xOff, Matrix w, boolean accumulate,
                                    int r0, int r1, float[] out) {
        int k = w.cols(), kv = k - k % L;
        long rb = 2L * k;
        for (int r = r0; r < r1; r += R) {
            int rr = Math.min(R, r1 - r);
            for (int j = 0; j < rr; j++) bf16Dot(seg, rb * (r + j), x, xOff, kv, out, j * L);
            reduce(out, R);
            store(y, yOff, x, xOff, 1, w, accumulate, r, r1, 0, 1, out);
        }
    }

    /** {@link #bf16SeqRows} for F32 rows in native memory ({@link #f32x4x1}'s order per row). */
    private static void f32SeqRows(MemorySegment seg, float[] y, int yOff, float[] x, int xOff, Matrix w, boolean accumulate,
                                   int r0, int r1, float[] out) {
        int k = w.cols(), kv = k - k % L;
        long rb = 4L * k;
        for (int r = r0; r < r1; r += R) {
            int rr = Math.min(R, r1 - r);
            for (int j = 0; j < rr; j++) f32Dot(seg, rb * (r + j), x, xOff, kv, out, j * L);
            reduce(out, R);
            store(y, yOff, x, xOff, 1, w, accumulate, r, r1, 0, 1, out);
        }
    }

    /** Row r + j of a group clamped into [r, r1): a group past the end repeats its last row (results not written). */
    private static int row(int r, int j, int r1) { return Math.min(r + j, r1 - 1); }

    private static void bf16Rows(MemorySegment seg, float[] y, int yOff, float[] x, int xOff, int m, Matrix w,
                                 boolean accumulate, int r0, int r1, float[] out, boolean seqTiles, boolean tile3) {
        int n = w.rows(), k = w.cols(), kv = k - k % L;
        long rb = 2L * k;
        for (int r = r0; r < r1; r += R) {
            long p0 = rb * row(r, 0, r1), p1 = rb * row(r, 1, r1), p2 = rb * row(r, 2, r1), p3 = rb * row(r, 3, r1);
            int t = 0;
            if (seqTiles && m >= 2 && m <= T) {
                // the group's rows one after another, each with all m tokens' accumulators
                bf16Seq(seg, p0, p1, p2, p3, x, xOff, k, kv, m, out);
                store(y, yOff, x, xOff, m, w, accumulate, r, r1, 0, m, out);
                t = m;
            }
            for (; t + T <= m; t += T) {
                bf16x4x4(seg, p0, p1, p2, p3, x, xOff + t * k, k, kv, out);
                store(y, yOff, x, xOff, m, w, accumulate, r, r1, t, T, out);
            }
            if (tile3 && m - t == 3) {
                bf16x4x3(seg, p0, p1, p2, p3, x, xOff + t * k, k, kv, out);
                store(y, yOff, x, xOff, m, w, accumulate, r, r1, t, 3, out);
                t += 3;
            }
            for (; t + 2 <= m; t += 2) {
                bf16x4x2(seg, p0, p1, p2, p3, x, xOff + t * k, k, kv, out);
                store(y, yOff, x, xOff, m, w, accumulate, r, r1, t, 2, out);
            }
            for (; t < m; t++) {
                bf16x4x1(seg, p0, p1, p2, p3, x, xOff + t * k, kv, out);
                store(y, yOff, x, xOff, m, w, accumulate, r, r1, t, 1, out);
            }
        }
    }

    private static void bf16Rows(short[] a, int base, float[] y, int yOff, float[] x, int xOff, int m, Matrix w,
                                 boolean accumulate, int r0, int r1, float[] out, boolean seqTiles, boolean tile3) {
        int n = w.rows(), k = w.cols(), kv = k - k % L;
        for (int r = r0; r < r1; r += R) {
            int p0 = base + k * row(r, 0, r1), p1 = base + k * row(r, 1, r1), p2 = base + k * row(r, 2, r1), p3 = base + k * row(r, 3, r1);
            int t = 0;
            if (seqTiles && m >= 2 && m <= T) {
                bf16Seq(a, p0, p1, p2, p3, x, xOff, k, kv, m, out);
                store(y, yOff, x, xOff, m, w, accumulate, r, r1, 0, m, out);
                t = m;
            }
            for (; t + T <= m; t += T) {
                bf16x4x4(a, p0, p1, p2, p3, x, xOff + t * k, k, kv, out);
                store(y, yOff, x, xOff, m, w, accumulate, r, r1, t, T, out);
            }
            if (tile3 && m - t == 3) {
                bf16x4x3(a, p0, p1, p2, p3, x, xOff + t * k, k, kv, out);
                store(y, yOff, x, xOff, m, w, accumulate, r, r1, t, 3, out);
                t += 3;
            }
            for (; t + 2 <= m; t += 2) {
                bf16x4x2(a, p0, p1, p2, p3, x, xOff + t * k, k, kv, out);
                store(y, yOff, x, xOff, m, w, accumulate, r, r1, t, 2, out);
            }
            for (; t < m; t++) {
                bf16x4x1(a, p0, p1, p2, p3, x, xOff + t * k, kv, out);
                store(y, yOff, x, xOff, m, w, accumulate, r, r1, t, 1, out);
            }
        }
    }

    /** Q8_0: each group of 4 rows copied in sequence into a byte buffer (a group past the end repeats its last row), then the Q8_0 tiles. */
    private static void q8Rows(MemorySegment seg, float[] y, int yOff, float[] x, int xOff, int m, Matrix w, boolean accumulate,
                               int r0, int r1, float[] out, Scratch s) {
        int k = w.cols(), rb = (int) w.rowBytes();
        byte[] b = s.bytes(R * rb);
        for (int r = r0; r < r1; r += R) {
            int full = Math.min(R, r1 - r);
            MemorySegment.copy(seg, java.lang.foreign.ValueLayout.JAVA_BYTE, (long) r * rb, b, 0, full * rb);
            for (int j = full; j < R; j++) System.arraycopy(b, (full - 1) * rb, b, j * rb, rb);
            int t = 0;
            for (; t + T <= m; t += T) {
                q8x4x4(b, rb, x, xOff + t * k, k, out);
                store(y, yOff, x, xOff, m, w, accumulate, r, r1, t, T, out);
            }
            for (; t + 2 <= m; t += 2) {
                q8x4x2(b, rb, x, xOff + t * k, k, out);
                store(y, yOff, x, xOff, m, w, accumulate, r, r1, t, 2, out);
            }
            for (; t < m; t++) {
                q8x4x1(b, rb, x, xOff + t * k, k, out);
                store(y, yOff, x, xOff, m, w, accumulate, r, r1, t, 1, out);
            }
        }
    }

    private static final VectorSpecies<Byte> BL = QuantRows.BL;

    /** The binary16 scale at b[p] (little-endian), as float. */
    private static float h16(byte[] b, int p) { return Float.float16ToFloat((short) ((b[p] & 0xFF) | (b[p + 1] << 8))); }

    /** 4 Q8_0 rows (b[j rb ..]) x 4 tokens; each vector of weights is q * d, exact. */
    private static void q8x4x4(byte[] b, int rb, float[] x, int xo, int k, float[] out) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z;
        FloatVector a20 = z, a21 = z, a22 = z, a23 = z, a30 = z, a31 = z, a32 = z, a33 = z;
        int x1 = xo + k, x2 = x1 + k, x3 = x2 + k, nb = k / 32;
        for (int bi = 0, p = 0; bi < nb; bi++, p += 34) {
            FloatVector d0 = FloatVector.broadcast(F, h16(b, p)), d1 = FloatVector.broadcast(F, h16(b, rb + p));
            FloatVector d2 = FloatVector.broadcast(F, h16(b, 2 * rb + p)), d3 = FloatVector.broadcast(F, h16(b, 3 * rb + p));
            for (int j = 0; j < 32; j += L) {
                int i = 32 * bi + j, q = p + 2 + j;
                FloatVector w0 = ((FloatVector) ByteVector.fromArray(BL, b, q).convertShape(VectorOperators.B2F, F, 0)).mul(d0);
                FloatVector w1 = ((FloatVector) ByteVector.fromArray(BL, b, rb + q).convertShape(VectorOperators.B2F, F, 0)).mul(d1);
                FloatVector w2 = ((FloatVector) ByteVector.fromArray(BL, b, 2 * rb + q).convertShape(VectorOperators.B2F, F, 0)).mul(d2);
                FloatVector w3 = ((FloatVector) ByteVector.fromArray(BL, b, 3 * rb + q).convertShape(VectorOperators.B2F, F, 0)).mul(d3);
                FloatVector v = FloatVector.fromArray(F, x, xo + i);
                a00 = w0.fma(v, a00); a10 = w1.fma(v, a10); a20 = w2.fma(v, a20); a30 = w3.fma(v, a30);
                v = FloatVector.fromArray(F, x, x1 + i);
                a01 = w0.fma(v, a01); a11 = w1.fma(v, a11); a21 = w2.fma(v, a21); a31 = w3.fma(v, a31);
                v = FloatVector.fromArray(F, x, x2 + i);
                a02 = w0.fma(v, a02); a12 = w1.fma(v, a12); a22 = w2.fma(v, a22); a32 = w3.fma(v, a32);
                v = FloatVector.fromArray(F, x, x3 + i);
                a03 = w0.fma(v, a03); a13 = w1.fma(v, a13); a23 = w2.fma(v, a23); a33 = w3.fma(v, a33);
            }
        }
        a00.intoArray(out, 0); a01.intoArray(out, L); a02.intoArray(out, 2 * L); a03.intoArray(out, 3 * L);
        a10.intoArray(out, 4 * L); a11.intoArray(out, 5 * L); a12.intoArray(out, 6 * L); a13.intoArray(out, 7 * L);
        a20.intoArray(out, 8 * L); a21.intoArray(out, 9 * L); a22.intoArray(out, 10 * L); a23.intoArray(out, 11 * L);
        a30.intoArray(out, 12 * L); a31.intoArray(out, 13 * L); a32.intoArray(out, 14 * L); a33.intoArray(out, 15 * L);
        reduce(out, R * T);
    }

    private static void q8x4x2(byte[] b, int rb, float[] x, int xo, int k, float[] out) {
        FloatVector z = FloatVector.zero(F), a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
        int x1 = xo + k, nb = k / 32;
        for (int bi = 0, p = 0; bi < nb; bi++, p += 34) {
            FloatVector d0 = FloatVector.broadcast(F, h16(b, p)), d1 = FloatVector.broadcast(F, h16(b, rb + p));
            FloatVector d2 = FloatVector.broadcast(F, h16(b, 2 * rb + p)), d3 = FloatVector.broadcast(F, h16(b, 3 * rb + p));
            for (int j = 0; j < 32; j += L) {
                int i = 32 * bi + j, q = p + 2 + j;
                FloatVector w0 = ((FloatVector) ByteVector.fromArray(BL, b, q).convertShape(VectorOperators.B2F, F, 0)).mul(d0);
                FloatVector w1 = ((FloatVector) ByteVector.fromArray(BL, b, rb + q).convertShape(VectorOperators.B2F, F, 0)).mul(d1);
                FloatVector w2 = ((FloatVector) ByteVector.fromArray(BL, b, 2 * rb + q).convertShape(VectorOperators.B2F, F, 0)).mul(d2);
                FloatVector w3 = ((FloatVector) ByteVector.fromArray(BL, b, 3 * rb + q).convertShape(VectorOperators.B2F, F, 0)).mul(d3);
                FloatVector v = FloatVector.fromArray(F, x, xo + i), u = FloatVector.fromArray(F, x, x1 + i);
                a00 = w0.fma(v, a00); a10 = w1.fma(v, a10); a20 = w2.fma(v, a20); a30 = w3.fma(v, a30);
                a01 = w0.fma(u, a01); a11 = w1.fma(u, a11); a21 = w2.fma(u, a21); a31 = w3.fma(u, a31);
            }
        }
        a00.intoArray(out, 0); a01.intoArray(out, L); a10.intoArray(out, 2 * L); a11.intoArray(out, 3 * L);
        a20.intoArray(out, 4 * L); a21.intoArray(out, 5 * L); a30.intoArray(out, 6 * L); a31.intoArray(out, 7 * L);
        reduce(out, 2 * R);
    }

    private static void q8x4x1(byte[] b, int rb, float[] x, int xo, int k, float[] out) {
        FloatVector z = FloatVector.zero(F), a0 = z, a1 = z, a2 = z, a3 = z;
        int nb = k / 32;
        for (int bi = 0, p = 0; bi < nb; bi++, p += 34) {
            FloatVector d0 = FloatVector.broadcast(F, h16(b, p)), d1 = FloatVector.broadcast(F, h16(b, rb + p));
            FloatVector d2 = FloatVector.broadcast(F, h16(b, 2 * rb + p)), d3 = FloatVector.broadcast(F, h16(b, 3 * rb + p));
            for (int j = 0; j < 32; j += L) {
                int q = p + 2 + j;
                FloatVector v = FloatVector.fromArray(F, x, xo + 32 * bi + j);
                a0 = ((FloatVector) ByteVector.fromArray(BL, b, q).convertShape(VectorOperators.B2F, F, 0)).mul(d0).fma(v, a0);
                a1 = ((FloatVector) ByteVector.fromArray(BL, b, rb + q).convertShape(VectorOperators.B2F, F, 0)).mul(d1).fma(v, a1);
                a2 = ((FloatVector) ByteVector.fromArray(BL, b, 2 * rb + q).convertShape(VectorOperators.B2F, F, 0)).mul(d2).fma(v, a2);
                a3 = ((FloatVector) ByteVector.fromArray(BL, b, 3 * rb + q).convertShape(VectorOperators.B2F, F, 0)).mul(d3).fma(v, a3);
            }
        }
        a0.intoArray(out, 0); a1.intoArray(out, L); a2.intoArray(out, 2 * L); a3.intoArray(out, 3 * L);
        reduce(out, R);
    }

    /**
     * F32 weights in native memory (a mapped file) times one token: the 4 rows of a group read in place, without the
     * copy {@link #bufferedRows} makes for its tiles (one token cannot pay for it), in {@link #f32x4x1}'s order, so
     * the same bits as the buffered path and as any m.
     */
    private static void f32Rows(MemorySegment seg, float[] y, int yOff, float[] x, int xOff, Matrix w, boolean accumulate,
                                int r0, int r1, float[] out) {
        int k = w.cols(), kv = k - k % L;
        long rb = 4L * k;
        for (int r = r0; r < r1; r += R) {
            f32x4x1(seg, rb * row(r, 0, r1), rb * row(r, 1, r1), rb * row(r, 2, r1), rb * row(r, 3, r1), x, xOff, kv, out);
            store(y, yOff, x, xOff, 1, w, accumulate, r, r1, 0, 1, out);
        }
    }

    /** Any 16-bit weight: the group's rows widened exactly into a float buffer ({@link WeightRows}), then the F32 tiles. */
    private static void bufferedRows(float[] y, int yOff, float[] x, int xOff, int m, Matrix w, boolean accumulate,
                                     int r0, int r1, float[] out, Scratch s) {
        int k = w.cols(), kv = k - k % L;
        float[] wb = s.get(1, R * k);
        for (int r = r0; r < r1; r += R) {
            for (int j = 0; j < R; j++) {
                if (r + j < r1) WeightRows.decode(w, r + j, 0, k, wb, j * k);
                else System.arraycopy(wb, (r1 - 1 - r) * k, wb, j * k, k);
            }
            int t = 0;
            for (; t + T <= m; t += T) {
                f32x4x4(wb, k, x, xOff + t * k, kv, out);
                store(y, yOff, x, xOff, m, w, accumulate, r, r1, t, T, out);
            }
            for (; t + 2 <= m; t += 2) {
                f32x4x2(wb, k, x, xOff + t * k, kv, out);
                store(y, yOff, x, xOff, m, w, accumulate, r, r1, t, 2, out);
            }
            for (; t < m; t++) {
                f32x4x1(wb, k, x, xOff + t * k, kv, out);
                store(y, yOff, x, xOff, m, w, accumulate, r, r1, t, 1, out);
            }
        }
    }

    /**
     * Writes the tile's sums out[j * tokens + i] (row r + j, token t + i; the k mod L tail added here) to y for the
     * rows inside [r, r1).
     */
    private static void store(float[] y, int yOff, float[] x, int xOff, int m, Matrix w, boolean accumulate,
                              int r, int r1, int t, int tokens, float[] out) {
        int n = w.rows(), k = w.cols(), kv = k - k % L;
        int rr = Math.min(R, r1 - r);
        for (int j = 0; j < rr; j++)
            for (int i = 0; i < tokens; i++) {
                float v = out[j * tokens + i];
                if (kv < k) v = tail(w, r + j, x, xOff + (t + i) * k, kv, k, v);
                int yi = yOff + (t + i) * n + r + j;
                y[yi] = accumulate ? y[yi] + v : v;
            }
    }

    /** s plus the products of columns [kv, k) of row r, one by one in float. */
    private static float tail(Matrix w, int r, float[] x, int xo, int kv, int k, float s) {
        MemorySegment seg = w.data();
        long base = (long) r * k;
        if (w.dtype() == DType.F32) {
            for (int c = kv; c < k; c++) s += seg.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, base + c) * x[xo + c];
            return s;
        }
        boolean bf = w.dtype() == DType.BF16;
        for (int c = kv; c < k; c++) {
            short h = seg.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, base + c);
            float wv = bf ? Float.intBitsToFloat((h & 0xFFFF) << 16) : Float.float16ToFloat(h);
            s += wv * x[xo + c];
        }
        return s;
    }

    /**
     * Index vectors of the lane tree for {@link #reduce}: step s (half-width h = L >> (s + 1)) takes two vectors
     * holding 2^s accumulators each (segments of 2h lanes) to one holding 2^(s+1) (segments of h lanes); lane g * h + j
     * of the output adds lane j (LO) and lane j + h (HI) of segment g (segments of the first vector, then the second).
     */
    private static final float[] TREE = tree();

    private static float[] tree() {
        int steps = Integer.numberOfTrailingZeros(L);
        float[] t = new float[2 * steps * L];
        for (int s = 0; s < steps; s++) {
            int h = L >> (s + 1), segs = 1 << s;
            for (int g = 0; g < 2 * segs; g++)
                for (int j = 0; j < h; j++) {
                    int src = (g < segs ? 0 : L) + (g % segs) * 2 * h + j;
                    t[2 * s * L + g * h + j] = src;
                    t[(2 * s + 1) * L + g * h + j] = src + h;
                }
        }
        return t;
    }

    /**
     * {@link #reduce} by the two-vector shuffles of {@link #TREE} when the system property {@code jseek.treePairs} is
     * true; by default one vector at a time ({@link #reduceEach}), the same additions: the two-vector form measured
     * slower here (a BF16 decode of the small model spent as much time in it as in the products).
     */
    static final boolean TREE_PAIRS = Boolean.getBoolean("jseek.treePairs");

    /** Shuffles of the lane tree for one vector: step s moves lane j + (L >> (s + 1)) to lane j. */
    private static final jdk.incubator.vector.VectorShuffle<Float>[] HALVES = halves();

    @SuppressWarnings("unchecked")
    private static jdk.incubator.vector.VectorShuffle<Float>[] halves() {
        int steps = Integer.numberOfTrailingZeros(L);
        jdk.incubator.vector.VectorShuffle<Float>[] h = new jdk.incubator.vector.VectorShuffle[steps];
        for (int st = 0; st < steps; st++) {
            int half = L >> (st + 1);
            h[st] = jdk.incubator.vector.VectorShuffle.fromOp(F, j -> (j + half) % L);
        }
        return h;
    }

    /**
     * {@link #reduce}'s result, each accumulator on its own: lanes j < h get lane j + lane j + h for h = L/2, L/4, ...,
     * 1 (the scalar tree's additions, lane for lane), then lane 0 is the sum. Writes a[c] after vector c is read (a[c]
     * lies in a vector already read).
     */
    static void reduceEach(float[] a, int count) {
        for (int c = 0; c < count; c++) a[c] = tree(FloatVector.fromArray(F, a, c * L));
    }

    /**
     * The sum of v's lanes by the pairwise tree: lanes j < h get lane j + lane j + h for h = L/2, L/4, ..., 1, then
     * lane 0 ({@link dev.jseek.kernels.scalar.ScalarHalfGemv} and {@link dev.jseek.kernels.scalar.ScalarQuantGemv}
     * compute these additions in scalar code). Also the Q8_0 kernels' row sum ({@link QuantGemv#laneSum}).
     */
    static float tree(FloatVector v) {
        for (jdk.incubator.vector.VectorShuffle<Float> h : HALVES) v = v.add(v.rearrange(h));
        return v.lane(0);
    }

    /**
     * a[0 .. count * L) holds count vector accumulators; leaves in a[0 .. count) the sum of each one's lanes by the
     * pairwise tree (lane i += lane i + L/2, then + L/4, ..., lane 0), all count trees at once: each step pairs
     * vectors and adds two two-vector shuffles of them, lane for lane the scalar tree's additions. count is a power
     * of two.
     */
    static void reduce(float[] a, int count) {
        if (!TREE_PAIRS) {
            reduceEach(a, count);
            return;
        }
        int vecs = count;
        for (int s = 0, at = 0; at + 2 * L <= TREE.length; s++, at += 2 * L) {
            FloatVector lo = FloatVector.fromArray(F, TREE, at), hi = FloatVector.fromArray(F, TREE, at + L);
            int pairs = (vecs + 1) / 2;
            for (int p = 0; p < pairs; p++) {
                FloatVector u = FloatVector.fromArray(F, a, 2 * p * L);
                FloatVector v = 2 * p + 1 < vecs ? FloatVector.fromArray(F, a, (2 * p + 1) * L) : u;
                lo.selectFrom(u, v).add(hi.selectFrom(u, v)).intoArray(a, p * L);
            }
            vecs = pairs;
        }
    }

    /**
     * y[yOff + c] = Σ_p x[xOff + p] w[r0 + p][c] for c < w.cols() and p < n (the rows r0..r0+n-1 of w, transposed,
     * times x: MLA's q_abs = W_UK^T q_nope): each y[c] from zero by one {@link Math#fma} per p, p ascending, exactly
     * as decoding row after row and adding x[p] times it to y would. For native BF16/F16/F32 weights 4 vectors of y
     * stay in registers while the n rows stream past (no decoded row, no pass over y per row); other storage decodes
     * each row ({@link WeightRows#decode}) into {@code row} and adds it. Same bits either way
     * ({@link dev.jseek.kernels.scalar.ScalarHalfGemv#transposedRows}).
     */
    static void transposedRows(float[] y, int yOff, float[] x, int xOff, Matrix w, int r0, int n, float[] row) {
        int k = w.cols();
        MemorySegment seg = w.data();
        DType t = w.dtype();
        if (seg.heapBase().isPresent() || !(t == DType.BF16 || t == DType.F16 || t == DType.F32)) {
            java.util.Arrays.fill(y, yOff, yOff + k, 0f);
            for (int p = 0; p < n; p++) {
                WeightRows.decode(w, r0 + p, 0, k, row, 0);
                FloatVector a = FloatVector.broadcast(F, x[xOff + p]);
                int c = 0;
                for (; c + L <= k; c += L) a.fma(FloatVector.fromArray(F, row, c), FloatVector.fromArray(F, y, yOff + c)).intoArray(y, yOff + c);
                for (; c < k; c++) y[yOff + c] = Math.fma(x[xOff + p], row[c], y[yOff + c]);
            }
            return;
        }
        int c = 0;
        for (; c + 4 * L <= k; c += 4 * L) {
            FloatVector z = FloatVector.zero(F), a0 = z, a1 = z, a2 = z, a3 = z;
            long e = (long) r0 * k + c;
            for (int p = 0; p < n; p++, e += k) {
                FloatVector b = FloatVector.broadcast(F, x[xOff + p]);
                if (t == DType.BF16) {
                    a0 = b.fma(Vec.loadBf16(seg, e), a0); a1 = b.fma(Vec.loadBf16(seg, e + L), a1);
                    a2 = b.fma(Vec.loadBf16(seg, e + 2 * L), a2); a3 = b.fma(Vec.loadBf16(seg, e + 3 * L), a3);
                } else if (t == DType.F32) {
                    a0 = b.fma(Vec.loadF32(seg, e), a0); a1 = b.fma(Vec.loadF32(seg, e + L), a1);
                    a2 = b.fma(Vec.loadF32(seg, e + 2 * L), a2); a3 = b.fma(Vec.loadF32(seg, e + 3 * L), a3);
                } else {
                    a0 = b.fma(Vec.loadF16(seg, e), a0); a1 = b.fma(Vec.loadF16(seg, e + L), a1);
                    a2 = b.fma(Vec.loadF16(seg, e + 2 * L), a2); a3 = b.fma(Vec.loadF16(seg, e + 3 * L), a3);
                }
            }
            a0.intoArray(y, yOff + c); a1.intoArray(y, yOff + c + L); a2.intoArray(y, yOff + c + 2 * L); a3.intoArray(y, yOff + c + 3 * L);
        }
        for (; c + L <= k; c += L) {
            FloatVector a = FloatVector.zero(F);
            long e = (long) r0 * k + c;
            for (int p = 0; p < n; p++, e += k) {
                FloatVector b = FloatVector.broadcast(F, x[xOff + p]);
                a = b.fma(t == DType.BF16 ? Vec.loadBf16(seg, e) : t == DType.F32 ? Vec.loadF32(seg, e) : Vec.loadF16(seg, e), a);
            }
            a.intoArray(y, yOff + c);
        }
        for (; c < k; c++) {
            float a = 0f;
            for (int p = 0; p < n; p++) {
                long e = (long) (r0 + p) * k + c;
                float wv = t == DType.F32 ? seg.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, e)
                        : t == DType.BF16 ? Float.intBitsToFloat((seg.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, e) & 0xFFFF) << 16)
                        : Float.float16ToFloat(seg.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, e));
                a = Math.fma(x[xOff + p], wv, a);
            }
            y[yOff + c] = a;
        }
    }

    private static FloatVector bf16(MemorySegment s, long byteOff) {
        ShortVector h = ShortVector.fromMemorySegment(S, s, byteOff, Vec.LE);
        return ((IntVector) h.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    private static FloatVector bf16(short[] a, int idx) {
        ShortVector h = ShortVector.fromArray(S, a, idx);
        return ((IntVector) h.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    // ---- 4 rows x 4 tokens: 16 accumulators; afterwards out[j * T + i] = row j, token i ----

    private static void bf16x4x4(MemorySegment s, long p0, long p1, long p2, long p3, float[] x, int xo, int k, int kv, float[] out) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z;
        FloatVector a20 = z, a21 = z, a22 = z, a23 = z, a30 = z, a31 = z, a32 = z, a33 = z;
        int x1 = xo + k, x2 = x1 + k, x3 = x2 + k;
        for (int i = 0; i < kv; i += L) {
            long o = 2L * i;
            FloatVector w0 = bf16(s, p0 + o), w1 = bf16(s, p1 + o), w2 = bf16(s, p2 + o), w3 = bf16(s, p3 + o);
            FloatVector v = FloatVector.fromArray(F, x, xo + i);
            a00 = w0.fma(v, a00); a10 = w1.fma(v, a10); a20 = w2.fma(v, a20); a30 = w3.fma(v, a30);
            v = FloatVector.fromArray(F, x, x1 + i);
            a01 = w0.fma(v, a01); a11 = w1.fma(v, a11); a21 = w2.fma(v, a21); a31 = w3.fma(v, a31);
            v = FloatVector.fromArray(F, x, x2 + i);
            a02 = w0.fma(v, a02); a12 = w1.fma(v, a12); a22 = w2.fma(v, a22); a32 = w3.fma(v, a32);
            v = FloatVector.fromArray(F, x, x3 + i);
            a03 = w0.fma(v, a03); a13 = w1.fma(v, a13); a23 = w2.fma(v, a23); a33 = w3.fma(v, a33);
        }
        a00.intoArray(out, 0); a01.intoArray(out, L); a02.intoArray(out, 2 * L); a03.intoArray(out, 3 * L);
        a10.intoArray(out, 4 * L); a11.intoArray(out, 5 * L); a12.intoArray(out, 6 * L); a13.intoArray(out, 7 * L);
        a20.intoArray(out, 8 * L); a21.intoArray(out, 9 * L); a22.intoArray(out, 10 * L); a23.intoArray(out, 11 * L);
        a30.intoArray(out, 12 * L); a31.intoArray(out, 13 * L); a32.intoArray(out, 14 * L); a33.intoArray(out, 15 * L);
        reduce(out, R * T);
    }

    private static void bf16x4x4(short[] a, int p0, int p1, int p2, int p3, float[] x, int xo, int k, int kv, float[] out) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z;
        FloatVector a20 = z, a21 = z, a22 = z, a23 = z, a30 = z, a31 = z, a32 = z, a33 = z;
        int x1 = xo + k, x2 = x1 + k, x3 = x2 + k;
        for (int i = 0; i < kv; i += L) {
            FloatVector w0 = bf16(a, p0 + i), w1 = bf16(a, p1 + i), w2 = bf16(a, p2 + i), w3 = bf16(a, p3 + i);
            FloatVector v = FloatVector.fromArray(F, x, xo + i);
            a00 = w0.fma(v, a00); a10 = w1.fma(v, a10); a20 = w2.fma(v, a20); a30 = w3.fma(v, a30);
            v = FloatVector.fromArray(F, x, x1 + i);
            a01 = w0.fma(v, a01); a11 = w1.fma(v, a11); a21 = w2.fma(v, a21); a31 = w3.fma(v, a31);
            v = FloatVector.fromArray(F, x, x2 + i);
            a02 = w0.fma(v, a02); a12 = w1.fma(v, a12); a22 = w2.fma(v, a22); a32 = w3.fma(v, a32);
            v = FloatVector.fromArray(F, x, x3 + i);
            a03 = w0.fma(v, a03); a13 = w1.fma(v, a13); a23 = w2.fma(v, a23); a33 = w3.fma(v, a33);
        }
        a00.intoArray(out, 0); a01.intoArray(out, L); a02.intoArray(out, 2 * L); a03.intoArray(out, 3 * L);
        a10.intoArray(out, 4 * L); a11.intoArray(out, 5 * L); a12.intoArray(out, 6 * L); a13.intoArray(out, 7 * L);
        a20.intoArray(out, 8 * L); a21.intoArray(out, 9 * L); a22.intoArray(out, 10 * L); a23.intoArray(out, 11 * L);
        a30.intoArray(out, 12 * L); a31.intoArray(out, 13 * L); a32.intoArray(out, 14 * L); a33.intoArray(out, 15 * L);
        reduce(out, R * T);
    }

    /** Rows j of wb at j * ld (floats). */
    private static void f32x4x4(float[] wb, int ld, float[] x, int xo, int kv, float[] out) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z;
        FloatVector a20 = z, a21 = z, a22 = z, a23 = z, a30 = z, a31 = z, a32 = z, a33 = z;
        int k = ld, x1 = xo + k, x2 = x1 + k, x3 = x2 + k;
        for (int i = 0; i < kv; i += L) {
            FloatVector w0 = FloatVector.fromArray(F, wb, i), w1 = FloatVector.fromArray(F, wb, ld + i);
            FloatVector w2 = FloatVector.fromArray(F, wb, 2 * ld + i), w3 = FloatVector.fromArray(F, wb, 3 * ld + i);
            FloatVector v = FloatVector.fromArray(F, x, xo + i);
            a00 = w0.fma(v, a00); a10 = w1.fma(v, a10); a20 = w2.fma(v, a20); a30 = w3.fma(v, a30);
            v = FloatVector.fromArray(F, x, x1 + i);
            a01 = w0.fma(v, a01); a11 = w1.fma(v, a11); a21 = w2.fma(v, a21); a31 = w3.fma(v, a31);
            v = FloatVector.fromArray(F, x, x2 + i);
            a02 = w0.fma(v, a02); a12 = w1.fma(v, a12); a22 = w2.fma(v, a22); a32 = w3.fma(v, a32);
            v = FloatVector.fromArray(F, x, x3 + i);
            a03 = w0.fma(v, a03); a13 = w1.fma(v, a13); a23 = w2.fma(v, a23); a33 = w3.fma(v, a33);
        }
        a00.intoArray(out, 0); a01.intoArray(out, L); a02.intoArray(out, 2 * L); a03.intoArray(out, 3 * L);
        a10.intoArray(out, 4 * L); a11.intoArray(out, 5 * L); a12.intoArray(out, 6 * L); a13.intoArray(out, 7 * L);
        a20.intoArray(out, 8 * L); a21.intoArray(out, 9 * L); a22.intoArray(out, 10 * L); a23.intoArray(out, 11 * L);
        a30.intoArray(out, 12 * L); a31.intoArray(out, 13 * L); a32.intoArray(out, 14 * L); a33.intoArray(out, 15 * L);
        reduce(out, R * T);
    }

    // ---- 4 rows x 3 tokens: 12 accumulators; afterwards out[j * 3 + i] = row j, token i ----

    /**
     * Whether the last 3 tokens of a BF16 product (m = 3, 7, 11, ...: a batched decode step's experts often get 3 rows)
     * run as one 4-row x 3-token tile instead of a 4x2 tile and then a 4x1 pass over the same rows: the same fused
     * multiply-adds per (row, token) in the same order, so the same bits, with one pass over the group and 12
     * independent accumulators instead of 8 and then 4 (system property {@code jseek.tile3}, default false: not shown to win yet;
     * docs/serving.md, "Where a 16-sequence decode step goes").
     */
    static final boolean TILE3 = Boolean.parseBoolean(System.getProperty("jseek.tile3", "false"));

    private static void bf16x4x3(MemorySegment s, long p0, long p1, long p2, long p3, float[] x, int xo, int k, int kv, float[] out) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a02 = z, a10 = z, a11 = z, a12 = z, a20 = z, a21 = z, a22 = z, a30 = z, a31 = z, a32 = z;
        int x1 = xo + k, x2 = x1 + k;
        for (int i = 0; i < kv; i += L) {
            long o = 2L * i;
            FloatVector w0 = bf16(s, p0 + o), w1 = bf16(s, p1 + o), w2 = bf16(s, p2 + o), w3 = bf16(s, p3 + o);
            FloatVector v = FloatVector.fromArray(F, x, xo + i);
            a00 = w0.fma(v, a00); a10 = w1.fma(v, a10); a20 = w2.fma(v, a20); a30 = w3.fma(v, a30);
            v = FloatVector.fromArray(F, x, x1 + i);
            a01 = w0.fma(v, a01); a11 = w1.fma(v, a11); a21 = w2.fma(v, a21); a31 = w3.fma(v, a31);
            v = FloatVector.fromArray(F, x, x2 + i);
            a02 = w0.fma(v, a02); a12 = w1.fma(v, a12); a22 = w2.fma(v, a22); a32 = w3.fma(v, a32);
        }
        a00.intoArray(out, 0); a01.intoArray(out, L); a02.intoArray(out, 2 * L);
        a10.intoArray(out, 3 * L); a11.intoArray(out, 4 * L); a12.intoArray(out, 5 * L);
        a20.intoArray(out, 6 * L); a21.intoArray(out, 7 * L); a22.intoArray(out, 8 * L);
        a30.intoArray(out, 9 * L); a31.intoArray(out, 10 * L); a32.intoArray(out, 11 * L);
        reduceEach(out, 3 * R);
    }

    private static void bf16x4x3(short[] a, int p0, int p1, int p2, int p3, float[] x, int xo, int k, int kv, float[] out) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a02 = z, a10 = z, a11 = z, a12 = z, a20 = z, a21 = z, a22 = z, a30 = z, a31 = z, a32 = z;
        int x1 = xo + k, x2 = x1 + k;
        for (int i = 0; i < kv; i += L) {
            FloatVector w0 = bf16(a, p0 + i), w1 = bf16(a, p1 + i), w2 = bf16(a, p2 + i), w3 = bf16(a, p3 + i);
            FloatVector v = FloatVector.fromArray(F, x, xo + i);
            a00 = w0.fma(v, a00); a10 = w1.fma(v, a10); a20 = w2.fma(v, a20); a30 = w3.fma(v, a30);
            v = FloatVector.fromArray(F, x, x1 + i);
            a01 = w0.fma(v, a01); a11 = w1.fma(v, a11); a21 = w2.fma(v, a21); a31 = w3.fma(v, a31);
            v = FloatVector.fromArray(F, x, x2 + i);
            a02 = w0.fma(v, a02); a12 = w1.fma(v, a12); a22 = w2.fma(v, a22); a32 = w3.fma(v, a32);
        }
        a00.intoArray(out, 0); a01.intoArray(out, L); a02.intoArray(out, 2 * L);
        a10.intoArray(out, 3 * L); a11.intoArray(out, 4 * L); a12.intoArray(out, 5 * L);
        a20.intoArray(out, 6 * L); a21.intoArray(out, 7 * L); a22.intoArray(out, 8 * L);
        a30.intoArray(out, 9 * L); a31.intoArray(out, 10 * L); a32.intoArray(out, 11 * L);
        reduceEach(out, 3 * R);
    }

    // ---- 4 rows x 2 tokens: 8 accumulators; afterwards out[j * 2 + i] = row j, token i ----

    private static void bf16x4x2(MemorySegment s, long p0, long p1, long p2, long p3, float[] x, int xo, int k, int kv, float[] out) {
        FloatVector z = FloatVector.zero(F), a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
        int x1 = xo + k;
        for (int i = 0; i < kv; i += L) {
            long o = 2L * i;
            FloatVector w0 = bf16(s, p0 + o), w1 = bf16(s, p1 + o), w2 = bf16(s, p2 + o), w3 = bf16(s, p3 + o);
            FloatVector v = FloatVector.fromArray(F, x, xo + i), u = FloatVector.fromArray(F, x, x1 + i);
            a00 = w0.fma(v, a00); a10 = w1.fma(v, a10); a20 = w2.fma(v, a20); a30 = w3.fma(v, a30);
            a01 = w0.fma(u, a01); a11 = w1.fma(u, a11); a21 = w2.fma(u, a21); a31 = w3.fma(u, a31);
        }
        a00.intoArray(out, 0); a01.intoArray(out, L); a10.intoArray(out, 2 * L); a11.intoArray(out, 3 * L);
        a20.intoArray(out, 4 * L); a21.intoArray(out, 5 * L); a30.intoArray(out, 6 * L); a31.intoArray(out, 7 * L);
        reduce(out, 2 * R);
    }

    private static void bf16x4x2(short[] a, int p0, int p1, int p2, int p3, float[] x, int xo, int k, int kv, float[] out) {
        FloatVector z = FloatVector.zero(F), a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
        int x1 = xo + k;
        for (int i = 0; i < kv; i += L) {
            FloatVector w0 = bf16(a, p0 + i), w1 = bf16(a, p1 + i), w2 = bf16(a, p2 + i), w3 = bf16(a, p3 + i);
            FloatVector v = FloatVector.fromArray(F, x, xo + i), u = FloatVector.fromArray(F, x, x1 + i);
            a00 = w0.fma(v, a00); a10 = w1.fma(v, a10); a20 = w2.fma(v, a20); a30 = w3.fma(v, a30);
            a01 = w0.fma(u, a01); a11 = w1.fma(u, a11); a21 = w2.fma(u, a21); a31 = w3.fma(u, a31);
        }
        a00.intoArray(out, 0); a01.intoArray(out, L); a10.intoArray(out, 2 * L); a11.intoArray(out, 3 * L);
        a20.intoArray(out, 4 * L); a21.intoArray(out, 5 * L); a30.intoArray(out, 6 * L); a31.intoArray(out, 7 * L);
        reduce(out, 2 * R);
    }

    private static void f32x4x2(float[] wb, int ld, float[] x, int xo, int kv, float[] out) {
        FloatVector z = FloatVector.zero(F), a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
        int x1 = xo + ld;
        for (int i = 0; i < kv; i += L) {
            FloatVector w0 = FloatVector.fromArray(F, wb, i), w1 = FloatVector.fromArray(F, wb, ld + i);
            FloatVector w2 = FloatVector.fromArray(F, wb, 2 * ld + i), w3 = FloatVector.fromArray(F, wb, 3 * ld + i);
            FloatVector v = FloatVector.fromArray(F, x, xo + i), u = FloatVector.fromArray(F, x, x1 + i);
            a00 = w0.fma(v, a00); a10 = w1.fma(v, a10); a20 = w2.fma(v, a20); a30 = w3.fma(v, a30);
            a01 = w0.fma(u, a01); a11 = w1.fma(u, a11); a21 = w2.fma(u, a21); a31 = w3.fma(u, a31);
        }
        a00.intoArray(out, 0); a01.intoArray(out, L); a10.intoArray(out, 2 * L); a11.intoArray(out, 3 * L);
        a20.intoArray(out, 4 * L); a21.intoArray(out, 5 * L); a30.intoArray(out, 6 * L); a31.intoArray(out, 7 * L);
        reduce(out, 2 * R);
    }

    // ---- 1 row x 2..4 tokens, the 4 rows of a group one after another; afterwards out[j * tokens + i] = row j, token i ----

    /**
     * BF16 products of 2 to 4 tokens over rows of at most this many columns read each 4-row group as one sequential
     * stream, row after row, each row with all m tokens' accumulators (a 1-row x m-token tile): the same fused
     * multiply-adds in the same order per (row, token) as the 4-row tiles, so the same bits, but one stream through
     * memory instead of 4 streams a row apart (short rows: 4 streams of 1 KiB are too short for the prefetchers), at
     * the cost of fewer independent FMA chains (m instead of 4 m), which long rows and more tokens cannot afford.
     * System property {@code jseek.seqTilesMaxK}, default 0 (never: not shown to win inside the model yet; 1024 takes the
     * 1.5B model's expert down projections and q_b); docs/serving.md, "Where a 16-sequence decode step goes".
     */
    static final int SEQ_TILES_MAX_K = Integer.getInteger("jseek.seqTilesMaxK", 0);

    private static void bf16Seq(MemorySegment s, long p0, long p1, long p2, long p3, float[] x, int xo, int k, int kv,
                                int tokens, float[] out) {
        switch (tokens) {
            case 2 -> {
                bf16x1x2(s, p0, x, xo, k, kv, out, 0); bf16x1x2(s, p1, x, xo, k, kv, out, 2 * L);
                bf16x1x2(s, p2, x, xo, k, kv, out, 4 * L); bf16x1x2(s, p3, x, xo, k, kv, out, 6 * L);
            }
            case 3 -> {
                bf16x1x3(s, p0, x, xo, k, kv, out, 0); bf16x1x3(s, p1, x, xo, k, kv, out, 3 * L);
                bf16x1x3(s, p2, x, xo, k, kv, out, 6 * L); bf16x1x3(s, p3, x, xo, k, kv, out, 9 * L);
            }
            default -> {
                bf16x1x4(s, p0, x, xo, k, kv, out, 0); bf16x1x4(s, p1, x, xo, k, kv, out, 4 * L);
                bf16x1x4(s, p2, x, xo, k, kv, out, 8 * L); bf16x1x4(s, p3, x, xo, k, kv, out, 12 * L);
            }
        }
        if (tokens == 3) reduceEach(out, R * tokens);        // reduce's two-vector form wants a power of two
        else reduce(out, R * tokens);
    }

    private static void bf16x1x2(MemorySegment s, long p, float[] x, int xo, int k, int kv, float[] out, int o) {
        FloatVector z = FloatVector.zero(F), a0 = z, a1 = z;
        int x1 = xo + k;
        for (int i = 0; i < kv; i += L) {
            FloatVector w = bf16(s, p + 2L * i);
            a0 = w.fma(FloatVector.fromArray(F, x, xo + i), a0);
            a1 = w.fma(FloatVector.fromArray(F, x, x1 + i), a1);
        }
        a0.intoArray(out, o); a1.intoArray(out, o + L);
    }

    private static void bf16x1x3(MemorySegment s, long p, float[] x, int xo, int k, int kv, float[] out, int o) {
        FloatVector z = FloatVector.zero(F), a0 = z, a1 = z, a2 = z;
        int x1 = xo + k, x2 = x1 + k;
        for (int i = 0; i < kv; i += L) {
            FloatVector w = bf16(s, p + 2L * i);
            a0 = w.fma(FloatVector.fromArray(F, x, xo + i), a0);
            a1 = w.fma(FloatVector.fromArray(F, x, x1 + i), a1);
            a2 = w.fma(FloatVector.fromArray(F, x, x2 + i), a2);
        }
        a0.intoArray(out, o); a1.intoArray(out, o + L); a2.intoArray(out, o + 2 * L);
    }

    private static void bf16x1x4(MemorySegment s, long p, float[] x, int xo, int k, int kv, float[] out, int o) {
        FloatVector z = FloatVector.zero(F), a0 = z, a1 = z, a2 = z, a3 = z;
        int x1 = xo + k, x2 = x1 + k, x3 = x2 + k;
        for (int i = 0; i < kv; i += L) {
            FloatVector w = bf16(s, p + 2L * i);
            a0 = w.fma(FloatVector.fromArray(F, x, xo + i), a0);
            a1 = w.fma(FloatVector.fromArray(F, x, x1 + i), a1);
            a2 = w.fma(FloatVector.fromArray(F, x, x2 + i), a2);
            a3 = w.fma(FloatVector.fromArray(F, x, x3 + i), a3);
        }
        a0.intoArray(out, o); a1.intoArray(out, o + L); a2.intoArray(out, o + 2 * L); a3.intoArray(out, o + 3 * L);
    }

    private static void bf16Seq(short[] a, int p0, int p1, int p2, int p3, float[] x, int xo, int k, int kv,
                                int tokens, float[] out) {
        switch (tokens) {
            case 2 -> {
                bf16x1x2(a, p0, x, xo, k, kv, out, 0); bf16x1x2(a, p1, x, xo, k, kv, out, 2 * L);
                bf16x1x2(a, p2, x, xo, k, kv, out, 4 * L); bf16x1x2(a, p3, x, xo, k, kv, out, 6 * L);
            }
            case 3 -> {
                bf16x1x3(a, p0, x, xo, k, kv, out, 0); bf16x1x3(a, p1, x, xo, k, kv, out, 3 * L);
                bf16x1x3(a, p2, x, xo, k, kv, out, 6 * L); bf16x1x3(a, p3, x, xo, k, kv, out, 9 * L);
            }
            default -> {
                bf16x1x4(a, p0, x, xo, k, kv, out, 0); bf16x1x4(a, p1, x, xo, k, kv, out, 4 * L);
                bf16x1x4(a, p2, x, xo, k, kv, out, 8 * L); bf16x1x4(a, p3, x, xo, k, kv, out, 12 * L);
            }
        }
        if (tokens == 3) reduceEach(out, R * tokens);        // reduce's two-vector form wants a power of two
        else reduce(out, R * tokens);
    }

    private static void bf16x1x2(short[] a, int p, float[] x, int xo, int k, int kv, float[] out, int o) {
        FloatVector z = FloatVector.zero(F), a0 = z, a1 = z;
        int x1 = xo + k;
        for (int i = 0; i < kv; i += L) {
            FloatVector w = bf16(a, p + i);
            a0 = w.fma(FloatVector.fromArray(F, x, xo + i), a0);
            a1 = w.fma(FloatVector.fromArray(F, x, x1 + i), a1);
        }
        a0.intoArray(out, o); a1.intoArray(out, o + L);
    }

    private static void bf16x1x3(short[] a, int p, float[] x, int xo, int k, int kv, float[] out, int o) {
        FloatVector z = FloatVector.zero(F), a0 = z, a1 = z, a2 = z;
        int x1 = xo + k, x2 = x1 + k;
        for (int i = 0; i < kv; i += L) {
            FloatVector w = bf16(a, p + i);
            a0 = w.fma(FloatVector.fromArray(F, x, xo + i), a0);
            a1 = w.fma(FloatVector.fromArray(F, x, x1 + i), a1);
            a2 = w.fma(FloatVector.fromArray(F, x, x2 + i), a2);
        }
        a0.intoArray(out, o); a1.intoArray(out, o + L); a2.intoArray(out, o + 2 * L);
    }

    private static void bf16x1x4(short[] a, int p, float[] x, int xo, int k, int kv, float[] out, int o) {
        FloatVector z = FloatVector.zero(F), a0 = z, a1 = z, a2 = z, a3 = z;
        int x1 = xo + k, x2 = x1 + k, x3 = x2 + k;
        for (int i = 0; i < kv; i += L) {
            FloatVector w = bf16(a, p + i);
            a0 = w.fma(FloatVector.fromArray(F, x, xo + i), a0);
            a1 = w.fma(FloatVector.fromArray(F, x, x1 + i), a1);
            a2 = w.fma(FloatVector.fromArray(F, x, x2 + i), a2);
            a3 = w.fma(FloatVector.fromArray(F, x, x3 + i), a3);
        }
        a0.intoArray(out, o); a1.intoArray(out, o + L); a2.intoArray(out, o + 2 * L); a3.intoArray(out, o + 3 * L);
    }

    // ---- 4 rows x 1 token: 4 accumulators; afterwards out[j] = row j ----

    /**
     * out[at .. at + L) = the vector accumulator of row p (bytes from p) times x[xo ..]: FMA from zero over the
     * L-wide blocks below kv. Takes and returns no vector (C2 may compile it apart from its caller; a vector crossing
     * a call it does not inline is allocated).
     */
    private static void bf16Dot(MemorySegment s, long p, float[] x, int xo, int kv, float[] out, int at) {
        FloatVector a = FloatVector.zero(F);
        for (int i = 0, step = Vec.rolled(L); i < kv; i += step) a = bf16(s, p + 2L * i).fma(FloatVector.fromArray(F, x, xo + i), a);
        a.intoArray(out, at);
    }

    /** {@link #bf16Dot} for F32 rows. */
    private static void f32Dot(MemorySegment s, long p, float[] x, int xo, int kv, float[] out, int at) {
        FloatVector a = FloatVector.zero(F);
        for (int i = 0, step = Vec.rolled(L); i < kv; i += step) a = FloatVector.fromMemorySegment(F, s, p + 4L * i, Vec.LE).fma(FloatVector.fromArray(F, x, xo + i), a);
        a.intoArray(out, at);
    }

    private static void bf16x4x1(MemorySegment s, long p0, long p1, long p2, long p3, float[] x, int xo, int kv, float[] out) {
        FloatVector z = FloatVector.zero(F), a0 = z, a1 = z, a2 = z, a3 = z;
        for (int i = 0; i < kv; i += L) {
            long o = 2L * i;
            FloatVector v = FloatVector.fromArray(F, x, xo + i);
            a0 = bf16(s, p0 + o).fma(v, a0);
            a1 = bf16(s, p1 + o).fma(v, a1);
            a2 = bf16(s, p2 + o).fma(v, a2);
            a3 = bf16(s, p3 + o).fma(v, a3);
        }
        a0.intoArray(out, 0); a1.intoArray(out, L); a2.intoArray(out, 2 * L); a3.intoArray(out, 3 * L);
        reduce(out, R);
    }

    private static void bf16x4x1(short[] a, int p0, int p1, int p2, int p3, float[] x, int xo, int kv, float[] out) {
        FloatVector z = FloatVector.zero(F), a0 = z, a1 = z, a2 = z, a3 = z;
        for (int i = 0; i < kv; i += L) {
            FloatVector v = FloatVector.fromArray(F, x, xo + i);
            a0 = bf16(a, p0 + i).fma(v, a0);
            a1 = bf16(a, p1 + i).fma(v, a1);
            a2 = bf16(a, p2 + i).fma(v, a2);
            a3 = bf16(a, p3 + i).fma(v, a3);
        }
        a0.intoArray(out, 0); a1.intoArray(out, L); a2.intoArray(out, 2 * L); a3.intoArray(out, 3 * L);
        reduce(out, R);
    }

    private static void f32x4x1(MemorySegment s, long p0, long p1, long p2, long p3, float[] x, int xo, int kv, float[] out) {
        FloatVector z = FloatVector.zero(F), a0 = z, a1 = z, a2 = z, a3 = z;
        for (int i = 0; i < kv; i += L) {
            long o = 4L * i;
            FloatVector v = FloatVector.fromArray(F, x, xo + i);
            a0 = FloatVector.fromMemorySegment(F, s, p0 + o, Vec.LE).fma(v, a0);
            a1 = FloatVector.fromMemorySegment(F, s, p1 + o, Vec.LE).fma(v, a1);
            a2 = FloatVector.fromMemorySegment(F, s, p2 + o, Vec.LE).fma(v, a2);
            a3 = FloatVector.fromMemorySegment(F, s, p3 + o, Vec.LE).fma(v, a3);
        }
        a0.intoArray(out, 0); a1.intoArray(out, L); a2.intoArray(out, 2 * L); a3.intoArray(out, 3 * L);
        reduce(out, R);
    }

    private static void f32x4x1(float[] wb, int ld, float[] x, int xo, int kv, float[] out) {
        FloatVector z = FloatVector.zero(F), a0 = z, a1 = z, a2 = z, a3 = z;
        for (int i = 0; i < kv; i += L) {
            FloatVector v = FloatVector.fromArray(F, x, xo + i);
            a0 = FloatVector.fromArray(F, wb, i).fma(v, a0);
            a1 = FloatVector.fromArray(F, wb, ld + i).fma(v, a1);
            a2 = FloatVector.fromArray(F, wb, 2 * ld + i).fma(v, a2);
            a3 = FloatVector.fromArray(F, wb, 3 * ld + i).fma(v, a3);
        }
        a0.intoArray(out, 0); a1.intoArray(out, L); a2.intoArray(out, 2 * L); a3.intoArray(out, 3 * L);
        reduce(out, R);
    }
}
