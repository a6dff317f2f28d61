package dev.jseek.io;

import dev.jseek.tensor.DType;
import java.util.Arrays;

/**
 * An array read from a .npy file: its dtype (F32, F64, I32 or I64), shape (C order) and data, which is a
 * {@code float[]}, {@code double[]}, {@code int[]} or {@code long[]} matching the dtype.
 */
public record NpyArray(DType dtype, long[] shape, Object data) {
    public NpyArray { shape = shape.clone(); }

    @Override public long[] shape() { return shape.clone(); }

    public long size() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    public float[] floats() { return as(float[].class); }
    public double[] doubles() { return as(double[].class); }
    public int[] ints() { return as(int[].class); }
    public long[] longs() { return as(long[].class); }

    private <T> T as(Class<T> c) {
        if (!c.isInstance(data)) throw new FormatException("npy array is " + dtype + " " + Arrays.toString(shape) + ", not " + c.getSimpleName());
        return c.cast(data);
    }
}
