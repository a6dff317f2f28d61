package dev.jseek.kernels;

import dev.jseek.tensor.Bf16;
import dev.jseek.tensor.DType;
import dev.jseek.tensor.Fp16;
import dev.jseek.tensor.Matrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

/** Random weights of every dtype for kernel tests (finite values only; FP8 with random 128x128 block scales). */
final class TestWeights {
    private TestWeights() {}

    static final DType[] WEIGHT_DTYPES = {DType.F32, DType.BF16, DType.F16, DType.F8_E4M3, DType.F8_E5M2};

    static float[] randn(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    static Matrix random(DType d, int rows, int cols, Random r, boolean offHeap) {
        int n = rows * cols;
        MemorySegment data;
        MemorySegment scale = null;
        switch (d) {
            case F32 -> data = MemorySegment.ofArray(randn(r, n));
            case BF16 -> {
                short[] s = new short[n];
                for (int i = 0; i < n; i++) s[i] = Bf16.fromFloat((float) r.nextGaussian());
                data = MemorySegment.ofArray(s);
            }
            case F16 -> {
                short[] s = new short[n];
                for (int i = 0; i < n; i++) s[i] = Fp16.fromFloat((float) r.nextGaussian());
                data = MemorySegment.ofArray(s);
            }
            case F8_E4M3, F8_E5M2 -> {
                byte[] b = new byte[n];
                for (int i = 0; i < n; i++) {
                    int c;
                    do c = r.nextInt(256);
                    while (d == DType.F8_E4M3 ? (c & 0x7F) == 0x7F : (c & 0x7C) == 0x7C);   // finite codes only
                    b[i] = (byte) c;
                }
                data = MemorySegment.ofArray(b);
                float[] sc = new float[Matrix.scaleRows(rows) * Matrix.scaleCols(cols)];
                for (int i = 0; i < sc.length; i++) sc[i] = (float) Math.scalb(0.5 + r.nextDouble(), -4 - r.nextInt(6));
                if (d == DType.F8_E5M2) for (int i = 0; i < sc.length; i++) sc[i] *= 0x1p-8f;
                scale = MemorySegment.ofArray(sc);
            }
            default -> throw new IllegalArgumentException(d.toString());
        }
        if (offHeap) {
            Arena arena = Arena.ofAuto();
            MemorySegment nd = arena.allocate(data.byteSize(), 64);
            nd.copyFrom(data);
            data = nd;
            if (scale != null) {
                MemorySegment ns = arena.allocate(scale.byteSize(), 64);
                ns.copyFrom(scale);
                scale = ns;
            }
        }
        return new Matrix(d, rows, cols, data, scale);
    }
}
