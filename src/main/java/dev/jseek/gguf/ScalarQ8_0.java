package dev.jseek.gguf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** The scalar twin of {@link Q8_0#dequantize}: one element at a time, {@code q * fp16(d)} in float32. */
public final class ScalarQ8_0 {
    private ScalarQ8_0() {}

    public static void dequantize(MemorySegment src, long byteOff, int blocks, float[] dst, int dstOff) {
        for (int b = 0; b < blocks; b++) {
            long p = byteOff + (long) b * Q8_0.BLOCK_BYTES;
            float d = Float.float16ToFloat(src.get(GgufFile.LE_I16, p));
            for (int j = 0; j < Q8_0.BLOCK; j++) dst[dstOff + b * Q8_0.BLOCK + j] = src.get(ValueLayout.JAVA_BYTE, p + 2 + j) * d;
        }
    }
}
