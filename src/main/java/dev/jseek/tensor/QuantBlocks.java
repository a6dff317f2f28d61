package dev.jseek.tensor;

import java.lang.foreign.MemorySegment;

/**
 * The scalar reference codecs of ggml's block types by {@link DType}: {@link Q8_0}, {@link Q4_K}, {@link Q5_K},
 * {@link Q6_K}. They are the definition the vector kernels are tested against, and the quantizers of
 * {@code jseek export}.
 */
public final class QuantBlocks {
    private QuantBlocks() {}

    /** Decodes the block of type t at byte p of src into dst[dstOff .. dstOff + t.blockSize). */
    public static void dequantizeBlock(DType t, MemorySegment src, long p, float[] dst, int dstOff) {
        switch (t) {
            case Q8_0 -> Q8_0.dequantizeBlock(src, p, dst, dstOff);
            case Q4_K -> Q4_K.dequantizeBlock(src, p, dst, dstOff);
            case Q5_K -> Q5_K.dequantizeBlock(src, p, dst, dstOff);
            case Q6_K -> Q6_K.dequantizeBlock(src, p, dst, dstOff);
            default -> throw new IllegalArgumentException(t + " is not a block type");
        }
    }

    /** Quantizes x[off .. off + t.blockSize) (finite values) into one block at out[o ..] with ggml's reference rounding. */
    public static void quantizeBlock(DType t, float[] x, int off, byte[] out, int o) {
        switch (t) {
            case Q8_0 -> Q8_0.quantizeBlock(x, off, out, o);
            case Q4_K -> Q4_K.quantizeBlock(x, off, out, o);
            case Q5_K -> Q5_K.quantizeBlock(x, off, out, o);
            case Q6_K -> Q6_K.quantizeBlock(x, off, out, o);
            default -> throw new IllegalArgumentException(t + " is not a block type");
        }
    }
}
