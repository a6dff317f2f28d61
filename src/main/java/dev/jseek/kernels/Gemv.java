package dev.jseek.kernels;

import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Linear layer for a few tokens (decode, MTP, small batches): Y[m, n] (=|+=) X[m, k] W^T streaming each
 * weight row once per call (memory-bound decode, docs/architecture.md §11). Rows are split over the {@link Parallel} pool; each
 * task walks its rows 4 at a time, decodes a KCH-wide chunk of the 4 rows into floats (any dtype, FP8 block
 * scales applied, {@link WeightRows#decode}) in L1, and multiplies it with 2 tokens at once (16 vector
 * accumulators, one reduction per row x token x chunk). Every token's sums are formed in one fixed order whatever
 * m is (pairs and single tokens accumulate alike), so a token's outputs are bitwise the same alone or in a batch
 * of up to {@link Gemm#GEMV_MAX_M} tokens. The weight bytes read are the cost; decode is cheap next
 * to them.
 */
final class Gemv {
    private Gemv() {}

    private static final VectorSpecies<Float> F = Vec.F;
    /** Weight chunk width in elements (a multiple of 128, so FP8 scale blocks are whole within a chunk). */
    static final int KCH = 512;
    static final int R = 4;

    /**
     * Token counts up to this run the fused dequantize-and-dot kernel ({@link QuantGemv}) on ggml block-typed weights;
     * more tokens decode chunks once and reuse them across tokens (system property {@code jseek.quantFusedMaxM}; default
     * 16, the token-tiled kernel's reach, so Q8_0 batches up to the packed GEMM's threshold keep a token's bits; 4
     * with {@code jseek.q8Tiles=false}).
     */
    static final int QUANT_FUSED_MAX_M = Integer.getInteger("jseek.quantFusedMaxM", QuantGemv.Q8_TILES ? 16 : 4);

    /**
     * Token counts up to this run the integer K-quant kernels ({@link QuantGemv}, {@link KQuantDot}) on Q4_K/Q5_K/Q6_K
     * weights (system property {@code jseek.quantIntMaxM}; 16, the serving engine's default batch, so that its decode
     * steps give every sequence the same bits whatever the batch; measured at about the float path's speed at 16
     * tokens and below it from 32).
     */
    static final int QUANT_INT_MAX_M = Integer.getInteger("jseek.quantIntMaxM", 16);

    /**
     * BF16 and F16 weights run {@link HalfGemv} (widened in registers, 4-row x 4-token tiles) unless the system
     * property {@code jseek.halfGemv} is false (then this class's decode-to-buffer path, kept for comparison).
     */
    static final boolean HALF = Boolean.parseBoolean(System.getProperty("jseek.halfGemv", "true"));

    /**
     * Block-typed weights (Q8_0, K-quants) times at least this many tokens skip the streaming GEMV and run the packed
     * GEMM ({@link GemmDriver}: each weight decoded once per product into L2-resident panels, the 12 x 32 F32
     * micro-kernel): from 17 tokens the GEMV's per-token cost (integer products re-reading the codes per token,
     * or the chunked float path) is 1.5-3x the GEMM's (system property {@code jseek.quantGemmMinM}; default
     * {@link #QUANT_INT_MAX_M} + 1, so batches the integer K-quant kernels serve keep their bits). Prefill's expert
     * products (tens of tokens each) are the case.
     */
    static final int QUANT_GEMM_MIN_M = Integer.getInteger("jseek.quantGemmMinM", QUANT_INT_MAX_M + 1);

    /** True when m tokens times a block-typed w go to the packed GEMM although m is GEMV-sized. */
    static boolean packed(Matrix w, int m) { return m >= QUANT_GEMM_MIN_M && w.dtype().isBlock(); }

    /** True when m tokens times w run the fused kernels of {@link QuantGemv}. */
    static boolean fused(Matrix w, int m) {
        if (HalfGemv.Q8_HALF && w.dtype() == DType.Q8_0) return false;
        return QuantGemv.integer(w.dtype()) ? m <= QUANT_INT_MAX_M : m <= QUANT_FUSED_MAX_M && QuantGemv.supports(w.dtype());
    }

    static void linear(float[] y, int yOff, float[] x, int xOff, int m, Matrix w, boolean accumulate) {
        int n = w.rows(), k = w.cols();
        if (fused(w, m)) {
            QuantGemv.linear(y, yOff, x, xOff, m, w, accumulate);
            return;
        }
        if (HALF && HalfGemv.supports(w.dtype())) {
            HalfGemv.linear(y, yOff, x, xOff, m, w, accumulate);
            return;
        }
        int rowGrain = Parallel.grain(n, 4, 4 * R);
        boolean serial = (long) n * k * m < (1L << 16);
        int tasks = (n + rowGrain - 1) / rowGrain;
        Parallel.Task body = (t, wk) -> {
            int r0 = t * rowGrain, r1 = Math.min(n, r0 + rowGrain);
            Scratch s = Scratch.acquire();
            try {
                float[] wbuf = s.get(2, R * KCH);
                float[] sums = s.get(3, R * m);
                rows(y, yOff, x, xOff, m, w, accumulate, r0, r1, wbuf, sums);
            } finally {
                s.release();
            }
        };
        if (serial) for (int t = 0; t < tasks; t++) body.run(t, 0);
        else Parallel.parallelFor(tasks, body);
    }

    /**
     * Rows [r0, r1) of Y (=|+=) X W^T on the calling thread, computed exactly as {@link #linear} computes them when
     * r0 is a multiple of 4 (row groups of {@link #R} aligned at 0; per-row dots independent of the split), so a
     * batch of products split differently over the pool gives the same bits. For the integer K-quant kernels, a holds
     * x already quantized: its m rows from element aOff (a null: quantized here when needed).
     */
    static void rowsSerial(float[] y, int yOff, float[] x, int xOff, Q8K a, int aOff, int m, Matrix w, boolean accumulate, int r0, int r1) {
        if (fused(w, m)) {
            if (a != null || !QuantGemv.integer(w.dtype())) QuantGemv.rows(y, yOff, x, xOff, a, aOff, m, w, accumulate, r0, r1);
            else QuantGemv.rows(y, yOff, x, xOff, m, w, accumulate, r0, r1);
            return;
        }
        if (HALF && HalfGemv.supports(w.dtype())) {
            HalfGemv.rows(y, yOff, x, xOff, m, w, accumulate, r0, r1);
            return;
        }
        Scratch s = Scratch.acquire();
        try {
            rows(y, yOff, x, xOff, m, w, accumulate, r0, r1, s.get(2, R * KCH), s.get(3, R * m));
        } finally {
            s.release();
        }
    }

    private static void rows(float[] y, int yOff, float[] x, int xOff, int m, Matrix w, boolean accumulate,
                             int r0, int r1, float[] wbuf, float[] sums) {
        int n = w.rows(), k = w.cols();
        for (int rg = r0; rg < r1; rg += R) {
            int rr = Math.min(R, r1 - rg);
            java.util.Arrays.fill(sums, 0, rr * m, 0f);
            for (int c0 = 0; c0 < k; c0 += KCH) {
                int len = Math.min(KCH, k - c0);
                for (int r = 0; r < rr; r++) WeightRows.decode(w, rg + r, c0, len, wbuf, r * KCH);
                if (rr == R) {
                    // tokens in pairs and then one: both sum a token exactly the same way, so a row's result does
                    // not depend on m (batch invariance of the serving engine, speculative verify)
                    int t = 0;
                    for (; t + 2 <= m; t += 2) dot4x2(wbuf, x, xOff + t * k + c0, k, len, sums, t, m);
                    for (; t < m; t++) dot4x1(wbuf, x, xOff + t * k + c0, len, sums, t, m);
                } else {
                    for (int r = 0; r < rr; r++)
                        for (int t = 0; t < m; t++)
                            sums[r * m + t] += dot1(wbuf, r * KCH, x, xOff + t * k + c0, len);
                }
            }
            for (int r = 0; r < rr; r++)
                for (int t = 0; t < m; t++) {
                    int yi = yOff + t * n + rg + r;
                    y[yi] = accumulate ? y[yi] + sums[r * m + t] : sums[r * m + t];
                }
        }
    }

    /**
     * 4 rows x 2 tokens, each (row, token) sum accumulated exactly as {@link #dot4x1} does it (two accumulators over
     * alternate vector blocks, one more block into the first, the pair added, reduced, then the scalar tail): a
     * token's outputs are bitwise the same whether it is multiplied alone or with one other token. Speculative
     * decoding relies on it: its 2-token verify forward must give the logits of two 1-token decode steps.
     */
    private static void dot4x2(float[] wb, float[] x, int xo, int k, int len, float[] sums, int t0, int m) {
        int L = F.length();
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
        FloatVector b00 = z, b01 = z, b10 = z, b11 = z, b20 = z, b21 = z, b30 = z, b31 = z;
        int x1 = xo + k;
        int i = 0;
        for (; i + 2 * L <= len; i += 2 * L) {
            FloatVector w0 = FloatVector.fromArray(F, wb, i), w1 = FloatVector.fromArray(F, wb, KCH + i);
            FloatVector w2 = FloatVector.fromArray(F, wb, 2 * KCH + i), w3 = FloatVector.fromArray(F, wb, 3 * KCH + i);
            FloatVector v = FloatVector.fromArray(F, x, xo + i), u = FloatVector.fromArray(F, x, x1 + i);
            a00 = w0.fma(v, a00); a10 = w1.fma(v, a10); a20 = w2.fma(v, a20); a30 = w3.fma(v, a30);
            a01 = w0.fma(u, a01); a11 = w1.fma(u, a11); a21 = w2.fma(u, a21); a31 = w3.fma(u, a31);
            int j = i + L;
            w0 = FloatVector.fromArray(F, wb, j); w1 = FloatVector.fromArray(F, wb, KCH + j);
            w2 = FloatVector.fromArray(F, wb, 2 * KCH + j); w3 = FloatVector.fromArray(F, wb, 3 * KCH + j);
            v = FloatVector.fromArray(F, x, xo + j); u = FloatVector.fromArray(F, x, x1 + j);
            b00 = w0.fma(v, b00); b10 = w1.fma(v, b10); b20 = w2.fma(v, b20); b30 = w3.fma(v, b30);
            b01 = w0.fma(u, b01); b11 = w1.fma(u, b11); b21 = w2.fma(u, b21); b31 = w3.fma(u, b31);
        }
        for (; i + L <= len; i += L) {
            FloatVector w0 = FloatVector.fromArray(F, wb, i), w1 = FloatVector.fromArray(F, wb, KCH + i);
            FloatVector w2 = FloatVector.fromArray(F, wb, 2 * KCH + i), w3 = FloatVector.fromArray(F, wb, 3 * KCH + i);
            FloatVector v = FloatVector.fromArray(F, x, xo + i), u = FloatVector.fromArray(F, x, x1 + i);
            a00 = w0.fma(v, a00); a10 = w1.fma(v, a10); a20 = w2.fma(v, a20); a30 = w3.fma(v, a30);
            a01 = w0.fma(u, a01); a11 = w1.fma(u, a11); a21 = w2.fma(u, a21); a31 = w3.fma(u, a31);
        }
        float s00 = Vec.sum(a00.add(b00)), s01 = Vec.sum(a01.add(b01));
        float s10 = Vec.sum(a10.add(b10)), s11 = Vec.sum(a11.add(b11));
        float s20 = Vec.sum(a20.add(b20)), s21 = Vec.sum(a21.add(b21));
        float s30 = Vec.sum(a30.add(b30)), s31 = Vec.sum(a31.add(b31));
        for (; i < len; i++) {
            float v0 = x[xo + i], v1 = x[x1 + i];
            s00 += wb[i] * v0; s01 += wb[i] * v1;
            s10 += wb[KCH + i] * v0; s11 += wb[KCH + i] * v1;
            s20 += wb[2 * KCH + i] * v0; s21 += wb[2 * KCH + i] * v1;
            s30 += wb[3 * KCH + i] * v0; s31 += wb[3 * KCH + i] * v1;
        }
        sums[t0] += s00; sums[t0 + 1] += s01;
        sums[m + t0] += s10; sums[m + t0 + 1] += s11;
        sums[2 * m + t0] += s20; sums[2 * m + t0 + 1] += s21;
        sums[3 * m + t0] += s30; sums[3 * m + t0 + 1] += s31;
    }

    /** 4 rows x 1 token, two accumulators per row. */
    private static void dot4x1(float[] wb, float[] x, int xo, int len, float[] sums, int t0, int m) {
        int L = F.length();
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, a1 = z, a2 = z, a3 = z, b0 = z, b1 = z, b2 = z, b3 = z;
        int i = 0;
        for (; i + 2 * L <= len; i += 2 * L) {
            FloatVector v = FloatVector.fromArray(F, x, xo + i), u = FloatVector.fromArray(F, x, xo + i + L);
            a0 = FloatVector.fromArray(F, wb, i).fma(v, a0); b0 = FloatVector.fromArray(F, wb, i + L).fma(u, b0);
            a1 = FloatVector.fromArray(F, wb, KCH + i).fma(v, a1); b1 = FloatVector.fromArray(F, wb, KCH + i + L).fma(u, b1);
            a2 = FloatVector.fromArray(F, wb, 2 * KCH + i).fma(v, a2); b2 = FloatVector.fromArray(F, wb, 2 * KCH + i + L).fma(u, b2);
            a3 = FloatVector.fromArray(F, wb, 3 * KCH + i).fma(v, a3); b3 = FloatVector.fromArray(F, wb, 3 * KCH + i + L).fma(u, b3);
        }
        for (; i + L <= len; i += L) {
            FloatVector v = FloatVector.fromArray(F, x, xo + i);
            a0 = FloatVector.fromArray(F, wb, i).fma(v, a0);
            a1 = FloatVector.fromArray(F, wb, KCH + i).fma(v, a1);
            a2 = FloatVector.fromArray(F, wb, 2 * KCH + i).fma(v, a2);
            a3 = FloatVector.fromArray(F, wb, 3 * KCH + i).fma(v, a3);
        }
        float s0 = Vec.sum(a0.add(b0)), s1 = Vec.sum(a1.add(b1));
        float s2 = Vec.sum(a2.add(b2)), s3 = Vec.sum(a3.add(b3));
        for (; i < len; i++) {
            float v = x[xo + i];
            s0 += wb[i] * v; s1 += wb[KCH + i] * v; s2 += wb[2 * KCH + i] * v; s3 += wb[3 * KCH + i] * v;
        }
        sums[t0] += s0; sums[m + t0] += s1; sums[2 * m + t0] += s2; sums[3 * m + t0] += s3;
    }

    /** One row x one token. */
    private static float dot1(float[] wb, int wo, float[] x, int xo, int len) {
        return Ops.dot(wb, wo, x, xo, len);
    }
}
