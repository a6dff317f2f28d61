package dev.jseek.kernels.scalar;

import dev.jseek.tensor.DType;
import dev.jseek.tensor.QuantBlocks;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The scalar twin of {@link dev.jseek.kernels.NonFinite}: decodes each element to a double with the format's
 * definition (IEEE binary64/32/16, bfloat16 as the top half of a binary32, FP8 E5M2 as the top byte of a binary16,
 * FP8 E4M3 whose only non-finite codes are the NaNs 0x7F and 0xFF) and asks {@link Double#isFinite}; ggml's block
 * types are decoded block by block ({@link QuantBlocks#dequantizeBlock}) and every element asked.
 */
public final class ScalarNonFinite {
    private ScalarNonFinite() {}

    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED;

    public static long first(MemorySegment seg, DType t) {
        if (t.isBlock()) {
            float[] x = new float[t.blockSize];
            long blocks = seg.byteSize() / t.blockBytes;
            for (long b = 0; b < blocks; b++) {
                QuantBlocks.dequantizeBlock(t, seg, b * t.blockBytes, x, 0);
                for (int i = 0; i < x.length; i++) if (!Float.isFinite(x[i])) return b * t.blockSize + i;
            }
            return -1;
        }
        long n = t.bytes == 0 ? 0 : seg.byteSize() / t.bytes;
        for (long i = 0; i < n; i++) {
            double v = switch (t) {
                case F64 -> seg.get(ValueLayout.JAVA_DOUBLE_UNALIGNED, i * 8);
                case F32 -> seg.get(ValueLayout.JAVA_FLOAT_UNALIGNED, i * 4);
                case BF16 -> Float.intBitsToFloat(seg.get(S, i * 2) << 16);
                case F16 -> Float.float16ToFloat(seg.get(S, i * 2));
                case F8_E5M2 -> Float.float16ToFloat((short) (seg.get(ValueLayout.JAVA_BYTE, i) << 8));
                case F8_E4M3 -> (seg.get(ValueLayout.JAVA_BYTE, i) & 0x7F) == 0x7F ? Double.NaN : 0;
                default -> 0;
            };
            if (!Double.isFinite(v)) return i;
        }
        return -1;
    }
}
