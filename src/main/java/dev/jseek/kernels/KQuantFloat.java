package dev.jseek.kernels;

import dev.jseek.tensor.Q4_K;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Q4_K rows times float activations in float arithmetic (system property {@code jseek.kqFloat}; docs/quantization.md,
 * "Q4_K in float"): the decode GEMV's Q4_K kernel when it is on, for every token count, in place of the integer
 * {@link KQuantDot} products with {@link Q8K}-rounded activations.
 *
 * <p>A Q4_K value is {@code (d sc_j) q - (dmin m_j)} ({@link Q4_K}), so a row's dot with x is
 * {@code sum_j (d sc_j) sum_i q_i x_i - sum_j (dmin m_j) xs_j}, xs_j the sum of x over sub-block j (computed once
 * per token, {@link #xsums}). Per sub-block of 32 the codes are widened to int lanes ({@code L} bytes at a time),
 * converted to float and multiplied with x into a vector t ({@code t = c_0 x_0}, then {@code t = fma(c_c, x_c, t)}
 * per further chunk of L), and t enters one of two row accumulators scaled once: {@code a0 = fma(t, d sc_j, a0)}
 * for the low-nibble (even) sub-blocks, {@code a1} for the odd ones, the scale {@code (float) sc_j * d} broadcast
 * from a vector of the 8 scales by a constant lane permute. The mins term is one fused multiply-add per super-block:
 * {@code am = fma((float) m * dmin, xs, am)} over the 8 sub-blocks' lanes (lanes 8 .. L multiply a zero). The row's
 * vector {@code (a0 + a1) - am} is summed by {@link HalfGemv#reduce}'s pairwise tree, 16 rows at a time.
 *
 * <p>No activation rounding: the result is the float dot of the reference-dequantized weights up to float
 * summation error (llama.cpp rounds the activations to int8, the integer path does the same). The order of every
 * operation is fixed for a given vector width, so the result is a function of the bytes, x and the width: equal to
 * the scalar twin {@link dev.jseek.kernels.scalar.ScalarKQuantFloat} bit for bit, and the same for a row whatever
 * range or group it is computed in and for a token alone or in a batch (every token runs this kernel).
 */
final class KQuantFloat {
    private KQuantFloat() {}

    private static final VectorSpecies<Float> F = Vec.F;
    private static final VectorSpecies<Integer> I = Vec.I;
    private static final int L = Vec.LANES;
    /** L bytes: one code byte per int lane. */
    private static final VectorSpecies<Byte> BL = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);

    /** Rows per call of {@link #q4_kRows}. */
    static final int GROUP = 16;
    /** Floats of {@link #xsums} per super-block: the 8 sub-block sums, zero-padded to a vector. */
    static final int XS = L;

    /** Lane k holds scale/min k % 8: bytes 0-3 of the first packed int in lanes k % 8 < 4, of the second in the rest. */
    private static final VectorMask<Integer> UPPER = VectorMask.fromLong(I, L == 16 ? 0xF0F0L : 0xF0L);
    private static final int[] BYTE_SHIFT = new int[L];
    /** Sub-block j's scale in every lane (a constant lane permute of the scale vector, one field each). */
    private static final VectorShuffle<Float> S0, S1, S2, S3, S4, S5, S6, S7;

    static {
        for (int k = 0; k < L; k++) BYTE_SHIFT[k] = 8 * (k % 4);
        S0 = bc(0);
        S1 = bc(1);
        S2 = bc(2);
        S3 = bc(3);
        S4 = bc(4);
        S5 = bc(5);
        S6 = bc(6);
        S7 = bc(7);
    }

    private static VectorShuffle<Float> bc(int j) { return VectorShuffle.fromOp(F, k -> j); }

    /** xs[xso + j] = x[xo + 32 j] + ... + x[xo + 32 j + 31] in float, in index order (j < 8); xs[xso + 8 .. XS) = 0. */
    static void xsums(float[] x, int xo, float[] xs, int xso) {
        for (int j = 0; j < 8; j++) {
            float s = 0f;
            for (int i = 0; i < 32; i++) s += x[xo + 32 * j + i];
            xs[xso + j] = s;
        }
        for (int j = 8; j < XS; j++) xs[xso + j] = 0f;
    }

    /**
     * Rows r = 0 .. rows - 1 (at most {@link #GROUP}) at bytes p + r rb, nb super-blocks each, times x from xo (its
     * sums at xs[xso ..], {@link #XS} per super-block): acc[r] = the row's dot. acc holds GROUP * L floats.
     */
    static void q4_kRows(MemorySegment s, long p, long rb, int rows, float[] x, int xo, float[] xs, int xso, int nb, float[] acc) {
        for (int r = 0; r < rows; r++) q4Row(s, p + r * rb, x, xo, xs, xso, nb, acc, r * L);
        int count = Integer.highestOneBit(rows) == rows ? rows : Integer.highestOneBit(rows) << 1;
        java.util.Arrays.fill(acc, rows * L, count * L, 0f);
        HalfGemv.reduce(acc, count);
    }

    /*
     * The row kernel is a method of its own that only primitives and arrays cross (a helper taking or returning
     * vectors is boxed once C2 declines to inline it, docs/quantization.md "Kernels"); its four code groups are
     * written out so that each scale permute is a constant.
     */

    /** The row at p: its vector (a0 + a1) - am into acc[ao .. ao + L). */
    private static void q4Row(MemorySegment s, long p, float[] x, int xo, float[] xs, int xso, int nb, float[] acc, int ao) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, am = a0;
        IntVector shift = IntVector.fromArray(I, BYTE_SHIFT, 0);
        for (int b = 0; b < nb; b++, p += Q4_K.BLOCK_BYTES, xo += 256) {
            long h0 = s.get(I64, p), h1 = s.get(I64, p + 8);     // d, dmin, the 12 scale bytes
            int u0 = (int) (h0 >>> 32), u1 = (int) h1, u2 = (int) (h1 >>> 32);
            int sc03 = u0 & 0x3f3f3f3f, sc47 = (u2 & 0x0f0f0f0f) | (((u0 >>> 6) & 0x03030303) << 4);
            int m03 = u1 & 0x3f3f3f3f, m47 = ((u2 >>> 4) & 0x0f0f0f0f) | (((u1 >>> 6) & 0x03030303) << 4);
            FloatVector mins = (FloatVector) IntVector.broadcast(I, m03).blend(IntVector.broadcast(I, m47), UPPER)
                    .lanewise(VectorOperators.LSHR, shift).and(0xFF).convert(VectorOperators.I2F, 0);
            am = mins.mul(Float.float16ToFloat((short) (h0 >>> 16))).fma(FloatVector.fromArray(F, xs, xso + XS * b), am);
            FloatVector ds = ((FloatVector) IntVector.broadcast(I, sc03).blend(IntVector.broadcast(I, sc47), UPPER)
                    .lanewise(VectorOperators.LSHR, shift).and(0xFF).convert(VectorOperators.I2F, 0)).mul(Float.float16ToFloat((short) h0));
            long q = p + Q4_K.QS;
            // code bytes [32 g, 32 g + 32): sub-block 2 g in the low nibbles (x from 64 g), 2 g + 1 in the high (x from 64 g + 32),
            // in chunks of L codes at offsets 0, L (and 2 L, 3 L at 256 bits), written out: as a loop, even of one trip, 1.25x slower
            ByteVector c;
            FloatVector lo, hi;
            c = ByteVector.fromMemorySegment(BL, s, q, LE);
            lo = ((FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, x, xo));
            hi = ((FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, x, xo + 32));
            c = ByteVector.fromMemorySegment(BL, s, q + L, LE);
            lo = ((FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xo + L), lo);
            hi = ((FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xo + 32 + L), hi);
            if (L == 8) {
                c = ByteVector.fromMemorySegment(BL, s, q + 16, LE);
                lo = ((FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xo + 16), lo);
                hi = ((FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xo + 48), hi);
                c = ByteVector.fromMemorySegment(BL, s, q + 24, LE);
                lo = ((FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xo + 24), lo);
                hi = ((FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xo + 56), hi);
            }
            a0 = lo.fma(ds.rearrange(S0), a0);
            a1 = hi.fma(ds.rearrange(S1), a1);
            c = ByteVector.fromMemorySegment(BL, s, q + 32, LE);
            lo = ((FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, x, xo + 64));
            hi = ((FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, x, xo + 96));
            c = ByteVector.fromMemorySegment(BL, s, q + 32 + L, LE);
            lo = ((FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xo + 64 + L), lo);
            hi = ((FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xo + 96 + L), hi);
            if (L == 8) {
                c = ByteVector.fromMemorySegment(BL, s, q + 48, LE);
                lo = ((FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xo + 80), lo);
                hi = ((FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xo + 112), hi);
                c = ByteVector.fromMemorySegment(BL, s, q + 56, LE);
                lo = ((FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xo + 88), lo);
                hi = ((FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xo + 120), hi);
            }
            a0 = lo.fma(ds.rearrange(S2), a0);
            a1 = hi.fma(ds.rearrange(S3), a1);
            c = ByteVector.fromMemorySegment(BL, s, q + 64, LE);
            lo = ((FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, x, xo + 128));
            hi = ((FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, x, xo + 160));
            c = ByteVector.fromMemorySegment(BL, s, q + 64 + L, LE);
            lo = ((FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xo + 128 + L), lo);
            hi = ((FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xo + 160 + L), hi);
            if (L == 8) {
                c = ByteVector.fromMemorySegment(BL, s, q + 80, LE);
                lo = ((FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xo + 144), lo);
                hi = ((FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xo + 176), hi);
                c = ByteVector.fromMemorySegment(BL, s, q + 88, LE);
                lo = ((FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xo + 152), lo);
                hi = ((FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xo + 184), hi);
            }
            a0 = lo.fma(ds.rearrange(S4), a0);
            a1 = hi.fma(ds.rearrange(S5), a1);
            c = ByteVector.fromMemorySegment(BL, s, q + 96, LE);
            lo = ((FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, x, xo + 192));
            hi = ((FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, x, xo + 224));
            c = ByteVector.fromMemorySegment(BL, s, q + 96 + L, LE);
            lo = ((FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xo + 192 + L), lo);
            hi = ((FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xo + 224 + L), hi);
            if (L == 8) {
                c = ByteVector.fromMemorySegment(BL, s, q + 112, LE);
                lo = ((FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xo + 208), lo);
                hi = ((FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xo + 240), hi);
                c = ByteVector.fromMemorySegment(BL, s, q + 120, LE);
                lo = ((FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xo + 216), lo);
                hi = ((FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xo + 248), hi);
            }
            a0 = lo.fma(ds.rearrange(S6), a0);
            a1 = hi.fma(ds.rearrange(S7), a1);
        }
        a0.add(a1).sub(am).intoArray(acc, ao);
    }

    /**
     * Rows as {@link #q4_kRows} times two tokens (x from x0 and x1, sums at xs[xs0 ..] and xs[xs1 ..]) into acc0 and
     * acc1: each code converted once for both, every token's value exactly {@link #q4_kRows}'s.
     */
    static void q4_kRows2(MemorySegment s, long p, long rb, int rows, float[] x, int x0, int x1, float[] xs, int xs0, int xs1, int nb,
                          float[] acc0, float[] acc1) {
        for (int r = 0; r < rows; r++) q4Row2(s, p + r * rb, x, x0, x1, xs, xs0, xs1, nb, acc0, acc1, r * L);
        int count = Integer.highestOneBit(rows) == rows ? rows : Integer.highestOneBit(rows) << 1;
        java.util.Arrays.fill(acc0, rows * L, count * L, 0f);
        java.util.Arrays.fill(acc1, rows * L, count * L, 0f);
        HalfGemv.reduce(acc0, count);
        HalfGemv.reduce(acc1, count);
    }

    /** {@link #q4Row} for two tokens: the row's vector per token into acc0 and acc1 at ao. */
    private static void q4Row2(MemorySegment s, long p, float[] x, int x0, int x1, float[] xs, int xs0, int xs1, int nb,
                               float[] acc0, float[] acc1, int ao) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, am0 = a00, a10 = a00, a11 = a00, am1 = a00;
        IntVector shift = IntVector.fromArray(I, BYTE_SHIFT, 0);
        for (int b = 0; b < nb; b++, p += Q4_K.BLOCK_BYTES, x0 += 256, x1 += 256) {
            long h0 = s.get(I64, p), h1 = s.get(I64, p + 8);
            int u0 = (int) (h0 >>> 32), u1 = (int) h1, u2 = (int) (h1 >>> 32);
            int sc03 = u0 & 0x3f3f3f3f, sc47 = (u2 & 0x0f0f0f0f) | (((u0 >>> 6) & 0x03030303) << 4);
            int m03 = u1 & 0x3f3f3f3f, m47 = ((u2 >>> 4) & 0x0f0f0f0f) | (((u1 >>> 6) & 0x03030303) << 4);
            FloatVector dm = ((FloatVector) IntVector.broadcast(I, m03).blend(IntVector.broadcast(I, m47), UPPER)
                    .lanewise(VectorOperators.LSHR, shift).and(0xFF).convert(VectorOperators.I2F, 0)).mul(Float.float16ToFloat((short) (h0 >>> 16)));
            am0 = dm.fma(FloatVector.fromArray(F, xs, xs0 + XS * b), am0);
            am1 = dm.fma(FloatVector.fromArray(F, xs, xs1 + XS * b), am1);
            FloatVector ds = ((FloatVector) IntVector.broadcast(I, sc03).blend(IntVector.broadcast(I, sc47), UPPER)
                    .lanewise(VectorOperators.LSHR, shift).and(0xFF).convert(VectorOperators.I2F, 0)).mul(Float.float16ToFloat((short) h0));
            long q = p + Q4_K.QS;
            ByteVector c;
            FloatVector cl, ch, lo0, hi0, lo1, hi1, sLo, sHi;
            c = ByteVector.fromMemorySegment(BL, s, q, LE);
            cl = (FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0);
            ch = (FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0);
            lo0 = cl.mul(FloatVector.fromArray(F, x, x0));
            hi0 = ch.mul(FloatVector.fromArray(F, x, x0 + 32));
            lo1 = cl.mul(FloatVector.fromArray(F, x, x1));
            hi1 = ch.mul(FloatVector.fromArray(F, x, x1 + 32));
            c = ByteVector.fromMemorySegment(BL, s, q + L, LE);
            cl = (FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0);
            ch = (FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0);
            lo0 = cl.fma(FloatVector.fromArray(F, x, x0 + L), lo0);
            hi0 = ch.fma(FloatVector.fromArray(F, x, x0 + 32 + L), hi0);
            lo1 = cl.fma(FloatVector.fromArray(F, x, x1 + L), lo1);
            hi1 = ch.fma(FloatVector.fromArray(F, x, x1 + 32 + L), hi1);
            if (L == 8) {
                c = ByteVector.fromMemorySegment(BL, s, q + 16, LE);
                cl = (FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0);
                ch = (FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0);
                lo0 = cl.fma(FloatVector.fromArray(F, x, x0 + 16), lo0);
                hi0 = ch.fma(FloatVector.fromArray(F, x, x0 + 48), hi0);
                lo1 = cl.fma(FloatVector.fromArray(F, x, x1 + 16), lo1);
                hi1 = ch.fma(FloatVector.fromArray(F, x, x1 + 48), hi1);
                c = ByteVector.fromMemorySegment(BL, s, q + 24, LE);
                cl = (FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0);
                ch = (FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0);
                lo0 = cl.fma(FloatVector.fromArray(F, x, x0 + 24), lo0);
                hi0 = ch.fma(FloatVector.fromArray(F, x, x0 + 56), hi0);
                lo1 = cl.fma(FloatVector.fromArray(F, x, x1 + 24), lo1);
                hi1 = ch.fma(FloatVector.fromArray(F, x, x1 + 56), hi1);
            }
            sLo = ds.rearrange(S0);
            sHi = ds.rearrange(S1);
            a00 = lo0.fma(sLo, a00);
            a01 = hi0.fma(sHi, a01);
            a10 = lo1.fma(sLo, a10);
            a11 = hi1.fma(sHi, a11);
            c = ByteVector.fromMemorySegment(BL, s, q + 32, LE);
            cl = (FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0);
            ch = (FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0);
            lo0 = cl.mul(FloatVector.fromArray(F, x, x0 + 64));
            hi0 = ch.mul(FloatVector.fromArray(F, x, x0 + 96));
            lo1 = cl.mul(FloatVector.fromArray(F, x, x1 + 64));
            hi1 = ch.mul(FloatVector.fromArray(F, x, x1 + 96));
            c = ByteVector.fromMemorySegment(BL, s, q + 32 + L, LE);
            cl = (FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0);
            ch = (FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0);
            lo0 = cl.fma(FloatVector.fromArray(F, x, x0 + 64 + L), lo0);
            hi0 = ch.fma(FloatVector.fromArray(F, x, x0 + 96 + L), hi0);
            lo1 = cl.fma(FloatVector.fromArray(F, x, x1 + 64 + L), lo1);
            hi1 = ch.fma(FloatVector.fromArray(F, x, x1 + 96 + L), hi1);
            if (L == 8) {
                c = ByteVector.fromMemorySegment(BL, s, q + 48, LE);
                cl = (FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0);
                ch = (FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0);
                lo0 = cl.fma(FloatVector.fromArray(F, x, x0 + 80), lo0);
                hi0 = ch.fma(FloatVector.fromArray(F, x, x0 + 112), hi0);
                lo1 = cl.fma(FloatVector.fromArray(F, x, x1 + 80), lo1);
                hi1 = ch.fma(FloatVector.fromArray(F, x, x1 + 112), hi1);
                c = ByteVector.fromMemorySegment(BL, s, q + 56, LE);
                cl = (FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0);
                ch = (FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0);
                lo0 = cl.fma(FloatVector.fromArray(F, x, x0 + 88), lo0);
                hi0 = ch.fma(FloatVector.fromArray(F, x, x0 + 120), hi0);
                lo1 = cl.fma(FloatVector.fromArray(F, x, x1 + 88), lo1);
                hi1 = ch.fma(FloatVector.fromArray(F, x, x1 + 120), hi1);
            }
            sLo = ds.rearrange(S2);
            sHi = ds.rearrange(S3);
            a00 = lo0.fma(sLo, a00);
            a01 = hi0.fma(sHi, a01);
            a10 = lo1.fma(sLo, a10);
            a11 = hi1.fma(sHi, a11);
            c = ByteVector.fromMemorySegment(BL, s, q + 64, LE);
            cl = (FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0);
            ch = (FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0);
            lo0 = cl.mul(FloatVector.fromArray(F, x, x0 + 128));
            hi0 = ch.mul(FloatVector.fromArray(F, x, x0 + 160));
            lo1 = cl.mul(FloatVector.fromArray(F, x, x1 + 128));
            hi1 = ch.mul(FloatVector.fromArray(F, x, x1 + 160));
            c = ByteVector.fromMemorySegment(BL, s, q + 64 + L, LE);
            cl = (FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0);
            ch = (FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0);
            lo0 = cl.fma(FloatVector.fromArray(F, x, x0 + 128 + L), lo0);
            hi0 = ch.fma(FloatVector.fromArray(F, x, x0 + 160 + L), hi0);
            lo1 = cl.fma(FloatVector.fromArray(F, x, x1 + 128 + L), lo1);
            hi1 = ch.fma(FloatVector.fromArray(F, x, x1 + 160 + L), hi1);
            if (L == 8) {
                c = ByteVector.fromMemorySegment(BL, s, q + 80, LE);
                cl = (FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0);
                ch = (FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0);
                lo0 = cl.fma(FloatVector.fromArray(F, x, x0 + 144), lo0);
                hi0 = ch.fma(FloatVector.fromArray(F, x, x0 + 176), hi0);
                lo1 = cl.fma(FloatVector.fromArray(F, x, x1 + 144), lo1);
                hi1 = ch.fma(FloatVector.fromArray(F, x, x1 + 176), hi1);
                c = ByteVector.fromMemorySegment(BL, s, q + 88, LE);
                cl = (FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0);
                ch = (FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0);
                lo0 = cl.fma(FloatVector.fromArray(F, x, x0 + 152), lo0);
                hi0 = ch.fma(FloatVector.fromArray(F, x, x0 + 184), hi0);
                lo1 = cl.fma(FloatVector.fromArray(F, x, x1 + 152), lo1);
                hi1 = ch.fma(FloatVector.fromArray(F, x, x1 + 184), hi1);
            }
            sLo = ds.rearrange(S4);
            sHi = ds.rearrange(S5);
            a00 = lo0.fma(sLo, a00);
            a01 = hi0.fma(sHi, a01);
            a10 = lo1.fma(sLo, a10);
            a11 = hi1.fma(sHi, a11);
            c = ByteVector.fromMemorySegment(BL, s, q + 96, LE);
            cl = (FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0);
            ch = (FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0);
            lo0 = cl.mul(FloatVector.fromArray(F, x, x0 + 192));
            hi0 = ch.mul(FloatVector.fromArray(F, x, x0 + 224));
            lo1 = cl.mul(FloatVector.fromArray(F, x, x1 + 192));
            hi1 = ch.mul(FloatVector.fromArray(F, x, x1 + 224));
            c = ByteVector.fromMemorySegment(BL, s, q + 96 + L, LE);
            cl = (FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0);
            ch = (FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0);
            lo0 = cl.fma(FloatVector.fromArray(F, x, x0 + 192 + L), lo0);
            hi0 = ch.fma(FloatVector.fromArray(F, x, x0 + 224 + L), hi0);
            lo1 = cl.fma(FloatVector.fromArray(F, x, x1 + 192 + L), lo1);
            hi1 = ch.fma(FloatVector.fromArray(F, x, x1 + 224 + L), hi1);
            if (L == 8) {
                c = ByteVector.fromMemorySegment(BL, s, q + 112, LE);
                cl = (FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0);
                ch = (FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0);
                lo0 = cl.fma(FloatVector.fromArray(F, x, x0 + 208), lo0);
                hi0 = ch.fma(FloatVector.fromArray(F, x, x0 + 240), hi0);
                lo1 = cl.fma(FloatVector.fromArray(F, x, x1 + 208), lo1);
                hi1 = ch.fma(FloatVector.fromArray(F, x, x1 + 240), hi1);
                c = ByteVector.fromMemorySegment(BL, s, q + 120, LE);
                cl = (FloatVector) c.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0);
                ch = (FloatVector) c.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0);
                lo0 = cl.fma(FloatVector.fromArray(F, x, x0 + 216), lo0);
                hi0 = ch.fma(FloatVector.fromArray(F, x, x0 + 248), hi0);
                lo1 = cl.fma(FloatVector.fromArray(F, x, x1 + 216), lo1);
                hi1 = ch.fma(FloatVector.fromArray(F, x, x1 + 248), hi1);
            }
            sLo = ds.rearrange(S6);
            sHi = ds.rearrange(S7);
            a00 = lo0.fma(sLo, a00);
            a01 = hi0.fma(sHi, a01);
            a10 = lo1.fma(sLo, a10);
            a11 = hi1.fma(sHi, a11);
        }
        a00.add(a01).sub(am0).intoArray(acc0, ao);
        a10.add(a11).sub(am1).intoArray(acc1, ao);
    }
}
