package dev.jseek.gguf;

import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor info of a GGUF file: its name, its dims in ggml order (ne[0] = the innermost, contiguous dimension,
 * i.e. the REVERSE of the row-major shape: a PyTorch/HF [out, in] weight has dims [in, out]; routed experts stacked
 * as [n_expert, out, in] have dims [in, out, n_expert]), its {@link GgmlType}, and where its bytes are:
 * {@code offset} is relative to the start of the data section (a multiple of the alignment), {@code fileOffset}
 * absolute.
 */
public record GgufTensorInfo(String name, long[] dims, GgmlType type, long offset, long fileOffset, long byteSize) {
    public GgufTensorInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        dims = dims.clone();
    }

    /** A copy of the dims, innermost first. */
    @Override public long[] dims() { return dims.clone(); }

    public int rank() { return dims.length; }

    /** The row-major shape, outermost first (the dims reversed): what the HF tensor's shape is. */
    public long[] shape() {
        long[] s = new long[dims.length];
        for (int i = 0; i < dims.length; i++) s[i] = dims[dims.length - 1 - i];
        return s;
    }

    public long elementCount() {
        long n = 1;
        for (long d : dims) n *= d;
        return n;
    }

    /** The row-major shape as "[a, b]". */
    public String shapeString() { return Arrays.toString(shape()); }

    @Override public boolean equals(Object o) {
        return o instanceof GgufTensorInfo t && name.equals(t.name) && Arrays.equals(dims, t.dims) && type == t.type
                && offset == t.offset && fileOffset == t.fileOffset && byteSize == t.byteSize;
    }

    @Override public int hashCode() { return Objects.hash(name, Arrays.hashCode(dims), type, offset); }

    @Override public String toString() { return name + " " + type + " dims " + Arrays.toString(dims) + " @" + offset; }
}
