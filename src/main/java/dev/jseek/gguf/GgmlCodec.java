package dev.jseek.gguf;

import dev.jseek.kernels.WeightRows;
import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import dev.jseek.tensor.QuantBlocks;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Float conversion of the ggml types jseek supports ({@link GgmlType#decodable()}): F32, F16 (IEEE binary16, RNE),
 * BF16 (RNE, as {@link dev.jseek.tensor.Bf16}) and the block types Q8_0, Q4_K, Q5_K, Q6_K (ggml's reference
 * quantizers, {@link QuantBlocks}; decoded by the vector kernels, {@link WeightRows}). Block types work on whole
 * blocks, so ranges must start and end on block boundaries of a row.
 */
public final class GgmlCodec {
    private GgmlCodec() {}

    /** Writes src[off .. off + n) encoded as {@code type}. Block types need whole blocks and finite values. */
    public static void encode(GgmlType type, float[] src, int off, int n, TensorSink out) throws IOException {
        switch (type) {
            case F32, F16, BF16 -> {
                int e = type.typeSize;
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(Math.min(n, 1 << 14) * e).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < n; ) {
                    b.clear();
                    int m = Math.min(n - i, b.capacity() / e);
                    if (type == GgmlType.F32) b.asFloatBuffer().put(src, off + i, m);
                    else if (type == GgmlType.F16) for (int k = 0; k < m; k++) b.putShort(2 * k, Float.floatToFloat16(src[off + i + k]));
                    else for (int k = 0; k < m; k++) b.putShort(2 * k, dev.jseek.tensor.Bf16.fromFloat(src[off + i + k]));
                    out.put(b.array(), 0, m * e);
                    i += m;
                }
            }
            case Q8_0, Q4_K, Q5_K, Q6_K -> {
                DType d = type.dtype();
                if (n % d.blockSize != 0) throw new IllegalArgumentException(n + " values are not whole " + type + " blocks of " + d.blockSize);
                for (int j = 0; j < n; j++)
                    if (!Float.isFinite(src[off + j]))
                        throw new IllegalArgumentException("value " + j + " is " + src[off + j] + ", " + type + " needs finite values");
                int per = Math.max(1, (1 << 16) / d.blockBytes);
                byte[] blocks = new byte[per * d.blockBytes];
                for (int b0 = 0; b0 < n / d.blockSize; b0 += per) {
                    int nb = Math.min(per, n / d.blockSize - b0);
                    for (int b = 0; b < nb; b++) QuantBlocks.quantizeBlock(d, src, off + (b0 + b) * d.blockSize, blocks, b * d.blockBytes);
                    out.put(blocks, 0, nb * d.blockBytes);
                }
            }
            default -> throw new IllegalArgumentException("jseek cannot encode " + type + " (only F32, F16, BF16, Q8_0, Q4_K, Q5_K, Q6_K)");
        }
    }

    /**
     * Decodes n elements of a {@code type} tensor starting at element {@code elem} (counted from the start of
     * {@code seg}) into dst[dstOff ..].
     */
    public static void decode(GgmlType type, MemorySegment seg, long elem, int n, float[] dst, int dstOff) {
        switch (type) {
            case F32 -> MemorySegment.copy(seg, GgufFile.LE_F32, elem * 4, dst, dstOff, n);
            case F16 -> { for (int i = 0; i < n; i++) dst[dstOff + i] = Float.float16ToFloat(seg.get(GgufFile.LE_I16, (elem + i) * 2)); }
            case BF16 -> { for (int i = 0; i < n; i++) dst[dstOff + i] = Float.intBitsToFloat((seg.get(GgufFile.LE_I16, (elem + i) * 2) & 0xFFFF) << 16); }
            case Q8_0, Q4_K, Q5_K, Q6_K -> {
                DType d = type.dtype();
                if (elem % d.blockSize != 0 || n % d.blockSize != 0)
                    throw new IllegalArgumentException(type + " range [" + elem + ", " + (elem + n) + ") is not on block boundaries");
                if (n == 0) return;
                Matrix view = new Matrix(d, 1, n, seg.asSlice(elem / d.blockSize * d.blockBytes, d.byteSize(n)), null);
                WeightRows.decodeRow(view, 0, dst, dstOff);
            }
            default -> throw new IllegalArgumentException("jseek cannot decode " + type + " (only F32, F16, BF16, Q8_0, Q4_K, Q5_K, Q6_K)");
        }
    }

    /** Byte of a raw element (used for exact permutations of plain-typed tensors). */
    static byte byteAt(MemorySegment seg, long i) { return seg.get(ValueLayout.JAVA_BYTE, i); }
}
