package dev.jseek.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A 2-D weight in the Hugging Face / PyTorch Linear layout: {@code rows} = out features, {@code cols} = in features,
 * row-major, stored in {@code data} as {@code dtype} (usually a slice of an mmapped safetensors file, or a heap
 * segment for weights we create). FP8 weights carry {@code scaleInv}: F32 block scales of shape
 * [ceil(rows/128), ceil(cols/128)], a multiplier despite the name (docs/architecture.md §2.3); null for every other
 * dtype. The ggml block types (Q8_0, Q4_K, Q5_K, Q6_K) store each row as {@code cols / blockSize} consecutive blocks
 * (their scales are inside the blocks), usually over the mmapped GGUF file.
 *
 * <p>A Linear computes y = W x, i.e. Y[M, rows] = X[M, cols] * W^T.
 */
public record Matrix(DType dtype, int rows, int cols, MemorySegment data, MemorySegment scaleInv) {
    public static final int BLOCK = 128;

    public Matrix {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(data, "data");
        if (rows < 0 || cols < 0) throw new IllegalArgumentException("negative shape " + rows + "x" + cols);
        if (dtype.isBlock() && cols % dtype.blockSize != 0)
            throw new IllegalArgumentException(dtype + " rows are whole blocks of " + dtype.blockSize + ", got " + cols + " columns");
        long need = dtype.byteSize((long) rows * cols);
        if (data.byteSize() < need)
            throw new IllegalArgumentException("data holds " + data.byteSize() + " bytes, " + rows + "x" + cols + " " + dtype + " needs " + need);
        if (dtype == DType.F8_E4M3 || dtype == DType.F8_E5M2) {
            if (scaleInv != null && scaleInv.byteSize() < 4L * scaleRows(rows) * scaleCols(cols))
                throw new IllegalArgumentException("scaleInv too small for " + rows + "x" + cols);
        } else if (scaleInv != null) {
            throw new IllegalArgumentException("scaleInv is only for FP8 weights, got " + dtype);
        }
    }

    public static int scaleRows(int rows) { return (rows + BLOCK - 1) / BLOCK; }
    public static int scaleCols(int cols) { return (cols + BLOCK - 1) / BLOCK; }

    /** An F32 matrix over a heap array (row-major, rows x cols). */
    public static Matrix ofF32(float[] a, int rows, int cols) {
        if ((long) rows * cols > a.length) throw new IllegalArgumentException("array too small");
        return new Matrix(DType.F32, rows, cols, MemorySegment.ofArray(a), null);
    }

    public long elementCount() { return (long) rows * cols; }

    /** Bytes of one row (a whole number of blocks for the block types). */
    public long rowBytes() { return dtype.byteSize(cols); }

    /** Bytes of the whole weight as stored. */
    public long byteSize() { return dtype.byteSize((long) rows * cols); }
}
