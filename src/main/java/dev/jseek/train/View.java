package dev.jseek.train;

/**
 * A row-major [rows, cols] matrix inside a float arena: element (r, c) is {@code a[off + r * stride + c]}. The
 * training modules pass views instead of (array, offset, stride) triples; a view of a slice of wider rows (c_kv inside
 * kv_a's output, one half of MTP's concatenation) keeps the wider row's stride. Views are cheap values: the data stays
 * in the arena, and the kernels read {@link #a()}, {@link #off()} and {@link #stride()}.
 */
public record View(float[] a, int off, int rows, int cols, int stride) {
    public View {
        if (rows < 0 || cols < 0 || stride < cols)
            throw new IllegalArgumentException("view [" + rows + ", " + cols + "] with row stride " + stride);
    }

    /** Contiguous rows of {@code cols} floats from {@code off}. */
    public static View of(float[] a, int off, int rows, int cols) { return new View(a, off, rows, cols, cols); }

    /** Offset of row r in {@link #a()}. */
    public int row(int r) { return off + r * stride; }

    /** Rows [r0, r0 + n). */
    public View rows(int r0, int n) { return new View(a, off + r0 * stride, n, cols, stride); }

    /** Columns [c0, c0 + n) of every row (the same row stride). */
    public View cols(int c0, int n) { return new View(a, off + c0, rows, n, stride); }

    /** Whether the rows follow each other without gaps. */
    public boolean contiguous() { return stride == cols || rows <= 1; }

    /** rows * cols. */
    public int size() { return rows * cols; }
}
