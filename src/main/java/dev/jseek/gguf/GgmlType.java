package dev.jseek.gguf;

import dev.jseek.tensor.DType;

/**
 * The ggml tensor element types a GGUF file can name (ggml's {@code enum ggml_type}, numbered as in ggml.h and
 * gguf-py's {@code GGMLQuantizationType}), with their block geometry: {@code blockSize} elements are stored in
 * {@code typeSize} bytes. Block types pack along the innermost dimension (ne0, a row of a weight), so ne0 must be a
 * multiple of the block size.
 *
 * <p>jseek computes on and encodes {@link #F32}, {@link #F16}, {@link #BF16}, {@link #Q8_0}, {@link #Q4_K},
 * {@link #Q5_K} and {@link #Q6_K} (the {@link DType} of each: {@link #dtype()}); the other types are known
 * so that a file holding them is parsed, sized and listed ({@code jseek inspect}), and a model needing one of them
 * fails with a message naming the tensor and the type.
 */
public enum GgmlType {
    F32(0, 1, 4), F16(1, 1, 2), Q4_0(2, 32, 18), Q4_1(3, 32, 20), Q5_0(6, 32, 22), Q5_1(7, 32, 24),
    Q8_0(8, 32, 34), Q8_1(9, 32, 40), Q2_K(10, 256, 84), Q3_K(11, 256, 110), Q4_K(12, 256, 144), Q5_K(13, 256, 176),
    Q6_K(14, 256, 210), Q8_K(15, 256, 292), IQ2_XXS(16, 256, 66), IQ2_XS(17, 256, 74), IQ3_XXS(18, 256, 98),
    IQ1_S(19, 256, 50), IQ4_NL(20, 32, 18), IQ3_S(21, 256, 110), IQ2_S(22, 256, 82), IQ4_XS(23, 256, 136),
    I8(24, 1, 1), I16(25, 1, 2), I32(26, 1, 4), I64(27, 1, 8), F64(28, 1, 8), IQ1_M(29, 256, 56), BF16(30, 1, 2),
    TQ1_0(34, 256, 54), TQ2_0(35, 256, 66), MXFP4(39, 32, 17);

    /** The number in GGUF tensor infos. */
    public final int id;
    /** Elements per block (1 for plain element types). */
    public final int blockSize;
    /** Bytes per block. */
    public final int typeSize;

    GgmlType(int id, int blockSize, int typeSize) {
        this.id = id;
        this.blockSize = blockSize;
        this.typeSize = typeSize;
    }

    private static final GgmlType[] BY_ID = new GgmlType[64];

    static {
        for (GgmlType t : values()) BY_ID[t.id] = t;
    }

    /** The type numbered {@code id}, or null when ggml has no such type (callers report the file and tensor). */
    public static GgmlType fromId(long id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[(int) id] : null;
    }

    /** Bytes of {@code elements} elements (a multiple of {@link #blockSize}). */
    public long byteSize(long elements) {
        if (elements % blockSize != 0) throw new IllegalArgumentException(elements + " elements is not a whole number of " + this + " blocks");
        return Math.multiplyExact(elements / blockSize, (long) typeSize);
    }

    /** True for the types jseek computes on (and can turn into floats). */
    public boolean decodable() { return dtype() != null; }

    /** The element type a {@link dev.jseek.tensor.Matrix} of this ggml type has, or null when jseek has none. */
    public DType dtype() {
        return switch (this) {
            case F32 -> DType.F32;
            case F16 -> DType.F16;
            case BF16 -> DType.BF16;
            case Q8_0 -> DType.Q8_0;
            case Q4_K -> DType.Q4_K;
            case Q5_K -> DType.Q5_K;
            case Q6_K -> DType.Q6_K;
            default -> null;
        };
    }

    /** The ggml type of a jseek element type, or null. */
    public static GgmlType of(DType d) {
        for (GgmlType t : values()) if (t.dtype() == d) return t;
        return null;
    }
}
