package dev.jseek.tensor;

import java.lang.foreign.MemorySegment;

/**
 * ggml's Q5_K super-block: 256 values in 8 sub-blocks of 32, {@value #BLOCK_BYTES} bytes: binary16 {@code d} and
 * {@code dmin}, the 12 packed 6-bit scale/min bytes of {@link Q4_K}, 32 bytes {@code qh} of fifth bits (bit 2c of
 * qh[l] for value l of sub-block 2c, bit 2c + 1 for sub-block 2c + 1), then 128 bytes of low nibbles laid out as in
 * Q4_K. Value = {@code (d * sc_j) * q - (dmin * m_j)} in float32, q = nibble + 16 * fifth bit.
 *
 * <p>{@link #quantizeBlock} is ggml's {@code quantize_row_q5_K_ref}: as {@link Q4_K#quantizeBlock} with levels
 * 0..31 and {@link KQuantFit#qkx2} at rmin -0.5, rdelta 0.1, 15 steps.
 */
public final class Q5_K {
    private Q5_K() {}

    public static final int BLOCK = 256;
    public static final int BLOCK_BYTES = 176;
    /** Offsets of the packed scales, the fifth bits and the low nibbles. */
    public static final int SCALES = 4, QH = 16, QS = 48;

    /** Decodes the super-block at byte p into dst[dstOff .. dstOff + 256). */
    public static void dequantizeBlock(MemorySegment src, long p, float[] dst, int dstOff) {
        float d = Float.float16ToFloat(src.get(Q8_0.LE_I16, p)), dmin = Float.float16ToFloat(src.get(Q8_0.LE_I16, p + 2));
        for (int j = 0; j < 8; j++) {
            float d1 = d * Q4_K.scale(src, p + SCALES, j), m1 = dmin * Q4_K.min(src, p + SCALES, j);
            long q = p + QS + 32L * (j >> 1);
            int shift = (j & 1) * 4;
            for (int l = 0; l < 32; l++) {
                int v = ((Q4_K.u8(src, q + l) >> shift) & 0xF) | (((Q4_K.u8(src, p + QH + l) >> j) & 1) << 4);
                dst[dstOff + 32 * j + l] = d1 * v - m1;
            }
        }
    }

    /** Quantizes x[off .. off + 256) (finite values) into one block at out[o .. o + 176), ggml's reference rounding. */
    public static void quantizeBlock(float[] x, int off, byte[] out, int o) {
        byte[] L = new byte[BLOCK];
        Q4_K.fitSuperBlock(x, off, 31, -0.5f, 0.1f, 15, out, o, L);
        for (int j = 0; j < 32; j++) out[o + QH + j] = 0;
        int m1 = 1, m2 = 2;
        for (int c = 0; c < 4; c++) {
            for (int j = 0; j < 32; j++) {
                int l1 = L[64 * c + j], l2 = L[64 * c + j + 32];
                if (l1 > 15) {
                    l1 -= 16;
                    out[o + QH + j] |= (byte) m1;
                }
                if (l2 > 15) {
                    l2 -= 16;
                    out[o + QH + j] |= (byte) m2;
                }
                out[o + QS + 32 * c + j] = (byte) (l1 | (l2 << 4));
            }
            m1 <<= 2;
            m2 <<= 2;
        }
    }
}
