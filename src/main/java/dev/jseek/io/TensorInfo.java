package dev.jseek.io;

import dev.jseek.tensor.DType;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor of a safetensors file: its name, dtype, shape (row-major, outermost first; [out, in] for Linear
 * weights) and where its bytes lie in {@code file} ({@code fileOffset} is absolute, i.e. after the 8-byte length
 * and the JSON header). Shapes are defensive copies.
 */
public record TensorInfo(String name, DType dtype, long[] shape, Path file, long fileOffset, long byteSize) {
    public TensorInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        shape = shape.clone();
    }

    /** A copy of the shape. */
    @Override public long[] shape() { return shape.clone(); }

    public int rank() { return shape.length; }

    /** Size of dimension i. */
    public long dim(int i) { return shape[i]; }

    /** Product of the dims (1 for a scalar). */
    public long elementCount() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    /** True when the shape equals {@code expected} exactly. */
    public boolean hasShape(long... expected) { return Arrays.equals(shape, expected); }

    /** The shape as "[a, b]". */
    public String shapeString() { return Arrays.toString(shape); }

    @Override public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape)
                && Objects.equals(file, t.file) && fileOffset == t.fileOffset && byteSize == t.byteSize;
    }

    @Override public int hashCode() { return Objects.hash(name, dtype, Arrays.hashCode(shape), file, fileOffset, byteSize); }

    @Override public String toString() { return name + " " + dtype + " " + shapeString() + " in " + file; }
}
