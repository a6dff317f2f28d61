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
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API decoders of ggml's block types (layouts in {@link dev.jseek.tensor.Q8_0}, {@link Q4_K}, {@link Q5_K},
 * {@link Q6_K}): {@link Vec#LANES} codes are loaded as bytes, their bit fields taken apart with byte-lane shifts and
 * masks, widened to floats and scaled with the same float32 operations as the scalar references ({@code q * d} for
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
    private static final ThreadLocal<float[]> EDGE = ThreadLocal.withInitial(() -> new float[256]);

    static float f16(MemorySegment s, long p) { return Float.float16ToFloat(s.get(I16, p)); }

    static ByteVector bytes(MemorySegment s, long p) { return ByteVector.fromMemorySegment(BL, s, p, LE); }

    static FloatVector toFloat(ByteVector b) { return (FloatVector) b.convertShape(VectorOperators.B2F, F, 0); }

    static ByteVector lo(ByteVector b) { return b.and((byte) 0x0F); }

    static ByteVector hi(ByteVector b) { return b.lanewise(VectorOperators.LSHR, 4).and((byte) 0x0F); }

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

    private static void q4_k(MemorySegment s, long p, float[] dst, int o) {
        float d = f16(s, p), dmin = f16(s, p + 2);
        long sc = p + Q4_K.SCALES;
        for (int c = 0; c < 4; c++) {
            float d1 = d * Q4_K.scale(s, sc, 2 * c), m1 = dmin * Q4_K.min(s, sc, 2 * c);
            float d2 = d * Q4_K.scale(s, sc, 2 * c + 1), m2 = dmin * Q4_K.min(s, sc, 2 * c + 1);
            long q = p + Q4_K.QS + 32L * c;
            int y = o + 64 * c;
            for (int l = 0; l < 32; l += L) {
                ByteVector b = bytes(s, q + l);
                toFloat(lo(b)).mul(d1).sub(m1).intoArray(dst, y + l);
                toFloat(hi(b)).mul(d2).sub(m2).intoArray(dst, y + 32 + l);
            }
        }
    }

    private static void q5_k(MemorySegment s, long p, float[] dst, int o) {
        float d = f16(s, p), dmin = f16(s, p + 2);
        long sc = p + Q5_K.SCALES;
        for (int c = 0; c < 4; c++) {
            float d1 = d * Q4_K.scale(s, sc, 2 * c), m1 = dmin * Q4_K.min(s, sc, 2 * c);
            float d2 = d * Q4_K.scale(s, sc, 2 * c + 1), m2 = dmin * Q4_K.min(s, sc, 2 * c + 1);
            long q = p + Q5_K.QS + 32L * c;
            int y = o + 64 * c;
            for (int l = 0; l < 32; l += L) {
                ByteVector b = bytes(s, q + l), h = bytes(s, p + Q5_K.QH + l);
                ByteVector h1 = h.lanewise(VectorOperators.LSHR, 2 * c).and((byte) 1).lanewise(VectorOperators.LSHL, 4);
                ByteVector h2 = h.lanewise(VectorOperators.LSHR, 2 * c + 1).and((byte) 1).lanewise(VectorOperators.LSHL, 4);
                toFloat(lo(b).or(h1)).mul(d1).sub(m1).intoArray(dst, y + l);
                toFloat(hi(b).or(h2)).mul(d2).sub(m2).intoArray(dst, y + 32 + l);
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
                ByteVector a = bytes(s, ql + l), b = bytes(s, ql + 32 + l), hb = bytes(s, qh + l);
                ByteVector q1 = lo(a).or(hb.and((byte) 3).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
                ByteVector q2 = lo(b).or(hb.lanewise(VectorOperators.LSHR, 2).and((byte) 3).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
                ByteVector q3 = hi(a).or(hb.lanewise(VectorOperators.LSHR, 4).and((byte) 3).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
                ByteVector q4 = hi(b).or(hb.lanewise(VectorOperators.LSHR, 6).and((byte) 3).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
                toFloat(q1).mul(d * s.get(ValueLayout.JAVA_BYTE, sc + is)).intoArray(dst, y + l);
                toFloat(q2).mul(d * s.get(ValueLayout.JAVA_BYTE, sc + is + 2)).intoArray(dst, y + 32 + l);
                toFloat(q3).mul(d * s.get(ValueLayout.JAVA_BYTE, sc + is + 4)).intoArray(dst, y + 64 + l);
                toFloat(q4).mul(d * s.get(ValueLayout.JAVA_BYTE, sc + is + 6)).intoArray(dst, y + 96 + l);
            }
        }
    }
}
