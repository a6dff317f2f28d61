package dev.jseek.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * ggml's Q4_K super-block: 256 values in 8 sub-blocks of 32, {@value #BLOCK_BYTES} bytes: binary16 {@code d} and
 * {@code dmin} (bytes 0-3), 12 bytes of 6-bit sub-block scales and mins ({@link #scale}, {@link #min}), then 128
 * bytes of 4-bit codes: bytes [32 c, 32 c + 32) hold sub-block 2c in their low nibbles and 2c + 1 in their high ones.
 * Value {@code i} of sub-block {@code j} is {@code (d * sc_j) * q - (dmin * m_j)} in float32 (two roundings, no fused
 * multiply-add: ggml's {@code dequantize_row_q4_K} and gguf-py's {@code Q4_K.dequantize_blocks} bit for bit).
 *
 * <p>{@link #quantizeBlock} is ggml's {@code quantize_row_q4_K_ref}: per sub-block, weights {@code sqrt(mean x^2) +
 * |x|} and {@link KQuantFit#qkx2} (levels 0..15, rmin -1, rdelta 0.1, 20 steps); the 8 scales and 8 mins quantized
 * to 6 bits against their maxima ({@code d = max_scale / 63}, {@code dmin = max_min / 63}); then every value
 * re-quantized against the stored (rounded) scales.
 */
public final class Q4_K {
    private Q4_K() {}

    public static final int BLOCK = 256;
    public static final int BLOCK_BYTES = 144;
    /** Offset of the 12 packed scale bytes, and of the codes. */
    public static final int SCALES = 4, QS = 16;

    /** The 6-bit scale of sub-block j (0..7) from the 12 packed bytes at {@code s} (ggml's get_scale_min_k4). */
    public static int scale(MemorySegment seg, long s, int j) {
        return j < 4 ? u8(seg, s + j) & 63 : (u8(seg, s + j + 4) & 0xF) | ((u8(seg, s + j - 4) >> 6) << 4);
    }

    /** The 6-bit min of sub-block j (0..7). */
    public static int min(MemorySegment seg, long s, int j) {
        return j < 4 ? u8(seg, s + j + 4) & 63 : (u8(seg, s + j + 4) >> 4) | ((u8(seg, s + j) >> 6) << 4);
    }

    static int u8(MemorySegment seg, long p) { return seg.get(ValueLayout.JAVA_BYTE, p) & 0xFF; }

    /** Decodes the super-block at byte p into dst[dstOff .. dstOff + 256). */
    public static void dequantizeBlock(MemorySegment src, long p, float[] dst, int dstOff) {
        float d = Float.float16ToFloat(src.get(Q8_0.LE_I16, p)), dmin = Float.float16ToFloat(src.get(Q8_0.LE_I16, p + 2));
        for (int j = 0; j < 8; j++) {
            float d1 = d * scale(src, p + SCALES, j), m1 = dmin * min(src, p + SCALES, j);
            long q = p + QS + 32L * (j >> 1);
            int shift = (j & 1) * 4;
            for (int l = 0; l < 32; l++) dst[dstOff + 32 * j + l] = d1 * ((u8(src, q + l) >> shift) & 0xF) - m1;
        }
    }

    /** Packs 6-bit scales ls[8] and mins lm[8] into 12 bytes at out[o ..] (ggml's K-quant scale layout). */
    static void packScales(int[] ls, int[] lm, byte[] out, int o) {
        for (int j = 0; j < 12; j++) out[o + j] = 0;
        for (int j = 0; j < 8; j++) {
            if (j < 4) {
                out[o + j] = (byte) ls[j];
                out[o + j + 4] = (byte) lm[j];
            } else {
                out[o + j + 4] = (byte) ((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
                out[o + j - 4] |= (byte) ((ls[j] >> 4) << 6);
                out[o + j] |= (byte) ((lm[j] >> 4) << 6);
            }
        }
    }

    /** get_scale_min_k4 on packed bytes in an array. */
    static int scale(byte[] s, int o, int j) {
        return j < 4 ? s[o + j] & 63 : (s[o + j + 4] & 0xF) | (((s[o + j - 4] & 0xFF) >> 6) << 4);
    }

    static int min(byte[] s, int o, int j) {
        return j < 4 ? s[o + j + 4] & 63 : ((s[o + j + 4] & 0xFF) >> 4) | (((s[o + j] & 0xFF) >> 6) << 4);
    }

    /**
     * The shared first half of the Q4_K/Q5_K reference quantizers: fits the 8 sub-blocks of x[off .. off + 256) with
     * levels 0..nmax, writes d, dmin and the packed scales to out[o ..] and the final levels (re-quantized against the
     * stored scales) to L[0 .. 256).
     */
    static void fitSuperBlock(float[] x, int off, int nmax, float rmin, float rdelta, int nstep, byte[] out, int o, byte[] L) {
        float[] weights = new float[32], mins = new float[8], scales = new float[8];
        byte[] laux = new byte[32];
        float maxScale = 0, maxMin = 0;
        for (int j = 0; j < 8; j++) {
            float sumX2 = 0;
            for (int l = 0; l < 32; l++) sumX2 += x[off + 32 * j + l] * x[off + 32 * j + l];
            float avX = (float) Math.sqrt(sumX2 / 32);
            for (int l = 0; l < 32; l++) weights[l] = avX + Math.abs(x[off + 32 * j + l]);
            scales[j] = KQuantFit.qkx2(32, nmax, x, off + 32 * j, weights, L, 32 * j, mins, j, laux, rmin, rdelta, nstep, false);
            if (scales[j] > maxScale) maxScale = scales[j];
            if (mins[j] > maxMin) maxMin = mins[j];
        }
        float invScale = maxScale > 0 ? 63f / maxScale : 0f;
        float invMin = maxMin > 0 ? 63f / maxMin : 0f;
        int[] ls = new int[8], lm = new int[8];
        for (int j = 0; j < 8; j++) {
            ls[j] = Math.min(63, KQuantFit.nearestInt(invScale * scales[j]) & 0xFF); // uint8_t, then MIN(63, .)
            lm[j] = Math.min(63, KQuantFit.nearestInt(invMin * mins[j]) & 0xFF);
        }
        short dh = KQuantFit.fp16(maxScale / 63f), mh = KQuantFit.fp16(maxMin / 63f);
        out[o] = (byte) dh;
        out[o + 1] = (byte) (dh >> 8);
        out[o + 2] = (byte) mh;
        out[o + 3] = (byte) (mh >> 8);
        packScales(ls, lm, out, o + SCALES);
        float dd = KQuantFit.fp32(dh), dm = KQuantFit.fp32(mh);
        for (int j = 0; j < 8; j++) {
            float d = dd * scale(out, o + SCALES, j);
            if (d == 0) continue;
            float m = dm * min(out, o + SCALES, j);
            for (int ii = 0; ii < 32; ii++) {
                int l = KQuantFit.nearestInt((x[off + 32 * j + ii] + m) / d);
                L[32 * j + ii] = (byte) Math.max(0, Math.min(nmax, l));
            }
        }
    }

    /** Quantizes x[off .. off + 256) (finite values) into one block at out[o .. o + 144), ggml's reference rounding. */
    public static void quantizeBlock(float[] x, int off, byte[] out, int o) {
        byte[] L = new byte[BLOCK];
        fitSuperBlock(x, off, 15, -1f, 0.1f, 20, out, o, L);
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++) out[o + QS + 32 * c + l] = (byte) (L[64 * c + l] | (L[64 * c + 32 + l] << 4));
    }
}
