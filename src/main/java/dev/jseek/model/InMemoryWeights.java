package dev.jseek.model;

import dev.jseek.kernels.WeightRows;
import dev.jseek.tensor.Matrix;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A {@link WeightSource} over tensors held in memory (freshly initialized models, tests). Each tensor is a
 * {@link Matrix} (1-D tensors are 1 x n) plus its logical shape.
 */
public final class InMemoryWeights implements WeightSource {
    private record Entry(Matrix m, long[] shape) {}

    private final Map<String, Entry> tensors = new LinkedHashMap<>();

    /** Adds an F32 tensor of the given shape (rank 1 or 2) over {@code data} (not copied). */
    public InMemoryWeights put(String name, float[] data, long... shape) {
        if (shape.length < 1 || shape.length > 2) throw new IllegalArgumentException(name + ": rank must be 1 or 2");
        long n = shape.length == 1 ? shape[0] : shape[0] * shape[1];
        if (n != data.length) throw new IllegalArgumentException(name + ": " + data.length + " values for shape " + Arrays.toString(shape));
        int rows = shape.length == 1 ? 1 : Math.toIntExact(shape[0]);
        int cols = Math.toIntExact(shape[shape.length - 1]);
        tensors.put(name, new Entry(Matrix.ofF32(data, rows, cols), shape.clone()));
        return this;
    }

    /** Adds a 2-D weight of any dtype. */
    public InMemoryWeights put(String name, Matrix m) {
        tensors.put(name, new Entry(m, new long[] {m.rows(), m.cols()}));
        return this;
    }

    public Set<String> names() { return Collections.unmodifiableSet(tensors.keySet()); }

    @Override public boolean has(String name) { return tensors.containsKey(name); }

    private Entry get(String name, long... shape) {
        Entry e = tensors.get(name);
        if (e == null) throw new IllegalArgumentException("tensor " + name + " is missing");
        if (!Arrays.equals(e.shape, shape))
            throw new IllegalArgumentException("tensor " + name + " has shape " + Arrays.toString(e.shape) + ", expected " + Arrays.toString(shape));
        return e;
    }

    @Override public Matrix matrix(String name, int rows, int cols) { return get(name, rows, cols).m; }

    @Override public float[] floats(String name, long... shape) {
        Matrix m = get(name, shape).m;
        float[] out = new float[Math.toIntExact(m.elementCount())];
        for (int r = 0; r < m.rows(); r++) WeightRows.decodeRow(m, r, out, r * m.cols());
        return out;
    }
}
