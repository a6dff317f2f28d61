package dev.jseek.kernels;

import dev.jseek.tensor.Q4_K;
import dev.jseek.tensor.Q5_K;
import dev.jseek.tensor.Q6_K;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Integer dot products of one K-quant weight row (Q4_K, Q5_K, Q6_K; layouts in {@link Q4_K}, {@link Q5_K},
 * {@link Q6_K}) with one activation row quantized to {@link Q8K}, the decode GEMV's inner kernels (ggml's
 * {@code ggml_vec_dot_q4_K_q8_K} and friends, docs/quantization.md). One fused, monomorphic kernel per format: the
 * codes are loaded as bytes, zero-extended to 16-bit lanes and taken apart with shifts and masks, multiplied with
 * the int8 activation codes in 16-bit lanes (|code x activation| <= 31 * 127 fits), adjacent products summed into
 * 32-bit lanes, multiplied by the integer sub-block scales and accumulated exactly in 32-bit lanes. Per super-block
 * the integer sums are reduced (exact: integer addition does not depend on order or vector width) and enter the
 * float result as
 * <pre>
 *   Q4_K, Q5_K:  acc = acc + (d * dy) * isum;  acc = acc - (dmin * dy) * msum     isum = sum_j sc_j sum_i q_i a_i,
 *                                                                                 msum = sum_j m_j sum_i a_i
 *   Q6_K:        acc = acc + (d * dy) * isum                                      isum = sum_j sc_j sum_i (q_i - 32) a_i
 * </pre>
 * in block order, float32, no fused multiply-add ({@code dy} the activation block's scale, d/dmin the weight
 * block's binary16 scales, ints converted to float with round-to-nearest). The result is therefore a function of the
 * bytes alone: equal to the scalar twin {@link dev.jseek.kernels.scalar.ScalarKQuantDot} bit for bit at 256 and 512
 * bits, and the same for a token alone or in a batch. It differs from the float dot of the dequantized weights by the
 * activation rounding (at most half an activation step per element).
 */
final class KQuantDot {
    private KQuantDot() {}

    /** 16-bit lanes filling a vector of {@code jseek.vectorBits}. */
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(Vec.LANES * 32));
    private static final int SL = S.length();
    /** The bytes that widen to one S vector. */
    private static final VectorSpecies<Byte> BH = VectorSpecies.of(byte.class, VectorShape.forBitSize(SL * 8));
    private static final VectorSpecies<Integer> I = Vec.I;
    private static final int IL = I.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    /**
     * Q6_K: the pair-sum lanes of a vector that lie in the second of the two 16-value sub-blocks it covers (lanes
     * i with 2i >= 16); none at 256 bits, where a vector covers one sub-block.
     */
    private static final VectorMask<Integer> SECOND = VectorMask.fromLong(I, IL > 8 ? 0xFF00L : 0L);

    private static float f16(MemorySegment s, long p) { return Float.float16ToFloat(s.get(I16, p)); }

    /** SL weight bytes at p, zero-extended to 16-bit lanes. */
    private static ShortVector u8(MemorySegment s, long p) {
        return (ShortVector) ByteVector.fromMemorySegment(BH, s, p, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
    }

    /** Adjacent 16-bit lanes summed into 32-bit lanes (exact for |lane| < 2^14): (i + (i << 16)) >> 16 per int. */
    private static IntVector pairSum(ShortVector p) {
        IntVector i = p.reinterpretAsInts();
        return i.add(i.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
    }

    /**
     * The Q4_K row of nb super-blocks at byte p times the activation codes of a from element o (a multiple of 256).
     */
    static float q4_k(MemorySegment s, long p, Q8K a, int o, int nb) {
        short[] aq = a.q;
        float acc = 0f;
        for (int b = 0; b < nb; b++, p += Q4_K.BLOCK_BYTES, o += 256) {
            long h0 = s.get(I64, p), h1 = s.get(I64, p + 8);          // d, dmin, the 12 scale bytes
            int u0 = (int) (h0 >>> 32), u1 = (int) h1, u2 = (int) (h1 >>> 32);
            // ggml's unpacking of the 12 scale bytes: scales 0-3, 4-7 and mins 0-3, 4-7, one per byte
            int sc03 = u0 & 0x3f3f3f3f, sc47 = (u2 & 0x0f0f0f0f) | (((u0 >>> 6) & 0x03030303) << 4);
            int m03 = u1 & 0x3f3f3f3f, m47 = ((u2 >>> 4) & 0x0f0f0f0f) | (((u1 >>> 6) & 0x03030303) << 4);
            IntVector isum = IntVector.zero(I);
            for (int c = 0; c < 4; c++) {
                int scs = (c < 2 ? sc03 : sc47) >>> (16 * (c & 1));
                long q = p + Q4_K.QS + 32L * c;
                int x = o + 64 * c;
                ShortVector lo = ShortVector.zero(S), hi = lo;
                for (int l = 0; l < 32; l += SL) {
                    ShortVector v = u8(s, q + l);
                    lo = lo.add(v.and((short) 0xF).mul(ShortVector.fromArray(S, aq, x + l)));
                    hi = hi.add(v.lanewise(VectorOperators.LSHR, 4).mul(ShortVector.fromArray(S, aq, x + 32 + l)));
                }
                isum = isum.add(pairSum(lo).mul(scs & 0xFF)).add(pairSum(hi).mul((scs >>> 8) & 0xFF));
            }
            int msum = minSum(a.bsum, o / 32, m03, m47);
            float dy = a.d[o / 256];
            acc += (Float.float16ToFloat((short) h0) * dy) * (float) isum.reduceLanes(VectorOperators.ADD);
            acc -= (Float.float16ToFloat((short) (h0 >>> 16)) * dy) * (float) msum;
        }
        return acc;
    }

    /** The Q5_K row of nb super-blocks at byte p times the activation codes of a from element o. */
    static float q5_k(MemorySegment s, long p, Q8K a, int o, int nb) {
        short[] aq = a.q;
        float acc = 0f;
        for (int b = 0; b < nb; b++, p += Q5_K.BLOCK_BYTES, o += 256) {
            long h0 = s.get(I64, p), h1 = s.get(I64, p + 8);          // d, dmin, the 12 scale bytes
            int u0 = (int) (h0 >>> 32), u1 = (int) h1, u2 = (int) (h1 >>> 32);
            int sc03 = u0 & 0x3f3f3f3f, sc47 = (u2 & 0x0f0f0f0f) | (((u0 >>> 6) & 0x03030303) << 4);
            int m03 = u1 & 0x3f3f3f3f, m47 = ((u2 >>> 4) & 0x0f0f0f0f) | (((u1 >>> 6) & 0x03030303) << 4);
            IntVector isum = IntVector.zero(I);
            for (int c = 0; c < 4; c++) {
                int scs = (c < 2 ? sc03 : sc47) >>> (16 * (c & 1));
                long q = p + Q5_K.QS + 32L * c;
                int x = o + 64 * c;
                ShortVector lo = ShortVector.zero(S), hi = lo;
                for (int l = 0; l < 32; l += SL) {
                    ShortVector v = u8(s, q + l), h = u8(s, p + Q5_K.QH + l).lanewise(VectorOperators.LSHR, 2 * c);
                    ShortVector vl = v.and((short) 0xF).or(h.and((short) 1).lanewise(VectorOperators.LSHL, 4));
                    ShortVector vh = v.lanewise(VectorOperators.LSHR, 4).or(h.and((short) 2).lanewise(VectorOperators.LSHL, 3));
                    lo = lo.add(vl.mul(ShortVector.fromArray(S, aq, x + l)));
                    hi = hi.add(vh.mul(ShortVector.fromArray(S, aq, x + 32 + l)));
                }
                isum = isum.add(pairSum(lo).mul(scs & 0xFF)).add(pairSum(hi).mul((scs >>> 8) & 0xFF));
            }
            int msum = minSum(a.bsum, o / 32, m03, m47);
            float dy = a.d[o / 256];
            acc += (Float.float16ToFloat((short) h0) * dy) * (float) isum.reduceLanes(VectorOperators.ADD);
            acc -= (Float.float16ToFloat((short) (h0 >>> 16)) * dy) * (float) msum;
        }
        return acc;
    }

    /** sum_j m_j * (code sum of 32-group j) over the 8 sub-blocks of a super-block (mins packed one per byte). */
    private static int minSum(int[] bsum, int g, int m03, int m47) {
        return (m03 & 0xFF) * bsum[g] + ((m03 >>> 8) & 0xFF) * bsum[g + 1] + ((m03 >>> 16) & 0xFF) * bsum[g + 2] + (m03 >>> 24) * bsum[g + 3]
                + (m47 & 0xFF) * bsum[g + 4] + ((m47 >>> 8) & 0xFF) * bsum[g + 5] + ((m47 >>> 16) & 0xFF) * bsum[g + 6] + (m47 >>> 24) * bsum[g + 7];
    }

    /**
     * The int8 scale of each pair-sum lane of a vector whose values start at sub-block j of the 8 packed in sc (one int8 per byte): sub-block j,
     * and at 512 bits j + 1 in the {@link #SECOND} lanes.
     */
    private static IntVector scales(long sc, int j) {
        IntVector v = IntVector.broadcast(I, (byte) (sc >>> (8 * j)));
        return IL > 8 ? v.blend((byte) (sc >>> (8 * j + 8)), SECOND) : v;
    }

    /** The Q6_K row of nb super-blocks at byte p times the activation codes of a from element o. */
    static float q6_k(MemorySegment s, long p, Q8K a, int o, int nb) {
        short[] aq = a.q;
        float acc = 0f;
        for (int b = 0; b < nb; b++, p += Q6_K.BLOCK_BYTES, o += 256) {
            IntVector isum = IntVector.zero(I);
            for (int h = 0; h < 2; h++) {
                long ql = p + 64L * h, qh = p + Q6_K.QH + 32L * h, sc = s.get(I64, p + Q6_K.SCALES + 8L * h);
                int x = o + 128 * h;
                for (int l = 0; l < 32; l += SL) {
                    ShortVector hb = u8(s, qh + l);
                    // value 32 k + l of the half: nibble (k >> 1) of ql[32 (k & 1) + l], bits 2k, 2k + 1 of qh[l]
                    // (a loop, not four written-out copies: C2 stops inlining the Vector API in too large a method)
                    for (int k = 0; k < 4; k++) {
                        ShortVector q = u8(s, ql + 32 * (k & 1) + l).lanewise(VectorOperators.LSHR, 4 * (k >> 1)).and((short) 0xF)
                                .or(hb.lanewise(VectorOperators.LSHR, 2 * k).and((short) 3).lanewise(VectorOperators.LSHL, 4)).sub((short) 32);
                        isum = isum.add(pairSum(q.mul(ShortVector.fromArray(S, aq, x + 32 * k + l))).mul(scales(sc, l / 16 + 2 * k)));
                    }
                }
            }
            acc += (f16(s, p + Q6_K.D) * a.d[o / 256]) * (float) isum.reduceLanes(VectorOperators.ADD);
        }
        return acc;
    }
}
