package dev.jseek.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * ggml's Q8_0 block: {@value #BLOCK} consecutive values of a row stored as a binary16 scale {@code d} (2 bytes,
 * little-endian) followed by {@value #BLOCK} int8 codes ({@value #BLOCK_BYTES} bytes per block).
 *
 * <p>Quantize (ggml's {@code quantize_row_q8_0_ref}): {@code amax = max|x|}, {@code d = amax / 127} and
 * {@code id = d != 0 ? 1/d : 0} in float32, {@code q = roundf(x * id)} (round half AWAY from zero, C's roundf; not
 * numpy's half-to-even), and the stored scale is {@code d} rounded to binary16 (nearest-even). The codes are computed
 * with the float32 {@code id}, not with the rounded scale. Decode: {@code x' = q * fp16(d)} in float32, exact
 * products. This class is the scalar reference; the kernels decode in vector registers
 * ({@code dev.jseek.kernels.QuantRows}).
 */
public final class Q8_0 {
    private Q8_0() {}

    public static final int BLOCK = 32;
    public static final int BLOCK_BYTES = 34;
    static final ValueLayout.OfShort LE_I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    /**
     * Quantizes x[off .. off + 32) into one block at out[outOff .. outOff + 34). Values must be finite (the callers
     * check, naming the tensor).
     */
    public static void quantizeBlock(float[] x, int off, byte[] out, int outOff) {
        float amax = 0;
        for (int j = 0; j < BLOCK; j++) amax = Math.max(amax, Math.abs(x[off + j]));
        float d = amax / 127f;
        float id = d != 0 ? 1f / d : 0f;
        short h = Float.floatToFloat16(d);
        out[outOff] = (byte) h;
        out[outOff + 1] = (byte) (h >>> 8);
        for (int j = 0; j < BLOCK; j++) out[outOff + 2 + j] = (byte) roundf(x[off + j] * id);
    }

    /** C's roundf: nearest integer, halfway cases away from zero (exact: |v| + 0.5 is exact in double). */
    static int roundf(float v) {
        double a = Math.floor(Math.abs((double) v) + 0.5);
        return (int) Math.copySign(a, v);
    }

    /** Decodes the block at byte {@code p} of {@code src} into dst[dstOff .. dstOff + 32): {@code q * fp16(d)}. */
    public static void dequantizeBlock(MemorySegment src, long p, float[] dst, int dstOff) {
        float d = Float.float16ToFloat(src.get(LE_I16, p));
        for (int j = 0; j < BLOCK; j++) dst[dstOff + j] = src.get(ValueLayout.JAVA_BYTE, p + 2 + j) * d;
    }
}
