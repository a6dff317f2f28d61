package dev.jseek.kernels;

import static dev.jseek.kernels.QuantRows.bytes;
import static dev.jseek.kernels.QuantRows.f16;
import static dev.jseek.kernels.QuantRows.toFloat;

import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Fused dequantize-and-dot GEMV for weights stored in ggml block types (Q8_0, Q4_K, Q5_K, Q6_K), the decode path:
 * Y[m, n] (=|+=) X[m, k] W^T reading each row's blocks straight from the (mmapped) segment, one monomorphic kernel
 * per type in the style of llama3.java. Q8_0: per block the codes are widened to floats and multiplied with x into a
 * vector partial sum, scaled once by the block's scale. K-quants (Q4_K, Q5_K, Q6_K): each token's x is quantized
 * once per call to {@link Q8K} (int8 codes and a scale per 256, as llama.cpp does) and every row is an integer dot
 * product ({@link KQuantDot}), exact up to one float combination per super-block. Rows are split over the
 * {@link Parallel} pool; each (row, token) dot is computed the same way whatever m is (a 2-token verify equals two
 * 1-token steps bit for bit). No allocation once warm. Scalar twins: {@link dev.jseek.kernels.scalar.ScalarQuantGemv}
 * (Q8_0; reference-decoded weights, double sums) and {@link dev.jseek.kernels.scalar.ScalarKQuantDot} (K-quants).
 */
final class QuantGemv {
    private QuantGemv() {}

    private static final VectorSpecies<Float> F = Vec.F;
    private static final int L = Vec.LANES;

    /** True for the weight types this kernel reads. */
    static boolean supports(DType t) { return t.isBlock(); }

    /** True for the types whose dots are integer products with {@link Q8K} activations. */
    static boolean integer(DType t) { return t == DType.Q4_K || t == DType.Q5_K || t == DType.Q6_K; }

    static void linear(float[] y, int yOff, float[] x, int xOff, int m, Matrix w, boolean accumulate) {
        int n = w.rows(), k = w.cols();
        Scratch own = Scratch.acquire();
        try {
            Q8K a = integer(w.dtype()) ? quantize(own, x, xOff, m, k) : null;
            int rowGrain = Parallel.grain(n, 4, 4);
            boolean serial = (long) n * k * m < (1L << 16);
            int tasks = (n + rowGrain - 1) / rowGrain;
            Parallel.Task body = (task, wk) -> {
                int r0 = task * rowGrain;
                rows(y, yOff, x, xOff, a, 0, m, w, accumulate, r0, Math.min(n, r0 + rowGrain));
            };
            if (serial) for (int i = 0; i < tasks; i++) body.run(i, 0);
            else Parallel.parallelFor(tasks, body);
        } finally {
            own.release();
        }
    }

    /** The m rows of x (row stride k) quantized into own's {@link Q8K} buffer from element 0. */
    static Q8K quantize(Scratch own, float[] x, int xOff, int m, int k) {
        Q8K a = own.q8k();
        a.ensure(m * k);
        for (int tk = 0; tk < m; tk++) a.quantize(x, xOff + tk * k, k, tk * k);
        return a;
    }

    /**
     * For {@link Gemm#linearMany}: quantizes the input of every product that runs the integer kernels into own's
     * {@link Q8K} buffer, once per distinct input (same offset, tokens and width), and records where in
     * {@code slot[i]} (-1 for the other products). Returns null when no product needs it.
     */
    static Q8K quantizeMany(Scratch own, int count, Matrix[] w, float[] x, int[] jobs) {
        Q8K a = null;
        int used = 0;
        for (int i = 0; i < count; i++) {
            int xo = jobs[3 * i], m = jobs[3 * i + 1], k = w[i].cols();
            boolean need = integer(w[i].dtype()) && m > 0 && k > 0 && w[i].rows() > 0 && Gemv.fused(w[i], m);
            if (a == null) {
                if (!need) continue;
                a = own.q8k();
                a.slots(count);
                for (int j = 0; j < i; j++) a.slot[j] = -1;
            }
            a.slot[i] = -1;
            if (!need) continue;
            for (int j = 0; j < i && a.slot[i] < 0; j++)
                if (a.slot[j] >= 0 && jobs[3 * j] == xo && jobs[3 * j + 1] == m && w[j].cols() == k) a.slot[i] = a.slot[j];
            if (a.slot[i] >= 0) continue;
            a.ensure(used + m * k);
            for (int tk = 0; tk < m; tk++) a.quantize(x, xo + tk * k, k, used + tk * k);
            a.slot[i] = used;
            used += m * k;
        }
        return a;
    }

    /** Rows [r0, r1) of Y on the calling thread (K-quants: x quantized here). */
    static void rows(float[] y, int yOff, float[] x, int xOff, int m, Matrix w, boolean accumulate, int r0, int r1) {
        if (!integer(w.dtype())) {
            rows(y, yOff, x, xOff, null, 0, m, w, accumulate, r0, r1);
            return;
        }
        Scratch own = Scratch.acquire();
        try {
            rows(y, yOff, x, xOff, quantize(own, x, xOff, m, w.cols()), 0, m, w, accumulate, r0, r1);
        } finally {
            own.release();
        }
    }

    /**
     * Rows [r0, r1) of Y on the calling thread; K-quant weights read the m quantized rows of a from element aOff
     * (row stride k), Q8_0 reads x.
     */
    static void rows(float[] y, int yOff, float[] x, int xOff, Q8K a, int aOff, int m, Matrix w, boolean accumulate, int r0, int r1) {
        DType t = w.dtype();
        int n = w.rows(), k = w.cols();
        MemorySegment seg = w.data();
        long rb = w.rowBytes();
        if (t == DType.Q8_0 && Q8_LANES) {
            Scratch own = Scratch.acquire();
            try {
                float[] lanes = own.get(4, L);
                for (int r = r0; r < r1; r++)
                    for (int tk = 0; tk < m; tk++) {
                        float v = q8_0(seg, r * rb, x, xOff + tk * k, k / 32, lanes);
                        int yi = yOff + tk * n + r;
                        y[yi] = accumulate ? y[yi] + v : v;
                    }
            } finally {
                own.release();
            }
            return;
        }
        for (int r = r0; r < r1; r++)
            for (int tk = 0; tk < m; tk++) {
                long p = r * rb;
                float v = switch (t) {
                    case Q8_0 -> q8_0(seg, p, x, xOff + tk * k, k / 32);
                    case Q4_K -> KQuantDot.q4_k(seg, p, a, aOff + tk * k, k / 256);
                    case Q5_K -> KQuantDot.q5_k(seg, p, a, aOff + tk * k, k / 256);
                    case Q6_K -> KQuantDot.q6_k(seg, p, a, aOff + tk * k, k / 256);
                    default -> throw new IllegalArgumentException(t + " is not a block type");
                };
                int yi = yOff + tk * n + r;
                y[yi] = accumulate ? y[yi] + v : v;
            }
    }

    /**
     * Whether the Q8_0 row sum reduces its lanes through a small array ({@link #q8_0(MemorySegment, long, float[], int,
     * int, float[])}: one vector store, then scalar adds of the stored lanes in index order) instead of
     * {@link Vec#sum}'s lane extractions: the same float additions, so the same bits, and on a row of 16 blocks the
     * extractions cost about as much as the blocks (system property {@code jseek.q8Lanes}, default true).
     */
    static final boolean Q8_LANES = Boolean.parseBoolean(System.getProperty("jseek.q8Lanes", "true"));

    /** {@link #q8_0(MemorySegment, long, float[], int, int)} with the lane sum through {@code lanes} (L floats): same bits. */
    static float q8_0(MemorySegment s, long p, float[] x, int xo, int nb, float[] lanes) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < nb; b++, p += 34, xo += 32) {
            FloatVector t = toFloat(bytes(s, p + 2)).mul(FloatVector.fromArray(F, x, xo));
            for (int j = L; j < 32; j += L) t = toFloat(bytes(s, p + 2 + j)).fma(FloatVector.fromArray(F, x, xo + j), t);
            acc = t.fma(FloatVector.broadcast(F, f16(s, p)), acc);
        }
        acc.intoArray(lanes, 0);
        float sum = 0f;
        for (int j = 0; j < L; j++) sum += lanes[j];
        return sum;
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
}
