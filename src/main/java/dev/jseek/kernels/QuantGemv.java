package dev.jseek.kernels;

import static dev.jseek.kernels.QuantRows.bits;
import static dev.jseek.kernels.QuantRows.bytes;
import static dev.jseek.kernels.QuantRows.f16;
import static dev.jseek.kernels.QuantRows.ints;
import static dev.jseek.kernels.QuantRows.q6;
import static dev.jseek.kernels.QuantRows.toFloat;

import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import dev.jseek.tensor.Q4_K;
import dev.jseek.tensor.Q5_K;
import dev.jseek.tensor.Q6_K;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Fused dequantize-and-dot GEMV for weights stored in ggml block types (Q8_0, Q4_K, Q5_K, Q6_K), the decode path:
 * Y[m, n] (=|+=) X[m, k] W^T reading each row's blocks straight from the (mmapped) segment, one monomorphic kernel
 * per type in the style of llama3.java. Per block (or sub-block) the codes are widened to floats and multiplied
 * with x into a vector partial sum, which is then scaled once by the block's scale ({@code acc += d * sum(q x)}); the
 * Q4_K/Q5_K mins are applied once per sub-block against precomputed sums of x ({@code - dmin*m * sum(x)}), so no
 * weight is ever materialized as floats. Rows are split over the {@link Parallel} pool; each (row, token) dot is
 * computed the same way whatever m is (a 2-token verify equals two 1-token steps bit for bit). No allocation once
 * warm. Scalar twin: {@link dev.jseek.kernels.scalar.ScalarQuantGemv}.
 */
final class QuantGemv {
    private QuantGemv() {}

    private static final VectorSpecies<Float> F = Vec.F;
    private static final int L = Vec.LANES;

    /** True for the weight types this kernel reads. */
    static boolean supports(DType t) { return t.isBlock(); }

    static void linear(float[] y, int yOff, float[] x, int xOff, int m, Matrix w, boolean accumulate) {
        int n = w.rows(), k = w.cols();
        DType t = w.dtype();
        int groups = k / 32;
        boolean mins = t == DType.Q4_K || t == DType.Q5_K;
        Scratch own = Scratch.acquire();
        try {
            float[] xs = mins ? own.get(4, m * groups) : null;
            if (mins) for (int tk = 0; tk < m; tk++) groupSums(x, xOff + tk * k, groups, xs, tk * groups);
            int rowGrain = Parallel.grain(n, 4, 4);
            boolean serial = (long) n * k * m < (1L << 16);
            int tasks = (n + rowGrain - 1) / rowGrain;
            Parallel.Task body = (task, wk) -> {
                int r0 = task * rowGrain;
                rowsWithSums(y, yOff, x, xOff, m, w, accumulate, r0, Math.min(n, r0 + rowGrain), xs);
            };
            if (serial) for (int i = 0; i < tasks; i++) body.run(i, 0);
            else Parallel.parallelFor(tasks, body);
        } finally {
            own.release();
        }
    }

    /** Rows [r0, r1) of Y on the calling thread (the sums of x computed here). */
    static void rows(float[] y, int yOff, float[] x, int xOff, int m, Matrix w, boolean accumulate, int r0, int r1) {
        DType t = w.dtype();
        int k = w.cols(), groups = k / 32;
        if (t != DType.Q4_K && t != DType.Q5_K) {
            rowsWithSums(y, yOff, x, xOff, m, w, accumulate, r0, r1, null);
            return;
        }
        Scratch own = Scratch.acquire();
        try {
            float[] xs = own.get(4, m * groups);
            for (int tk = 0; tk < m; tk++) groupSums(x, xOff + tk * k, groups, xs, tk * groups);
            rowsWithSums(y, yOff, x, xOff, m, w, accumulate, r0, r1, xs);
        } finally {
            own.release();
        }
    }

    private static void rowsWithSums(float[] y, int yOff, float[] x, int xOff, int m, Matrix w, boolean accumulate, int r0, int r1,
                                     float[] xs) {
        DType t = w.dtype();
        int n = w.rows(), k = w.cols(), groups = k / 32;
        MemorySegment seg = w.data();
        long rb = w.rowBytes();
        for (int r = r0; r < r1; r++)
            for (int tk = 0; tk < m; tk++) {
                float v = dot(t, seg, r * rb, x, xOff + tk * k, xs, tk * groups, k);
                int yi = yOff + tk * n + r;
                y[yi] = accumulate ? y[yi] + v : v;
            }
    }

    /** xs[o + j] = sum of x[xo + 32 j .. xo + 32 j + 32) (lane-wise, then {@link Vec#sum}). */
    static void groupSums(float[] x, int xo, int groups, float[] xs, int o) {
        for (int j = 0; j < groups; j++) {
            FloatVector a = FloatVector.fromArray(F, x, xo + 32 * j);
            for (int l = L; l < 32; l += L) a = a.add(FloatVector.fromArray(F, x, xo + 32 * j + l));
            xs[o + j] = Vec.sum(a);
        }
    }

    /** One row (its blocks from byte p) times x[xo .. xo + k). */
    static float dot(DType t, MemorySegment s, long p, float[] x, int xo, float[] xs, int xso, int k) {
        return switch (t) {
            case Q8_0 -> q8_0(s, p, x, xo, k / 32);
            case Q4_K -> q4_k(s, p, x, xo, xs, xso, k / 256);
            case Q5_K -> q5_k(s, p, x, xo, xs, xso, k / 256);
            case Q6_K -> q6_k(s, p, x, xo, k / 256);
            default -> throw new IllegalArgumentException(t + " is not a block type");
        };
    }

    static float q8_0(MemorySegment s, long p, float[] x, int xo, int nb) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < nb; b++, p += 34, xo += 32) {
            FloatVector t = toFloat(bytes(s, p + 2)).mul(FloatVector.fromArray(F, x, xo));
            for (int j = L; j < 32; j += L) t = toFloat(bytes(s, p + 2 + j)).fma(FloatVector.fromArray(F, x, xo + j), t);
            acc = t.fma(FloatVector.broadcast(F, f16(s, p)), acc);
        }
        return Vec.sum(acc);
    }

    static float q4_k(MemorySegment s, long p, float[] x, int xo, float[] xs, int xso, int nb) {
        FloatVector acc = FloatVector.zero(F);
        float mins = 0;
        for (int b = 0; b < nb; b++, p += Q4_K.BLOCK_BYTES, xo += 256, xso += 8) {
            float d = f16(s, p), dmin = f16(s, p + 2);
            long sc = p + Q4_K.SCALES;
            for (int c = 0; c < 4; c++) {
                long q = p + Q4_K.QS + 32L * c;
                int xc = xo + 64 * c;
                IntVector bv = ints(s, q);
                FloatVector t1 = toFloat(bits(bv, 0, 0xF)).mul(FloatVector.fromArray(F, x, xc));
                FloatVector t2 = toFloat(bits(bv, 4, 0xF)).mul(FloatVector.fromArray(F, x, xc + 32));
                for (int l = L; l < 32; l += L) {
                    bv = ints(s, q + l);
                    t1 = toFloat(bits(bv, 0, 0xF)).fma(FloatVector.fromArray(F, x, xc + l), t1);
                    t2 = toFloat(bits(bv, 4, 0xF)).fma(FloatVector.fromArray(F, x, xc + 32 + l), t2);
                }
                acc = t1.fma(FloatVector.broadcast(F, d * Q4_K.scale(s, sc, 2 * c)), acc);
                acc = t2.fma(FloatVector.broadcast(F, d * Q4_K.scale(s, sc, 2 * c + 1)), acc);
                mins += dmin * Q4_K.min(s, sc, 2 * c) * xs[xso + 2 * c] + dmin * Q4_K.min(s, sc, 2 * c + 1) * xs[xso + 2 * c + 1];
            }
        }
        return Vec.sum(acc) - mins;
    }

    static float q5_k(MemorySegment s, long p, float[] x, int xo, float[] xs, int xso, int nb) {
        FloatVector acc = FloatVector.zero(F);
        float mins = 0;
        for (int b = 0; b < nb; b++, p += Q5_K.BLOCK_BYTES, xo += 256, xso += 8) {
            float d = f16(s, p), dmin = f16(s, p + 2);
            long sc = p + Q5_K.SCALES;
            for (int c = 0; c < 4; c++) {
                long q = p + Q5_K.QS + 32L * c;
                int xc = xo + 64 * c;
                FloatVector t1 = FloatVector.zero(F), t2 = t1;
                for (int l = 0; l < 32; l += L) {
                    IntVector bv = ints(s, q + l), h = ints(s, p + Q5_K.QH + l);
                    IntVector h1 = bits(h, 2 * c, 1).lanewise(VectorOperators.LSHL, 4), h2 = bits(h, 2 * c + 1, 1).lanewise(VectorOperators.LSHL, 4);
                    t1 = toFloat(bits(bv, 0, 0xF).or(h1)).fma(FloatVector.fromArray(F, x, xc + l), t1);
                    t2 = toFloat(bits(bv, 4, 0xF).or(h2)).fma(FloatVector.fromArray(F, x, xc + 32 + l), t2);
                }
                acc = t1.fma(FloatVector.broadcast(F, d * Q4_K.scale(s, sc, 2 * c)), acc);
                acc = t2.fma(FloatVector.broadcast(F, d * Q4_K.scale(s, sc, 2 * c + 1)), acc);
                mins += dmin * Q4_K.min(s, sc, 2 * c) * xs[xso + 2 * c] + dmin * Q4_K.min(s, sc, 2 * c + 1) * xs[xso + 2 * c + 1];
            }
        }
        return Vec.sum(acc) - mins;
    }

    static float q6_k(MemorySegment s, long p, float[] x, int xo, int nb) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < nb; b++, p += Q6_K.BLOCK_BYTES, xo += 256) {
            float d = f16(s, p + Q6_K.D);
            for (int h = 0; h < 2; h++) {
                long ql = p + 64L * h, qh = p + Q6_K.QH + 32L * h, sc = p + Q6_K.SCALES + 8L * h;
                int xh = xo + 128 * h;
                for (int l = 0; l < 32; l += L) {
                    int is = l / 16;
                    IntVector a = ints(s, ql + l), bb = ints(s, ql + 32 + l), hb = ints(s, qh + l);
                    IntVector q1 = q6(a, 0, hb, 0), q2 = q6(bb, 0, hb, 2), q3 = q6(a, 4, hb, 4), q4 = q6(bb, 4, hb, 6);
                    acc = toFloat(q1).mul(FloatVector.fromArray(F, x, xh + l)).fma(FloatVector.broadcast(F, d * s.get(ValueLayout.JAVA_BYTE, sc + is)), acc);
                    acc = toFloat(q2).mul(FloatVector.fromArray(F, x, xh + 32 + l)).fma(FloatVector.broadcast(F, d * s.get(ValueLayout.JAVA_BYTE, sc + is + 2)), acc);
                    acc = toFloat(q3).mul(FloatVector.fromArray(F, x, xh + 64 + l)).fma(FloatVector.broadcast(F, d * s.get(ValueLayout.JAVA_BYTE, sc + is + 4)), acc);
                    acc = toFloat(q4).mul(FloatVector.fromArray(F, x, xh + 96 + l)).fma(FloatVector.broadcast(F, d * s.get(ValueLayout.JAVA_BYTE, sc + is + 6)), acc);
                }
            }
        }
        return Vec.sum(acc);
    }
}
