package dev.jseek.kernels;

import dev.jseek.tensor.DType;
import dev.jseek.tensor.Q4_K;
import dev.jseek.tensor.Q5_K;
import dev.jseek.tensor.Q6_K;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API decoders of ggml's block types (layouts in {@link dev.jseek.tensor.Q8_0}, {@link Q4_K}, {@link Q5_K},
 * {@link Q6_K}): {@link Vec#LANES} codes are loaded as bytes, widened to int lanes, their bit fields taken apart with
 * shifts and masks, converted to floats and scaled with the same float32 operations as the scalar references ({@code q * d} for
 * Q8_0, {@code (d*sc) * q - (dmin*m)} for Q4_K/Q5_K, {@code (d*sc) * (q - 32)} for Q6_K; no fused multiply-add), so
 * the results are bit-equal to them (and to gguf-py). Used by {@link WeightRows#decode} (GEMM packing, embedding
 * rows, the chunked GEMV); the fused decode-and-dot of decode steps is {@link QuantGemv}.
 */
final class QuantRows {
    private QuantRows() {}

    private static final VectorSpecies<Float> F = Vec.F;
    private static final int L = Vec.LANES;
    /** L byte lanes (64 or 128 bits). */
    static final VectorSpecies<Byte> BL = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);
    private static final ThreadLocal<float[]> EDGE = ThreadLocal.withInitial(() -> new float[256]);

    static float f16(MemorySegment s, long p) { return Float.float16ToFloat(s.get(I16, p)); }

    static ByteVector bytes(MemorySegment s, long p) { return ByteVector.fromMemorySegment(BL, s, p, LE); }

    static FloatVector toFloat(ByteVector b) { return (FloatVector) b.convertShape(VectorOperators.B2F, F, 0); }

    /**
     * L bytes at p widened (sign-extended) to int lanes: bit fields are taken apart in int lanes, where x86 has
     * shifts (it has none for byte lanes, which the JIT would emulate at several times the cost).
     */
    static IntVector ints(MemorySegment s, long p) { return (IntVector) bytes(s, p).convertShape(VectorOperators.B2I, Vec.I, 0); }

    static FloatVector toFloat(IntVector i) { return (FloatVector) i.convertShape(VectorOperators.I2F, F, 0); }

    /** Bits [shift, shift + width) of each lane. */
    static IntVector bits(IntVector v, int shift, int mask) {
        return shift == 0 ? v.and(mask) : v.lanewise(VectorOperators.ASHR, shift).and(mask);
    }

    /**
     * Elements [c0, c0 + len) of row r of a block-typed weight (rowBytes bytes per row starting at byte 0 of seg)
     * into dst[dstOff ..]. Whole blocks are decoded in place; a block cut by the range is decoded into a per-thread
     * buffer and copied.
     */
    static void decode(DType t, MemorySegment seg, long rowBytes, int r, int c0, int len, float[] dst, int dstOff) {
        int bs = t.blockSize;
        long row = r * rowBytes;
        int c = c0, end = c0 + len;
        while (c < end) {
            int b = c / bs, inB = c - b * bs;
            long p = row + (long) b * t.blockBytes;
            if (inB == 0 && c + bs <= end) {
                int n = (end - c) / bs;
                decodeBlocks(t, seg, p, n, dst, dstOff + (c - c0));
                c += n * bs;
            } else {
                float[] tmp = EDGE.get();
                decodeBlocks(t, seg, p, 1, tmp, 0);
                int take = Math.min(bs - inB, end - c);
                System.arraycopy(tmp, inB, dst, dstOff + (c - c0), take);
                c += take;
            }
        }
    }

    /** n whole blocks starting at byte p into dst[o .. o + n * blockSize). */
    static void decodeBlocks(DType t, MemorySegment s, long p, int n, float[] dst, int o) {
        switch (t) {
            case Q8_0 -> { for (int b = 0; b < n; b++) q8_0(s, p + 34L * b, dst, o + 32 * b); }
            case Q4_K -> { for (int b = 0; b < n; b++) q4_k(s, p + (long) Q4_K.BLOCK_BYTES * b, dst, o + 256 * b); }
            case Q5_K -> { for (int b = 0; b < n; b++) q5_k(s, p + (long) Q5_K.BLOCK_BYTES * b, dst, o + 256 * b); }
            case Q6_K -> { for (int b = 0; b < n; b++) q6_k(s, p + (long) Q6_K.BLOCK_BYTES * b, dst, o + 256 * b); }
            default -> throw new IllegalArgumentException(t + " is not a block type");
        }
    }

    private static void q8_0(MemorySegment s, long p, float[] dst, int o) {
        float d = f16(s, p);
        for (int j = 0; j < 32; j += L) toFloat(bytes(s, p + 2 + j)).mul(d).intoArray(dst, o + j);
    }

    /*
     * The K-quant decoders are written out without helper methods that take or return vectors: C2 does not inline a
     * helper it compiled on its own once that compiled code is large, or once the caller's node budget is spent, and
     * every vector crossing such a call is then allocated (measured: the Q6_K decoder allocated 18 KB per 2048-wide
     * row and ran at a tenth of Q8_0's rate).
     */

    private static void q4_k(MemorySegment s, long p, float[] dst, int o) {
        long h0 = s.get(I64, p), h1 = s.get(I64, p + 8);          // d, dmin, the 12 scale bytes
        float d = Float.float16ToFloat((short) h0), dmin = Float.float16ToFloat((short) (h0 >>> 16));
        int u0 = (int) (h0 >>> 32), u1 = (int) h1, u2 = (int) (h1 >>> 32);
        // ggml's unpacking of the 12 scale bytes (Q4_K.scale, Q4_K.min): scales and mins one per byte
        long scs = (u0 & 0x3f3f3f3fL) | (long) ((u2 & 0x0f0f0f0f) | (((u0 >>> 6) & 0x03030303) << 4)) << 32;
        long mns = (u1 & 0x3f3f3f3fL) | (long) (((u2 >>> 4) & 0x0f0f0f0f) | (((u1 >>> 6) & 0x03030303) << 4)) << 32;
        for (int c = 0; c < 4; c++) {
            float d1 = d * (int) ((scs >>> (16 * c)) & 0xFF), m1 = dmin * (int) ((mns >>> (16 * c)) & 0xFF);
            float d2 = d * (int) ((scs >>> (16 * c + 8)) & 0xFF), m2 = dmin * (int) ((mns >>> (16 * c + 8)) & 0xFF);
            long q = p + Q4_K.QS + 32L * c;
            int y = o + 64 * c;
            for (int l = 0; l < 32; l += L) {
                IntVector b = (IntVector) ByteVector.fromMemorySegment(BL, s, q + l, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, Vec.I, 0);
                ((FloatVector) b.and(0xF).convert(VectorOperators.I2F, 0)).mul(d1).sub(m1).intoArray(dst, y + l);
                ((FloatVector) b.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0)).mul(d2).sub(m2).intoArray(dst, y + 32 + l);
            }
        }
    }

    private static void q5_k(MemorySegment s, long p, float[] dst, int o) {
        long h0 = s.get(I64, p), h1 = s.get(I64, p + 8);          // d, dmin, the 12 scale bytes
        float d = Float.float16ToFloat((short) h0), dmin = Float.float16ToFloat((short) (h0 >>> 16));
        int u0 = (int) (h0 >>> 32), u1 = (int) h1, u2 = (int) (h1 >>> 32);
        // ggml's unpacking of the 12 scale bytes (Q4_K.scale, Q4_K.min): scales and mins one per byte
        long scs = (u0 & 0x3f3f3f3fL) | (long) ((u2 & 0x0f0f0f0f) | (((u0 >>> 6) & 0x03030303) << 4)) << 32;
        long mns = (u1 & 0x3f3f3f3fL) | (long) (((u2 >>> 4) & 0x0f0f0f0f) | (((u1 >>> 6) & 0x03030303) << 4)) << 32;
        for (int c = 0; c < 4; c++) {
            float d1 = d * (int) ((scs >>> (16 * c)) & 0xFF), m1 = dmin * (int) ((mns >>> (16 * c)) & 0xFF);
            float d2 = d * (int) ((scs >>> (16 * c + 8)) & 0xFF), m2 = dmin * (int) ((mns >>> (16 * c + 8)) & 0xFF);
            long q = p + Q5_K.QS + 32L * c;
            int y = o + 64 * c;
            for (int l = 0; l < 32; l += L) {
                IntVector b = (IntVector) ByteVector.fromMemorySegment(BL, s, q + l, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, Vec.I, 0);
                IntVector h = (IntVector) ByteVector.fromMemorySegment(BL, s, p + Q5_K.QH + l, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, Vec.I, 0)
                        .lanewise(VectorOperators.LSHR, 2 * c);
                ((FloatVector) b.and(0xF).or(h.and(1).lanewise(VectorOperators.LSHL, 4)).convert(VectorOperators.I2F, 0)).mul(d1).sub(m1).intoArray(dst, y + l);
                ((FloatVector) b.lanewise(VectorOperators.LSHR, 4).or(h.and(2).lanewise(VectorOperators.LSHL, 3)).convert(VectorOperators.I2F, 0))
                        .mul(d2).sub(m2).intoArray(dst, y + 32 + l);
            }
        }
    }

    private static void q6_k(MemorySegment s, long p, float[] dst, int o) {
        float d = f16(s, p + Q6_K.D);
        for (int h = 0; h < 2; h++) {
            long ql = p + 64L * h, qh = p + Q6_K.QH + 32L * h, sc = p + Q6_K.SCALES + 8L * h;
            int y = o + 128 * h;
            for (int l = 0; l < 32; l += L) {
                int is = l / 16;
                IntVector a = (IntVector) ByteVector.fromMemorySegment(BL, s, ql + l, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, Vec.I, 0);
                IntVector b = (IntVector) ByteVector.fromMemorySegment(BL, s, ql + 32 + l, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, Vec.I, 0);
                IntVector hb = (IntVector) ByteVector.fromMemorySegment(BL, s, qh + l, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, Vec.I, 0);
                // code - 32: the nibble of ql and 2 bits of qh (value l: low nibble of a, bits 0-1; l + 32: of b, bits
                // 2-3; l + 64: high nibble of a, bits 4-5; l + 96: high nibble of b, bits 6-7)
                IntVector q1 = a.and(0xF).or(hb.and(3).lanewise(VectorOperators.LSHL, 4)).sub(32);
                IntVector q2 = b.and(0xF).or(hb.and(0xC).lanewise(VectorOperators.LSHL, 2)).sub(32);
                IntVector q3 = a.lanewise(VectorOperators.LSHR, 4).or(hb.and(0x30)).sub(32);
                IntVector q4 = b.lanewise(VectorOperators.LSHR, 4).or(hb.and(0xC0).lanewise(VectorOperators.LSHR, 2)).sub(32);
                ((FloatVector) q1.convert(VectorOperators.I2F, 0)).mul(d * s.get(ValueLayout.JAVA_BYTE, sc + is)).intoArray(dst, y + l);
                ((FloatVector) q2.convert(VectorOperators.I2F, 0)).mul(d * s.get(ValueLayout.JAVA_BYTE, sc + is + 2)).intoArray(dst, y + 32 + l);
                ((FloatVector) q3.convert(VectorOperators.I2F, 0)).mul(d * s.get(ValueLayout.JAVA_BYTE, sc + is + 4)).intoArray(dst, y + 64 + l);
                ((FloatVector) q4.convert(VectorOperators.I2F, 0)).mul(d * s.get(ValueLayout.JAVA_BYTE, sc + is + 6)).intoArray(dst, y + 96 + l);
            }
        }
    }
}
