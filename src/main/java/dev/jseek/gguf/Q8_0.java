package dev.jseek.gguf;

import dev.jseek.kernels.Vec;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * ggml's Q8_0 block quantization: blocks of {@value #BLOCK} consecutive values of a row, each stored as a binary16
 * scale {@code d} (2 bytes, little-endian) followed by {@value #BLOCK} int8 codes (34 bytes per block).
 *
 * <p>Quantize (ggml's reference {@code quantize_row_q8_0_ref}): {@code amax = max|x|}, {@code d = amax / 127} and
 * {@code id = d != 0 ? 1/d : 0} in float32, {@code q = roundf(x * id)} (round half AWAY from zero, C's roundf; not
 * numpy's half-to-even), and the stored scale is {@code d} rounded to binary16 (nearest-even). The codes are computed
 * with the float32 {@code id}, not with the rounded scale. Decode: {@code x' = q * fp16(d)} in float32, exact
 * products, so the scalar and vector decoders agree bit for bit.
 *
 * <p>{@link #dequantize} uses the Vector API ({@link Vec#LANES} codes per step); {@link ScalarQ8_0} is its scalar
 * twin (the test oracle).
 */
public final class Q8_0 {
    private Q8_0() {}

    public static final int BLOCK = 32;
    public static final int BLOCK_BYTES = 34;

    private static final VectorSpecies<Float> F = Vec.F;
    private static final int L = Vec.LANES;
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));

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

    /**
     * Decodes {@code blocks} blocks starting at byte {@code byteOff} of {@code src} into dst[dstOff .. dstOff + 32 *
     * blocks) (Vector API).
     */
    public static void dequantize(MemorySegment src, long byteOff, int blocks, float[] dst, int dstOff) {
        if (blocks < 0 || dstOff < 0 || dstOff + (long) blocks * BLOCK > dst.length)
            throw new IndexOutOfBoundsException(blocks + " blocks into dst[" + dstOff + "..] of " + dst.length);
        for (int b = 0; b < blocks; b++) {
            long p = byteOff + (long) b * BLOCK_BYTES;
            float d = Float.float16ToFloat(src.get(GgufFile.LE_I16, p));
            FloatVector dv = FloatVector.broadcast(F, d);
            int o = dstOff + b * BLOCK;
            for (int j = 0; j < BLOCK; j += L) {
                ByteVector q = ByteVector.fromMemorySegment(B, src, p + 2 + j, ByteOrder.LITTLE_ENDIAN);
                FloatVector f = (FloatVector) q.convertShape(VectorOperators.B2F, F, 0);
                f.mul(dv).intoArray(dst, o + j);
            }
        }
    }
}
