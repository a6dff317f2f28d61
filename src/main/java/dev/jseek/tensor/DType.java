package dev.jseek.tensor;

/**
 * Element types jseek reads, writes and computes with. Names of the plain types are the safetensors dtype strings.
 *
 * <p>The block types ({@link #Q8_0}, {@link #Q4_K}, {@link #Q5_K}, {@link #Q6_K}) are ggml's block quantizations
 * as GGUF stores them: {@link #blockSize} consecutive elements of a row in {@link #blockBytes} bytes (layouts and
 * rounding in {@link Q8_0}, {@link Q4_K}, {@link Q5_K}, {@link Q6_K}). A {@link Matrix} of a block type computes
 * on its stored bytes; safetensors has no block types ({@link #fromSafetensors} never returns one).
 */
public enum DType {
    F32(4), BF16(2), F16(2), F8_E4M3(1), F8_E5M2(1), F64(8), I64(8), I32(4), I8(1), U8(1),
    Q8_0(32, 34), Q4_K(256, 144), Q5_K(256, 176), Q6_K(256, 210);

    /** Bytes per element; 0 for the block types (use {@link #byteSize}). */
    public final int bytes;
    /** Elements per block (1 for plain types). */
    public final int blockSize;
    /** Bytes per block ({@link #bytes} for plain types). */
    public final int blockBytes;

    DType(int bytes) {
        this.bytes = bytes;
        this.blockSize = 1;
        this.blockBytes = bytes;
    }

    DType(int blockSize, int blockBytes) {
        this.bytes = 0;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** True for ggml's block-quantized types. */
    public boolean isBlock() { return blockSize > 1; }

    /** Bytes of {@code elements} elements; for block types a whole number of blocks is required. */
    public long byteSize(long elements) {
        if (elements % blockSize != 0)
            throw new IllegalArgumentException(elements + " elements is not a whole number of " + this + " blocks of " + blockSize);
        return Math.multiplyExact(elements / blockSize, (long) blockBytes);
    }

    /** The safetensors name of this dtype ("F32", "BF16", "F8_E4M3", ...). */
    public String safetensorsName() { return name(); }

    /** Parses a safetensors dtype string; returns null when unknown (callers report the file and tensor). */
    public static DType fromSafetensors(String s) {
        for (DType d : values()) if (!d.isBlock() && d.name().equals(s)) return d;
        return null;
    }
}
