package dev.jseek.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * ggml's Q6_K super-block: 256 values in 16 sub-blocks of 16, {@value #BLOCK_BYTES} bytes: 128 bytes {@code ql} of
 * low nibbles, 64 bytes {@code qh} of 2-bit high parts, 16 int8 sub-block scales, then binary16 {@code d} (bytes
 * 208-209). Each 128-value half h uses ql[64 h .. 64 h + 64) and qh[32 h .. 32 h + 32): for l < 32, value l takes the
 * low nibble of ql[l] and bits 0-1 of qh[l], value l + 32 the low nibble of ql[l + 32] and bits 2-3, value l + 64 the
 * high nibble of ql[l] and bits 4-5, value l + 96 the high nibble of ql[l + 32] and bits 6-7. Value = {@code (d * sc)
 * * (q - 32)} in float32.
 *
 * <p>{@link #quantizeBlock} is ggml's {@code quantize_row_q6_K_ref}: {@link KQuantFit#qx} per sub-block (levels
 * -32..31), the scale of largest magnitude sets {@code d = 1 / (-128 / max_scale)}, the 16 scales are rounded to int8
 * against it, then every value is re-quantized against the stored scales.
 */
public final class Q6_K {
    private Q6_K() {}

    public static final int BLOCK = 256;
    public static final int BLOCK_BYTES = 210;
    /** Offsets of the high bits, the int8 scales and d. */
    public static final int QH = 128, SCALES = 192, D = 208;

    /** Decodes the super-block at byte p into dst[dstOff .. dstOff + 256). */
    public static void dequantizeBlock(MemorySegment src, long p, float[] dst, int dstOff) {
        float d = Float.float16ToFloat(src.get(Q8_0.LE_I16, p + D));
        for (int h = 0; h < 2; h++) {
            long ql = p + 64L * h, qh = p + QH + 32L * h;
            int y = dstOff + 128 * h;
            for (int l = 0; l < 32; l++) {
                int a = Q4_K.u8(src, ql + l), b = Q4_K.u8(src, ql + l + 32), hb = Q4_K.u8(src, qh + l);
                int is = 8 * h + l / 16;
                dst[y + l] = d * sc(src, p, is) * ((a & 0xF | (hb & 3) << 4) - 32);
                dst[y + l + 32] = d * sc(src, p, is + 2) * ((b & 0xF | ((hb >> 2) & 3) << 4) - 32);
                dst[y + l + 64] = d * sc(src, p, is + 4) * ((a >> 4 | ((hb >> 4) & 3) << 4) - 32);
                dst[y + l + 96] = d * sc(src, p, is + 6) * ((b >> 4 | ((hb >> 6) & 3) << 4) - 32);
            }
        }
    }

    private static int sc(MemorySegment src, long p, int is) { return src.get(ValueLayout.JAVA_BYTE, p + SCALES + is); }

    /** Quantizes x[off .. off + 256) (finite values) into one block at out[o .. o + 210), ggml's reference rounding. */
    public static void quantizeBlock(float[] x, int off, byte[] out, int o) {
        byte[] L = new byte[BLOCK];
        float[] scales = new float[16];
        float maxScale = 0, maxAbsScale = 0;
        for (int ib = 0; ib < 16; ib++) {
            float scale = KQuantFit.qx(16, 32, x, off + 16 * ib, L, 16 * ib);
            scales[ib] = scale;
            float abs = Math.abs(scale);
            if (abs > maxAbsScale) {
                maxAbsScale = abs;
                maxScale = scale;
            }
        }
        java.util.Arrays.fill(out, o, o + BLOCK_BYTES, (byte) 0);
        if (maxAbsScale < KQuantFit.GROUP_MAX_EPS) return; // all-zero block, d = +0
        float iscale = -128f / maxScale;
        short dh = KQuantFit.fp16(1 / iscale);
        out[o + D] = (byte) dh;
        out[o + D + 1] = (byte) (dh >> 8);
        for (int ib = 0; ib < 16; ib++) out[o + SCALES + ib] = (byte) Math.min(127, KQuantFit.nearestInt(iscale * scales[ib]));
        float dd = KQuantFit.fp32(dh);
        for (int j = 0; j < 16; j++) {
            float d = dd * out[o + SCALES + j];
            if (d == 0) continue;
            for (int ii = 0; ii < 16; ii++) {
                int l = KQuantFit.nearestInt(x[off + 16 * j + ii] / d);
                L[16 * j + ii] = (byte) (Math.max(-32, Math.min(31, l)) + 32);
            }
        }
        for (int half = 0; half < 2; half++) {
            int j = 128 * half, ql = o + 64 * half, qh = o + QH + 32 * half;
            for (int l = 0; l < 32; l++) {
                int q1 = L[j + l] & 0xF, q2 = L[j + l + 32] & 0xF, q3 = L[j + l + 64] & 0xF, q4 = L[j + l + 96] & 0xF;
                out[ql + l] = (byte) (q1 | (q3 << 4));
                out[ql + l + 32] = (byte) (q2 | (q4 << 4));
                out[qh + l] = (byte) ((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
            }
        }
    }
}
