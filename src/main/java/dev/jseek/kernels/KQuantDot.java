package dev.jseek.kernels;

import dev.jseek.tensor.Q4_K;
import dev.jseek.tensor.Q5_K;
import dev.jseek.tensor.Q6_K;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Integer dot products of one K-quant weight row (Q4_K, Q5_K, Q6_K; layouts in {@link Q4_K}, {@link Q5_K},
 * {@link Q6_K}) with one activation row quantized to {@link Q8K}, the decode GEMV's inner kernels (ggml's
 * {@code ggml_vec_dot_q4_K_q8_K} and friends, docs/quantization.md). One fused, monomorphic kernel per format.
 *
 * <p>Weight bytes are read as 16-bit lanes, two code bytes per lane, without widening: the low nibble of the even
 * byte ({@code x & 0xF}), of the odd byte ({@code (x >>> 8) & 0xF}) and the two high nibbles ({@code (x >>> 4) & 0xF},
 * {@code x >>> 12}) are four streams of codes (Q5_K/Q6_K or in their high bits from {@code qh}, read the same way),
 * each multiplied in 16-bit lanes with activation codes that {@link Q8K} stored in exactly that order
 * ({@link #PERM4}, {@link #PERM6}). Even and odd products are added (|sum| <= 2 * 63 * 127), adjacent 16-bit lanes
 * summed into 32-bit lanes, multiplied by the integer sub-block scales and accumulated exactly. Q6_K multiplies the
 * unsigned codes q (0..63) and takes {@code 32 * sum_j sc_j * (code sum of sub-block j)} off at the end, from the
 * 16-element sums of {@link Q8K} (as ggml does).
 *
 * <p>Per super-block the integer sums are reduced (exact: integer addition does not depend on order or vector width)
 * and enter the float result as
 * <pre>
 *   Q4_K, Q5_K:  acc = acc + ((d * dy) * isum - (dmin * dy) * msum)     isum = sum_j sc_j sum_i q_i a_i, msum = sum_j m_j sum_i a_i
 *   Q6_K:        acc = acc + (d * dy) * isum                           isum = sum_j sc_j sum_i (q_i - 32) a_i
 * </pre>
 * in block order, float32, no fused multiply-add ({@code dy} the activation block's scale, d/dmin the weight block's
 binary16 scales). The result is therefore a function of the bytes alone: equal to the scalar twin {@link dev.jseek.kernels.scalar.ScalarKQuantDot} bit for bit at
 * 256 and 512 bits, and the same for a token alone or in a batch. It differs from the float dot of the dequantized
 * weights by the activation rounding (at most half an activation step per element).
 */
final class KQuantDot {
    private KQuantDot() {}

    /** 16-bit lanes filling a vector of {@code jseek.vectorBits}. */
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(Vec.LANES * 32));
    private static final int SL = S.length();
    private static final VectorSpecies<Integer> I = Vec.I;
    private static final int IL = I.length();
    /** 8 int lanes: the mins of a super-block. */
    private static final VectorSpecies<Integer> I8 = IntVector.SPECIES_256;
    /** IL bytes (one per int lane). */
    private static final VectorSpecies<Byte> BI = VectorSpecies.of(byte.class, VectorShape.forBitSize(IL * 8));
    /** Lanes k with k % 8 >= 4 (bytes 4-7 of 8 packed in two ints), and the byte shifts 8 (k % 4). */
    private static final VectorMask<Integer> UPPER = VectorMask.fromLong(I, 0xF0F0L), UPPER8 = VectorMask.fromLong(I8, 0xF0L);
    private static final int[] BYTE_SHIFT = {0, 8, 16, 24, 0, 8, 16, 24, 0, 8, 16, 24, 0, 8, 16, 24};
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    /** Chunks of 2 SL code bytes: per Q4_K/Q5_K super-block (128 bytes), per Q6_K half (64 bytes of ql). */
    private static final int CH4 = 128 / (2 * SL), CH6 = 64 / (2 * SL);

    /**
     * Q4_K/Q5_K activation order: slot {@code (4 t + s) SL + i} of a block of 256 holds element PERM4[..], where stream
     * s (0: even low nibble, 1: odd low, 2: even high, 3: odd high) of lane i of chunk t reads code byte
     * {@code b = 2 SL t + 2 i + (s & 1)} of the 128: group {@code g = b / 32}, element {@code 32 (2g + (s >> 1)) + b % 32}.
     */
    static final int[] PERM4 = new int[256];
    /**
     * Q6_K activation order: per half h, slot {@code 128 h + (4 t + s) SL + i} holds element
     * {@code 128 h + b + 64 (s >> 1)}, {@code b = 2 SL t + 2 i + (s & 1)} the ql byte of the half.
     */
    static final int[] PERM6 = new int[256];
    /** Scale index per int lane: Q4_K/Q5_K chunk t, low (0) or high (1) nibbles: sub-block 2 ((2 SL t + 4 k) / 32) + hi. */
    private static final int[] SC4 = new int[2 * CH4 * IL];
    /**
     * Q6_K: per half h, chunk t and nibble half: the sub-block (within the half) {@code (2 SL t + 4 k) / 16 + 4 hi}, plus
     * 8 h where one vector holds all 16 scales (512 bits).
     */
    private static final int[] SC6 = new int[2 * 2 * CH6 * IL];
    /** Q5_K/Q6_K qh shift per 16-bit lane of chunk t: 2 (b / 32) of the chunk's even byte b (Q6_K: within the half). */
    private static final short[] SH4 = new short[CH4 * SL], SH6 = new short[CH6 * SL];
    /** At 512 bits: the 16 qh shorts of a half duplicated into both halves of a vector (lane i reads 16 h + i % 16). */
    private static final short[] DUP = new short[2 * SL];

    /**
     * Rows per group of the row-group kernels ({@link #q4_kRows}, {@link #q6_kRows}): one per int lane, so that the
     * lane sums of a super-block of all of them come out as one vector, row r in lane r.
     */
    static final int GROUP = IL;
    private static final VectorSpecies<Float> F = Vec.F;
    /**
     * Slot of row r's partial-sum vector in a group's lane-sum tree ({@link #laneSums}): lane k of the tree's result
     * is the sum of the vector in slot {@code REV[k]} (the bit reversal of k), so row r goes there.
     */
    private static final int[] REV = new int[IL];
    /** Tree level h (8, 4, 2, 1): lanes k with bit h set, and the shuffle k -> k ^ h. */
    private static final VectorMask<Integer> H8, H4, H2, H1;
    private static final VectorShuffle<Integer> X8, X4, X2, X1;

    static {
        for (int k = 0; k < IL; k++) REV[k] = Integer.reverse(k) >>> (32 - Integer.numberOfTrailingZeros(IL));
        H8 = levelMask(8);
        H4 = levelMask(4);
        H2 = levelMask(2);
        H1 = levelMask(1);
        X8 = levelShuffle(8);
        X4 = levelShuffle(4);
        X2 = levelShuffle(2);
        X1 = levelShuffle(1);
        for (int t = 0; t < CH4; t++) {
            for (int s = 0; s < 4; s++)
                for (int i = 0; i < SL; i++) {
                    int b = 2 * SL * t + 2 * i + (s & 1), g = b / 32;
                    PERM4[(4 * t + s) * SL + i] = 32 * (2 * g + (s >> 1)) + b % 32;
                }
            for (int i = 0; i < SL; i++) SH4[t * SL + i] = (short) (2 * ((2 * SL * t + 2 * i) / 32));
            for (int hi = 0; hi < 2; hi++)
                for (int k = 0; k < IL; k++) SC4[(2 * t + hi) * IL + k] = 2 * ((2 * SL * t + 4 * k) / 32) + hi;
        }
        for (int h = 0; h < 2; h++)
            for (int t = 0; t < CH6; t++) {
                for (int s = 0; s < 4; s++)
                    for (int i = 0; i < SL; i++) {
                        int b = 2 * SL * t + 2 * i + (s & 1);
                        PERM6[128 * h + (4 * t + s) * SL + i] = 128 * h + b + 64 * (s >> 1);
                    }
                for (int hi = 0; hi < 2; hi++)
                    for (int k = 0; k < IL; k++)
                        SC6[((2 * h + hi) * CH6 + t) * IL + k] = (2 * SL * t + 4 * k) / 16 + 4 * hi + (IL == 16 ? 8 * h : 0);
            }
        for (int t = 0; t < CH6; t++) for (int i = 0; i < SL; i++) SH6[t * SL + i] = (short) (2 * ((2 * SL * t + 2 * i) / 32));
        for (int h = 0; h < 2; h++) for (int i = 0; i < SL; i++) DUP[h * SL + i] = (short) (16 * h + i % 16);
    }

    /**
     * {@link #SC4} as shuffle constants, one field each (a rearrange by a constant shuffle is one
     * lane permute; {@code selectFrom} by an index vector first converts and checks the indices, and a shuffle read
     * from an array is not a constant to C2: both measured slower).
     */
    private static final VectorShuffle<Integer> Q4S0 = sc4(0), Q4S1 = sc4(1), Q4S2 = sc4(2), Q4S3 = sc4(3), Q4S4 = sc4(4), Q4S5 = sc4(5), Q4S6 = sc4(6), Q4S7 = sc4(7);

    /**
     * Q6_K at 512 bits (one chunk per half): the scale lanes of the first half's low and high nibbles ({@link #SC6}'s
     * first two rows), and the swap of the 8-lane halves that turns the 16 scales into the second half's order.
     */
    private static final VectorShuffle<Integer> Q6LO = VectorShuffle.fromArray(I, SC6, 0), Q6HI = VectorShuffle.fromArray(I, SC6, CH6 * IL),
            SWAP8 = levelShuffle(IL / 2);

    private static VectorShuffle<Integer> sc4(int i) { return VectorShuffle.fromArray(I, SC4, i < 2 * CH4 ? i * IL : 0); }

    /** Shuffle {@code i} of {@link #SC4} (i = 2 t + hi): a constant wherever i is. */
    private static VectorShuffle<Integer> q4Scales(int i) {
        return switch (i) {
            case 0 -> Q4S0;
            case 1 -> Q4S1;
            case 2 -> Q4S2;
            case 3 -> Q4S3;
            case 4 -> Q4S4;
            case 5 -> Q4S5;
            case 6 -> Q4S6;
            default -> Q4S7;
        };
    }

    private static VectorMask<Integer> levelMask(int h) {
        boolean[] m = new boolean[IL];
        for (int k = 0; k < IL; k++) m[k] = (k & h) != 0;
        return VectorMask.fromArray(I, m, 0);
    }

    private static VectorShuffle<Integer> levelShuffle(int h) {
        int[] x = new int[IL];
        for (int k = 0; k < IL; k++) x[k] = (k ^ h) % IL;
        return VectorShuffle.fromArray(I, x, 0);
    }

    /*
     * No helper methods that take or return vectors: one that C2 compiled on its own before (as a callee of cold
     * code) is not inlined into a hot caller once its own code is large ("already compiled into a big method"), and
     * every vector crossing that call is then allocated. Pair sums and byte unpacking are written out in place.
     */

    /**
     * The Q4_K row of nb super-blocks at byte p times the activation codes of a from element o (a multiple of 256).
     */
    static float q4_k(MemorySegment s, long p, Q8K a, int o, int nb) {
        float acc = 0f;
        for (int b = 0; b < nb; b++) acc += q4Block(s, p + (long) b * Q4_K.BLOCK_BYTES, a, o + 256 * b);
        return acc;
    }

    /** The Q5_K row of nb super-blocks at byte p times the activation codes of a from element o. */
    static float q5_k(MemorySegment s, long p, Q8K a, int o, int nb) {
        float acc = 0f;
        for (int b = 0; b < nb; b++) acc += q5Block(s, p + (long) b * Q5_K.BLOCK_BYTES, a, o + 256 * b);
        return acc;
    }

    /** The Q6_K row of nb super-blocks at byte p times the activation codes of a from element o. */
    static float q6_k(MemorySegment s, long p, Q8K a, int o, int nb) {
        float acc = 0f;
        for (int b = 0; b < nb; b++) acc += q6Block(s, p + (long) b * Q6_K.BLOCK_BYTES, a, o + 256 * b);
        return acc;
    }

    /**
     * Row groups (docs/quantization.md, "K-quant row groups"): the {@link #GROUP} Q4_K rows at bytes p, p + rb, ...
     * (nb super-blocks each) times the activation codes of a from element o, into g.out[0 .. GROUP), each exactly
     * {@link #q4_k} of its row. Each row is read in sequence and each super-block's integer work leaves its lane
     * partial sums as a vector ({@link #q4Sums}); then, per super-block, one lane-sum tree turns the group's vectors
     * into one vector of row sums, the mins terms come from the packed mins of all rows at once, and the float
     * combination {@code acc + ((d * dy) * isum - (dmin * dy) * msum)} runs once for all rows, lane r the same float
     * operations in the same order as {@link #q4_k} does for row r (the horizontal reductions and the scalar float
     * work per super-block and row were about as costly as the products).
     */
    static void q4_kRows(MemorySegment s, long p, long rb, Q8K a, int o, int nb, KQuantGroup g) {
        g.ensure(nb);
        for (int r = 0; r < IL; r++) {
            long pr = p + r * rb;
            for (int b = 0; b < nb; b++) q4Sums(s, pr + (long) b * Q4_K.BLOCK_BYTES, a, o + 256 * b, g, b * IL + REV[r], b * IL + r);
        }
        FloatVector acc = FloatVector.zero(F);
        int[] bs = a.bsum;
        for (int b = 0; b < nb; b++) {
            laneSums(g.sums, b * IL * IL);
            IntVector isum = IntVector.fromArray(I, g.sums, b * IL * IL);
            IntVector lo = IntVector.fromArray(I, g.mins03, b * IL), hi = IntVector.fromArray(I, g.mins47, b * IL);
            int j = (o + 256 * b) / 32;
            // msum = sum_j m_j bsum_j, the 8 six-bit mins of each row one per byte of two ints
            IntVector msum = lo.and(0xFF).mul(bs[j])
                    .add(lo.lanewise(VectorOperators.LSHR, 8).and(0xFF).mul(bs[j + 1]))
                    .add(lo.lanewise(VectorOperators.LSHR, 16).and(0xFF).mul(bs[j + 2]))
                    .add(lo.lanewise(VectorOperators.LSHR, 24).mul(bs[j + 3]))
                    .add(hi.and(0xFF).mul(bs[j + 4]))
                    .add(hi.lanewise(VectorOperators.LSHR, 8).and(0xFF).mul(bs[j + 5]))
                    .add(hi.lanewise(VectorOperators.LSHR, 16).and(0xFF).mul(bs[j + 6]))
                    .add(hi.lanewise(VectorOperators.LSHR, 24).mul(bs[j + 7]));
            float dy = a.d[(o + 256 * b) / 256];
            acc = acc.add(FloatVector.fromArray(F, g.d, b * IL).mul(dy).mul((FloatVector) isum.convert(VectorOperators.I2F, 0))
                    .sub(FloatVector.fromArray(F, g.dmin, b * IL).mul(dy).mul((FloatVector) msum.convert(VectorOperators.I2F, 0))));
        }
        acc.intoArray(g.out, 0);
    }

    /**
     * The {@link #GROUP} Q6_K rows at bytes p, p + rb, ... times the activation codes of a from element o into
     * g.out, each exactly {@link #q6_k} of its row: as {@link #q4_kRows}, with {@code acc + (d * dy) * isum}.
     */
    static void q6_kRows(MemorySegment s, long p, long rb, Q8K a, int o, int nb, KQuantGroup g) {
        g.ensure(nb);
        for (int r = 0; r < IL; r++) {
            long pr = p + r * rb;
            for (int b = 0; b < nb; b++) q6Sums(s, pr + (long) b * Q6_K.BLOCK_BYTES, a, o + 256 * b, g, b * IL + REV[r], b * IL + r);
        }
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            laneSums(g.sums, b * IL * IL);
            IntVector isum = IntVector.fromArray(I, g.sums, b * IL * IL);
            float dy = a.d[(o + 256 * b) / 256];
            acc = acc.add(FloatVector.fromArray(F, g.d, b * IL).mul(dy).mul((FloatVector) isum.convert(VectorOperators.I2F, 0)));
        }
        acc.intoArray(g.out, 0);
    }

    /**
     * {@link #q6Block}'s integer work without its reduction: lane partial sums into g.sums at slot, d at ri. At 512
     * bits the scale lanes come from constant shuffles of the 16 scales (swapped halves for the second half).
     */
    private static void q6Sums(MemorySegment s, long p, Q8K a, int o, KQuantGroup g, int slot, int ri) {
        short[] aq = a.p6;
        ShortVector m0f = ShortVector.broadcast(S, (short) 0x0F0F), m30 = ShortVector.broadcast(S, (short) 0x3030), mff = ShortVector.broadcast(S, (short) 0xFF);
        IntVector isum = IntVector.zero(I), corr = IntVector.zero(I);
        ShortVector qhAll = SL > 16 ? ShortVector.fromMemorySegment(S, s, p + Q6_K.QH, LE) : null;
        IntVector scAll = IL == 16 ? (IntVector) ByteVector.fromMemorySegment(BI, s, p + Q6_K.SCALES, LE).convertShape(VectorOperators.B2I, I, 0) : null;
        for (int h = 0; h < 2; h++) {
            ShortVector qh = SL > 16 ? ShortVector.fromArray(S, DUP, h * SL).selectFrom(qhAll)
                    : ShortVector.fromMemorySegment(S, s, p + Q6_K.QH + 32L * h, LE);
            IntVector scs = IL == 16 ? (h == 0 ? scAll : scAll.rearrange(SWAP8))
                    : (IntVector) ByteVector.fromMemorySegment(BI, s, p + Q6_K.SCALES + 8L * h, LE).convertShape(VectorOperators.B2I, I, 0);
            if (IL != 16 || h == 0) corr = corr.add(scs.mul(IntVector.fromArray(I, a.bsum16, o / 16 + (IL == 16 ? 0 : 8 * h))));
            for (int t = 0; t < CH6; t++) {
                ShortVector x = ShortVector.fromMemorySegment(S, s, p + 64L * h + 2L * SL * t, LE);
                ShortVector q = qh.lanewise(VectorOperators.LSHR, ShortVector.fromArray(S, SH6, t * SL));
                int x0 = o + 128 * h + 4 * SL * t;
                ShortVector cl = x.and(m0f).or(q.lanewise(VectorOperators.LSHL, 4).and(m30));
                ShortVector ch = x.lanewise(VectorOperators.LSHR, 4).and(m0f).or(q.and(m30));
                ShortVector lo = cl.and(mff).mul(ShortVector.fromArray(S, aq, x0)).add(cl.lanewise(VectorOperators.LSHR, 8).mul(ShortVector.fromArray(S, aq, x0 + SL)));
                ShortVector hi = ch.and(mff).mul(ShortVector.fromArray(S, aq, x0 + 2 * SL)).add(ch.lanewise(VectorOperators.LSHR, 8).mul(ShortVector.fromArray(S, aq, x0 + 3 * SL)));
                IntVector li = lo.reinterpretAsInts(), hj = hi.reinterpretAsInts();
                li = li.add(li.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
                hj = hj.add(hj.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
                if (IL == 16) isum = isum.add(li.mul(scs.rearrange(Q6LO))).add(hj.mul(scs.rearrange(Q6HI)));
                else isum = isum.add(li.mul(IntVector.fromArray(I, SC6, (2 * h * CH6 + t) * IL).selectFrom(scs)))
                        .add(hj.mul(IntVector.fromArray(I, SC6, ((2 * h + 1) * CH6 + t) * IL).selectFrom(scs)));
            }
        }
        isum.sub(corr.lanewise(VectorOperators.LSHL, 5)).intoArray(g.sums, slot * IL);
        g.d[ri] = Float.float16ToFloat(s.get(I16, p + Q6_K.D));
    }

    /**
     * The IL int vectors at v[base + j IL] (j = 0 .. IL) reduced to one: afterwards v[base + k] holds the sum of the
     * lanes of the vector that was in slot {@link #REV}[k]. A tree of log2(IL) levels: at level h each pair (x, z)
     * becomes {@code x.blend(z, bit h) + z.blend(x, bit h).rearrange(k ^ h)}, the partial sums of x in the lanes
     * without bit h and of z in those with it (integer additions: exact in any order).
     */
    private static void laneSums(int[] v, int base) {
        if (IL == 16)
            for (int i = 0; i < 8; i++) {
                IntVector x = IntVector.fromArray(I, v, base + 2 * i * IL), z = IntVector.fromArray(I, v, base + (2 * i + 1) * IL);
                x.blend(z, H8).add(z.blend(x, H8).rearrange(X8)).intoArray(v, base + i * IL);
            }
        for (int i = 0; i < 4; i++) {
            IntVector x = IntVector.fromArray(I, v, base + 2 * i * IL), z = IntVector.fromArray(I, v, base + (2 * i + 1) * IL);
            x.blend(z, H4).add(z.blend(x, H4).rearrange(X4)).intoArray(v, base + i * IL);
        }
        IntVector x0 = IntVector.fromArray(I, v, base), x1 = IntVector.fromArray(I, v, base + IL);
        IntVector x2 = IntVector.fromArray(I, v, base + 2 * IL), x3 = IntVector.fromArray(I, v, base + 3 * IL);
        IntVector y0 = x0.blend(x1, H2).add(x1.blend(x0, H2).rearrange(X2));
        IntVector y1 = x2.blend(x3, H2).add(x3.blend(x2, H2).rearrange(X2));
        y0.blend(y1, H1).add(y1.blend(y0, H1).rearrange(X1)).intoArray(v, base);
    }

    /**
     * {@link #q4Block}'s integer work without its reductions: the lane partial sums of {@code sum_j sc_j sum_i q_i a_i}
     * into g.sums at vector slot {@code slot}, and the block's d, dmin and packed mins at index ri.
     */
    private static void q4Sums(MemorySegment s, long p, Q8K a, int o, KQuantGroup g, int slot, int ri) {
        short[] aq = a.p4;
        long h0 = s.get(I64, p), h1 = s.get(I64, p + 8);
        int u0 = (int) (h0 >>> 32), u2 = (int) (h1 >>> 32);
        int sc03 = u0 & 0x3f3f3f3f, sc47 = (u2 & 0x0f0f0f0f) | (((u0 >>> 6) & 0x03030303) << 4);
        IntVector scs = IntVector.broadcast(I, sc03).blend(IntVector.broadcast(I, sc47), UPPER)
                .lanewise(VectorOperators.LSHR, IntVector.fromArray(I, BYTE_SHIFT, 0)).and(0xFF);
        IntVector isum = IntVector.zero(I);
        for (int t = 0; t < CH4; t++) {
            ShortVector x = ShortVector.fromMemorySegment(S, s, p + Q4_K.QS + 2L * SL * t, LE);
            int x0 = o + 4 * SL * t;
            ShortVector lo = x.and((short) 0xF).mul(ShortVector.fromArray(S, aq, x0))
                    .add(x.lanewise(VectorOperators.LSHR, 8).and((short) 0xF).mul(ShortVector.fromArray(S, aq, x0 + SL)));
            ShortVector hi = x.lanewise(VectorOperators.LSHR, 4).and((short) 0xF).mul(ShortVector.fromArray(S, aq, x0 + 2 * SL))
                    .add(x.lanewise(VectorOperators.LSHR, 12).mul(ShortVector.fromArray(S, aq, x0 + 3 * SL)));
            IntVector li = lo.reinterpretAsInts(), hj = hi.reinterpretAsInts();
            li = li.add(li.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            hj = hj.add(hj.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            isum = isum.add(li.mul(scs.rearrange(q4Scales(2 * t)))).add(hj.mul(scs.rearrange(q4Scales(2 * t + 1))));
        }
        isum.intoArray(g.sums, slot * IL);
        int u1 = (int) h1;
        g.mins03[ri] = u1 & 0x3f3f3f3f;
        g.mins47[ri] = ((u2 >>> 4) & 0x0f0f0f0f) | (((u1 >>> 6) & 0x03030303) << 4);
        g.d[ri] = Float.float16ToFloat((short) h0);
        g.dmin[ri] = Float.float16ToFloat((short) (h0 >>> 16));
    }

    /**
     * Token tiling (docs/quantization.md, "Small-M products"): the Q4_K row at p times two activation rows of a (from
     * elements o0 and o1), out[0] and out[1] each exactly {@link #q4_k} of that row (the code unpacking and the scale
     * permutes are shared, the integer sums are per token, the float combination per super-block and token is the
     * same expression in the same order).
     */
    static void q4_k2(MemorySegment s, long p, Q8K a, int o0, int o1, int nb, float[] out) {
        float acc0 = 0f, acc1 = 0f;
        for (int b = 0; b < nb; b++) {
            q4Block2(s, p + (long) b * Q4_K.BLOCK_BYTES, a, o0 + 256 * b, o1 + 256 * b, out);
            acc0 += out[0];
            acc1 += out[1];
        }
        out[0] = acc0;
        out[1] = acc1;
    }

    /** The Q6_K row at p times two activation rows, as {@link #q4_k2}: out[i] exactly {@link #q6_k} of token i. */
    static void q6_k2(MemorySegment s, long p, Q8K a, int o0, int o1, int nb, float[] out) {
        float acc0 = 0f, acc1 = 0f;
        for (int b = 0; b < nb; b++) {
            q6Block2(s, p + (long) b * Q6_K.BLOCK_BYTES, a, o0 + 256 * b, o1 + 256 * b, out);
            acc0 += out[0];
            acc1 += out[1];
        }
        out[0] = acc0;
        out[1] = acc1;
    }

    /** {@link #q4Block} for two activation blocks (o0, o1) into out[0], out[1]. */
    private static void q4Block2(MemorySegment s, long p, Q8K a, int o0, int o1, float[] out) {
        short[] aq = a.p4;
        long h0 = s.get(I64, p), h1 = s.get(I64, p + 8);
        int u0 = (int) (h0 >>> 32), u2 = (int) (h1 >>> 32);
        int sc03 = u0 & 0x3f3f3f3f, sc47 = (u2 & 0x0f0f0f0f) | (((u0 >>> 6) & 0x03030303) << 4);
        IntVector scs = IntVector.broadcast(I, sc03).blend(IntVector.broadcast(I, sc47), UPPER)
                .lanewise(VectorOperators.LSHR, IntVector.fromArray(I, BYTE_SHIFT, 0)).and(0xFF);
        IntVector isum0 = IntVector.zero(I), isum1 = isum0;
        for (int t = 0; t < CH4; t++) {
            ShortVector x = ShortVector.fromMemorySegment(S, s, p + Q4_K.QS + 2L * SL * t, LE);
            ShortVector c0 = x.and((short) 0xF), c1 = x.lanewise(VectorOperators.LSHR, 8).and((short) 0xF);
            ShortVector c2 = x.lanewise(VectorOperators.LSHR, 4).and((short) 0xF), c3 = x.lanewise(VectorOperators.LSHR, 12);
            IntVector sLo = IntVector.fromArray(I, SC4, 2 * t * IL).selectFrom(scs), sHi = IntVector.fromArray(I, SC4, (2 * t + 1) * IL).selectFrom(scs);
            int x0 = o0 + 4 * SL * t;
            ShortVector lo = c0.mul(ShortVector.fromArray(S, aq, x0)).add(c1.mul(ShortVector.fromArray(S, aq, x0 + SL)));
            ShortVector hi = c2.mul(ShortVector.fromArray(S, aq, x0 + 2 * SL)).add(c3.mul(ShortVector.fromArray(S, aq, x0 + 3 * SL)));
            IntVector li = lo.reinterpretAsInts(), hj = hi.reinterpretAsInts();
            li = li.add(li.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            hj = hj.add(hj.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            isum0 = isum0.add(li.mul(sLo)).add(hj.mul(sHi));
            x0 = o1 + 4 * SL * t;
            lo = c0.mul(ShortVector.fromArray(S, aq, x0)).add(c1.mul(ShortVector.fromArray(S, aq, x0 + SL)));
            hi = c2.mul(ShortVector.fromArray(S, aq, x0 + 2 * SL)).add(c3.mul(ShortVector.fromArray(S, aq, x0 + 3 * SL)));
            li = lo.reinterpretAsInts();
            hj = hi.reinterpretAsInts();
            li = li.add(li.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            hj = hj.add(hj.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            isum1 = isum1.add(li.mul(sLo)).add(hj.mul(sHi));
        }
        int u1 = (int) h1, m03 = u1 & 0x3f3f3f3f, m47 = ((u2 >>> 4) & 0x0f0f0f0f) | (((u1 >>> 6) & 0x03030303) << 4);
        IntVector mins = IntVector.broadcast(I8, m03).blend(IntVector.broadcast(I8, m47), UPPER8).lanewise(VectorOperators.LSHR, IntVector.fromArray(I8, BYTE_SHIFT, 0)).and(0xFF);
        int msum0 = mins.mul(IntVector.fromArray(I8, a.bsum, o0 / 32)).reduceLanes(VectorOperators.ADD);
        int msum1 = mins.mul(IntVector.fromArray(I8, a.bsum, o1 / 32)).reduceLanes(VectorOperators.ADD);
        float d = Float.float16ToFloat((short) h0), dmin = Float.float16ToFloat((short) (h0 >>> 16));
        float dy0 = a.d[o0 / 256], dy1 = a.d[o1 / 256];
        out[0] = (d * dy0) * (float) isum0.reduceLanes(VectorOperators.ADD) - (dmin * dy0) * (float) msum0;
        out[1] = (d * dy1) * (float) isum1.reduceLanes(VectorOperators.ADD) - (dmin * dy1) * (float) msum1;
    }

    /** {@link #q6Block} for two activation blocks (o0, o1) into out[0], out[1]. */
    private static void q6Block2(MemorySegment s, long p, Q8K a, int o0, int o1, float[] out) {
        short[] aq = a.p6;
        ShortVector m0f = ShortVector.broadcast(S, (short) 0x0F0F), m30 = ShortVector.broadcast(S, (short) 0x3030), mff = ShortVector.broadcast(S, (short) 0xFF);
        IntVector isum0 = IntVector.zero(I), isum1 = isum0, corr0 = isum0, corr1 = isum0;
        ShortVector qhAll = SL > 16 ? ShortVector.fromMemorySegment(S, s, p + Q6_K.QH, LE) : null;
        IntVector scAll = IL == 16 ? (IntVector) ByteVector.fromMemorySegment(BI, s, p + Q6_K.SCALES, LE).convertShape(VectorOperators.B2I, I, 0) : null;
        for (int h = 0; h < 2; h++) {
            ShortVector qh = SL > 16 ? ShortVector.fromArray(S, DUP, h * SL).selectFrom(qhAll)
                    : ShortVector.fromMemorySegment(S, s, p + Q6_K.QH + 32L * h, LE);
            IntVector scs = IL == 16 ? scAll
                    : (IntVector) ByteVector.fromMemorySegment(BI, s, p + Q6_K.SCALES + 8L * h, LE).convertShape(VectorOperators.B2I, I, 0);
            if (IL != 16 || h == 0) {
                corr0 = corr0.add(scs.mul(IntVector.fromArray(I, a.bsum16, o0 / 16 + (IL == 16 ? 0 : 8 * h))));
                corr1 = corr1.add(scs.mul(IntVector.fromArray(I, a.bsum16, o1 / 16 + (IL == 16 ? 0 : 8 * h))));
            }
            for (int t = 0; t < CH6; t++) {
                ShortVector x = ShortVector.fromMemorySegment(S, s, p + 64L * h + 2L * SL * t, LE);
                ShortVector q = qh.lanewise(VectorOperators.LSHR, ShortVector.fromArray(S, SH6, t * SL));
                ShortVector cl = x.and(m0f).or(q.lanewise(VectorOperators.LSHL, 4).and(m30));
                ShortVector ch = x.lanewise(VectorOperators.LSHR, 4).and(m0f).or(q.and(m30));
                ShortVector c0 = cl.and(mff), c1 = cl.lanewise(VectorOperators.LSHR, 8), c2 = ch.and(mff), c3 = ch.lanewise(VectorOperators.LSHR, 8);
                IntVector sLo = IntVector.fromArray(I, SC6, (2 * h * CH6 + t) * IL).selectFrom(scs);
                IntVector sHi = IntVector.fromArray(I, SC6, ((2 * h + 1) * CH6 + t) * IL).selectFrom(scs);
                int x0 = o0 + 128 * h + 4 * SL * t;
                ShortVector lo = c0.mul(ShortVector.fromArray(S, aq, x0)).add(c1.mul(ShortVector.fromArray(S, aq, x0 + SL)));
                ShortVector hi = c2.mul(ShortVector.fromArray(S, aq, x0 + 2 * SL)).add(c3.mul(ShortVector.fromArray(S, aq, x0 + 3 * SL)));
                IntVector li = lo.reinterpretAsInts(), hj = hi.reinterpretAsInts();
                li = li.add(li.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
                hj = hj.add(hj.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
                isum0 = isum0.add(li.mul(sLo)).add(hj.mul(sHi));
                x0 = o1 + 128 * h + 4 * SL * t;
                lo = c0.mul(ShortVector.fromArray(S, aq, x0)).add(c1.mul(ShortVector.fromArray(S, aq, x0 + SL)));
                hi = c2.mul(ShortVector.fromArray(S, aq, x0 + 2 * SL)).add(c3.mul(ShortVector.fromArray(S, aq, x0 + 3 * SL)));
                li = lo.reinterpretAsInts();
                hj = hi.reinterpretAsInts();
                li = li.add(li.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
                hj = hj.add(hj.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
                isum1 = isum1.add(li.mul(sLo)).add(hj.mul(sHi));
            }
        }
        float d = Float.float16ToFloat(s.get(I16, p + Q6_K.D));
        out[0] = (d * a.d[o0 / 256]) * (float) isum0.sub(corr0.lanewise(VectorOperators.LSHL, 5)).reduceLanes(VectorOperators.ADD);
        out[1] = (d * a.d[o1 / 256]) * (float) isum1.sub(corr1.lanewise(VectorOperators.LSHL, 5)).reduceLanes(VectorOperators.ADD);
    }

    /*
     * The integer work of one super-block is a method of its own, too large in bytecode for C2 to inline into the
     * row loop, so it is compiled alone: one compilation holding it with more runs past the node count up to which C2
     * inlines the Vector API's small methods, and a Vector API call C2 does not inline costs an allocation and a call.
     * Only primitives cross these calls.
     */

    /** Q4_K super-block at p: (d * dy) * isum - (dmin * dy) * msum. */
    private static float q4Block(MemorySegment s, long p, Q8K a, int o) {
        short[] aq = a.p4;
        long h0 = s.get(I64, p), h1 = s.get(I64, p + 8);          // d, dmin, the 12 scale bytes
        int u0 = (int) (h0 >>> 32), u2 = (int) (h1 >>> 32);
        // ggml's unpacking of the 12 scale bytes: scales 0-3 and 4-7, one per byte
        int sc03 = u0 & 0x3f3f3f3f, sc47 = (u2 & 0x0f0f0f0f) | (((u0 >>> 6) & 0x03030303) << 4);
        // the 8 scales one per int lane (16 lanes: twice)
        IntVector scs = IntVector.broadcast(I, sc03).blend(IntVector.broadcast(I, sc47), UPPER)
                .lanewise(VectorOperators.LSHR, IntVector.fromArray(I, BYTE_SHIFT, 0)).and(0xFF);
        IntVector isum = IntVector.zero(I);
        for (int t = 0; t < CH4; t++) {
            ShortVector x = ShortVector.fromMemorySegment(S, s, p + Q4_K.QS + 2L * SL * t, LE);
            int x0 = o + 4 * SL * t;
            ShortVector lo = x.and((short) 0xF).mul(ShortVector.fromArray(S, aq, x0))
                    .add(x.lanewise(VectorOperators.LSHR, 8).and((short) 0xF).mul(ShortVector.fromArray(S, aq, x0 + SL)));
            ShortVector hi = x.lanewise(VectorOperators.LSHR, 4).and((short) 0xF).mul(ShortVector.fromArray(S, aq, x0 + 2 * SL))
                    .add(x.lanewise(VectorOperators.LSHR, 12).mul(ShortVector.fromArray(S, aq, x0 + 3 * SL)));
            // adjacent 16-bit lanes summed into 32-bit lanes (exact for |sum| < 2^15): (i + (i << 16)) >> 16 per int
            IntVector li = lo.reinterpretAsInts(), hj = hi.reinterpretAsInts();
            li = li.add(li.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            hj = hj.add(hj.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            isum = isum.add(li.mul(IntVector.fromArray(I, SC4, 2 * t * IL).selectFrom(scs)))
                    .add(hj.mul(IntVector.fromArray(I, SC4, (2 * t + 1) * IL).selectFrom(scs)));
        }
        // the mins term: sum_j m_j * bsum_j, the 8 mins one per int lane
        int u1 = (int) h1, m03 = u1 & 0x3f3f3f3f, m47 = ((u2 >>> 4) & 0x0f0f0f0f) | (((u1 >>> 6) & 0x03030303) << 4);
        int msum = IntVector.broadcast(I8, m03).blend(IntVector.broadcast(I8, m47), UPPER8).lanewise(VectorOperators.LSHR, IntVector.fromArray(I8, BYTE_SHIFT, 0))
                .and(0xFF).mul(IntVector.fromArray(I8, a.bsum, o / 32)).reduceLanes(VectorOperators.ADD);
        float dy = a.d[o / 256];
        return (Float.float16ToFloat((short) h0) * dy) * (float) isum.reduceLanes(VectorOperators.ADD) - (Float.float16ToFloat((short) (h0 >>> 16)) * dy) * (float) msum;
    }

    /** Q5_K super-block at p: (d * dy) * isum - (dmin * dy) * msum. */
    private static float q5Block(MemorySegment s, long p, Q8K a, int o) {
        short[] aq = a.p4;
        ShortVector m0f = ShortVector.broadcast(S, (short) 0x0F0F), m10 = ShortVector.broadcast(S, (short) 0x1010), mff = ShortVector.broadcast(S, (short) 0xFF);
        long h0 = s.get(I64, p), h1 = s.get(I64, p + 8);          // d, dmin, the 12 scale bytes
        int u0 = (int) (h0 >>> 32), u2 = (int) (h1 >>> 32);
        int sc03 = u0 & 0x3f3f3f3f, sc47 = (u2 & 0x0f0f0f0f) | (((u0 >>> 6) & 0x03030303) << 4);
        // the 8 scales one per int lane (16 lanes: twice)
        IntVector scs = IntVector.broadcast(I, sc03).blend(IntVector.broadcast(I, sc47), UPPER)
                .lanewise(VectorOperators.LSHR, IntVector.fromArray(I, BYTE_SHIFT, 0)).and(0xFF);
        // the 32 qh bytes as 16 shorts (lane i: qh[2i], qh[2i + 1]); at 512 bits in both halves of the vector
        ShortVector qh = ShortVector.fromMemorySegment(S, s, p + Q5_K.QH, LE);
        if (SL > 16) qh = ShortVector.fromArray(S, DUP, 0).selectFrom(qh);
        IntVector isum = IntVector.zero(I);
        for (int t = 0; t < CH4; t++) {
            ShortVector x = ShortVector.fromMemorySegment(S, s, p + Q5_K.QS + 2L * SL * t, LE);
            ShortVector h = qh.lanewise(VectorOperators.LSHR, ShortVector.fromArray(S, SH4, t * SL));
            int x0 = o + 4 * SL * t;
            // both bytes' codes at once: low nibbles and fifth bits in bits 0-4 (even byte) and 8-12 (odd byte)
            ShortVector cl = x.and(m0f).or(h.lanewise(VectorOperators.LSHL, 4).and(m10));
            ShortVector ch = x.lanewise(VectorOperators.LSHR, 4).and(m0f).or(h.lanewise(VectorOperators.LSHL, 3).and(m10));
            ShortVector lo = cl.and(mff).mul(ShortVector.fromArray(S, aq, x0)).add(cl.lanewise(VectorOperators.LSHR, 8).mul(ShortVector.fromArray(S, aq, x0 + SL)));
            ShortVector hi = ch.and(mff).mul(ShortVector.fromArray(S, aq, x0 + 2 * SL)).add(ch.lanewise(VectorOperators.LSHR, 8).mul(ShortVector.fromArray(S, aq, x0 + 3 * SL)));
            // adjacent 16-bit lanes summed into 32-bit lanes (exact for |sum| < 2^15): (i + (i << 16)) >> 16 per int
            IntVector li = lo.reinterpretAsInts(), hj = hi.reinterpretAsInts();
            li = li.add(li.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            hj = hj.add(hj.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            isum = isum.add(li.mul(IntVector.fromArray(I, SC4, 2 * t * IL).selectFrom(scs)))
                    .add(hj.mul(IntVector.fromArray(I, SC4, (2 * t + 1) * IL).selectFrom(scs)));
        }
        // the mins term: sum_j m_j * bsum_j, the 8 mins one per int lane
        int u1 = (int) h1, m03 = u1 & 0x3f3f3f3f, m47 = ((u2 >>> 4) & 0x0f0f0f0f) | (((u1 >>> 6) & 0x03030303) << 4);
        int msum = IntVector.broadcast(I8, m03).blend(IntVector.broadcast(I8, m47), UPPER8).lanewise(VectorOperators.LSHR, IntVector.fromArray(I8, BYTE_SHIFT, 0))
                .and(0xFF).mul(IntVector.fromArray(I8, a.bsum, o / 32)).reduceLanes(VectorOperators.ADD);
        float dy = a.d[o / 256];
        return (Float.float16ToFloat((short) h0) * dy) * (float) isum.reduceLanes(VectorOperators.ADD) - (Float.float16ToFloat((short) (h0 >>> 16)) * dy) * (float) msum;
    }

    /** Q6_K super-block at p: (d * dy) * isum, isum = sum_j sc_j sum_i (q_i - 32) a_i as sum_j sc_j (sum_i q_i a_i - 32 bsum16_j). */
    private static float q6Block(MemorySegment s, long p, Q8K a, int o) {
        short[] aq = a.p6;
        ShortVector m0f = ShortVector.broadcast(S, (short) 0x0F0F), m30 = ShortVector.broadcast(S, (short) 0x3030), mff = ShortVector.broadcast(S, (short) 0xFF);
        IntVector isum = IntVector.zero(I), corr = IntVector.zero(I);
        // 512 bits: all 64 qh bytes in one vector, all 16 int8 scales in one
        ShortVector qhAll = SL > 16 ? ShortVector.fromMemorySegment(S, s, p + Q6_K.QH, LE) : null;
        IntVector scAll = IL == 16 ? (IntVector) ByteVector.fromMemorySegment(BI, s, p + Q6_K.SCALES, LE).convertShape(VectorOperators.B2I, I, 0) : null;
        for (int h = 0; h < 2; h++) {
            ShortVector qh = SL > 16 ? ShortVector.fromArray(S, DUP, h * SL).selectFrom(qhAll)
                    : ShortVector.fromMemorySegment(S, s, p + Q6_K.QH + 32L * h, LE);
            IntVector scs = IL == 16 ? scAll
                    : (IntVector) ByteVector.fromMemorySegment(BI, s, p + Q6_K.SCALES + 8L * h, LE).convertShape(VectorOperators.B2I, I, 0);
            if (IL != 16 || h == 0) corr = corr.add(scs.mul(IntVector.fromArray(I, a.bsum16, o / 16 + (IL == 16 ? 0 : 8 * h))));
            for (int t = 0; t < CH6; t++) {
                ShortVector x = ShortVector.fromMemorySegment(S, s, p + 64L * h + 2L * SL * t, LE);
                ShortVector q = qh.lanewise(VectorOperators.LSHR, ShortVector.fromArray(S, SH6, t * SL));
                int x0 = o + 128 * h + 4 * SL * t;
                // both bytes' codes at once: 4 + 2 bits in bits 0-5 (even byte) and 8-13 (odd byte)
                ShortVector cl = x.and(m0f).or(q.lanewise(VectorOperators.LSHL, 4).and(m30));
                ShortVector ch = x.lanewise(VectorOperators.LSHR, 4).and(m0f).or(q.and(m30));
                ShortVector lo = cl.and(mff).mul(ShortVector.fromArray(S, aq, x0)).add(cl.lanewise(VectorOperators.LSHR, 8).mul(ShortVector.fromArray(S, aq, x0 + SL)));
                ShortVector hi = ch.and(mff).mul(ShortVector.fromArray(S, aq, x0 + 2 * SL)).add(ch.lanewise(VectorOperators.LSHR, 8).mul(ShortVector.fromArray(S, aq, x0 + 3 * SL)));
                IntVector li = lo.reinterpretAsInts(), hj = hi.reinterpretAsInts();
                li = li.add(li.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
                hj = hj.add(hj.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
                isum = isum.add(li.mul(IntVector.fromArray(I, SC6, (2 * h * CH6 + t) * IL).selectFrom(scs)))
                        .add(hj.mul(IntVector.fromArray(I, SC6, ((2 * h + 1) * CH6 + t) * IL).selectFrom(scs)));
            }
        }
        return (Float.float16ToFloat(s.get(I16, p + Q6_K.D)) * a.d[o / 256]) * (float) isum.sub(corr.lanewise(VectorOperators.LSHL, 5)).reduceLanes(VectorOperators.ADD);
    }
}
