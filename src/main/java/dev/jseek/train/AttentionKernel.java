package dev.jseek.train;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API kernels of {@link CausalAttention} (spec B.2, naive mode), parallel over (sequence, head) on
 * {@link TrainPool}. Per (b, h) the keys are transposed into scratch ([dqk][T], zero-padded to whole vectors) so a
 * row of scores for 4 queries at a time is an FMA stream over key positions (no horizontal reductions); P V,
 * dQ, dK and dV are rank-1 updates vectorized over the head dimension. Forward keeps the log-sum-exp; backward
 * recomputes P from it (flash style) and accumulates dK, dV of the head in scratch, added to the arena at the end.
 * Different (b, h) write disjoint slices, so no synchronization is needed.
 */
final class AttentionKernel {
    private AttentionKernel() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final int QB = 4;                       // queries per block
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[6][0]);

    private static float[] scratch(int slot, int n, boolean zero) {
        float[][] s = SCRATCH.get();
        if (s[slot].length < n) s[slot] = new float[Math.max(n, s[slot].length * 3 / 2)];
        else if (zero) java.util.Arrays.fill(s[slot], 0, n, 0f);
        return s[slot];
    }

    /** acc + x * s (s broadcast). */
    private static FloatVector fma(FloatVector x, float s, FloatVector acc) { return x.fma(FloatVector.broadcast(F, s), acc); }

    private static int roundUp(int n) { return (n + L - 1) / L * L; }

    static void forward(float[] a, int q, int k, int v, int vRowStride, int vHeadStride, int o, int lse,
                        int B, int T, int H, int dqk, int dv, float scale) {
        TrainPool.forRange(B * H, 1, (lo, hi, w) -> {
            for (int bh = lo; bh < hi; bh++)
                forwardHead(a, q, k, v, vRowStride, vHeadStride, o, lse, bh / H, bh % H, T, H, dqk, dv, scale);
        });
    }

    static void backward(float[] a, float[] d, int q, int k, int v, int vRowStride, int vHeadStride, int o, int lse,
                         int B, int T, int H, int dqk, int dv, float scale) {
        TrainPool.forRange(B * H, 1, (lo, hi, w) -> {
            for (int bh = lo; bh < hi; bh++)
                backwardHead(a, d, q, k, v, vRowStride, vHeadStride, o, lse, bh / H, bh % H, T, H, dqk, dv, scale);
        });
    }

    /** kt[i*Tp + s] = K[s][i] for s < T, zero for T <= s < Tp. */
    private static void transposeK(float[] a, int k, int r0, int h, int T, int H, int dqk, int Tp, float[] kt) {
        for (int s = 0; s < T; s++) {
            int ko = k + ((r0 + s) * H + h) * dqk;
            for (int i = 0; i < dqk; i++) kt[i * Tp + s] = a[ko + i];
        }
        for (int i = 0; i < dqk; i++) java.util.Arrays.fill(kt, i * Tp + T, i * Tp + Tp, 0f);
    }

    /**
     * scores[j*Tp + s] = scale * q_j . k_s for the QB queries t0+j (clamped to the last valid query) and every key
     * s < n (computed in whole vectors up to roundUp(n)).
     */
    private static void scores(float[] a, int q, int r0, int h, int t0, int nq, int n, int H, int dqk, int Tp,
                               float[] kt, float scale, float[] sc) {
        int q0 = q + ((r0 + t0) * H + h) * dqk, st = H * dqk;
        int q1 = q0 + Math.min(1, nq - 1) * st, q2 = q0 + Math.min(2, nq - 1) * st, q3 = q0 + Math.min(3, nq - 1) * st;
        rowsTimesT(a, q0, q1, q2, q3, n, dqk, Tp, kt, scale, sc);
    }

    /**
     * out[j*Tp + s] = alpha * sum_i x[xj + i] * mt[i*Tp + s] for the 4 rows xj and s < roundUp(n): a [4 x k] by
     * [k x n] product with the right factor stored transposed-by-column ([k][Tp]), vectorized over s.
     */
    private static void rowsTimesT(float[] x, int x0, int x1, int x2, int x3, int n, int k, int Tp, float[] mt,
                                   float alpha, float[] out) {
        for (int c = 0; c < n; c += L) {
            FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
            for (int i = 0; i < k; i++) {
                FloatVector kv = FloatVector.fromArray(F, mt, i * Tp + c);
                s0 = fma(kv, x[x0 + i], s0);
                s1 = fma(kv, x[x1 + i], s1);
                s2 = fma(kv, x[x2 + i], s2);
                s3 = fma(kv, x[x3 + i], s3);
            }
            s0.mul(alpha).intoArray(out, c);
            s1.mul(alpha).intoArray(out, Tp + c);
            s2.mul(alpha).intoArray(out, 2 * Tp + c);
            s3.mul(alpha).intoArray(out, 3 * Tp + c);
        }
    }

    private static void forwardHead(float[] a, int q, int k, int v, int vRowStride, int vHeadStride, int o, int lse,
                                    int b, int h, int T, int H, int dqk, int dv, float scale) {
        int Tp = roundUp(T), r0 = b * T;
        float[] kt = scratch(0, dqk * Tp, false), vc = scratch(1, T * dv, false), sc = scratch(2, QB * Tp, false);
        transposeK(a, k, r0, h, T, H, dqk, Tp, kt);
        for (int s = 0; s < T; s++) System.arraycopy(a, v + (r0 + s) * vRowStride + h * vHeadStride, vc, s * dv, dv);
        float[] inv = new float[QB];
        for (int t0 = 0; t0 < T; t0 += QB) {
            int nq = Math.min(QB, T - t0), n = t0 + nq;
            scores(a, q, r0, h, t0, nq, n, H, dqk, Tp, kt, scale, sc);
            for (int j = 0; j < QB; j++) {
                int so = j * Tp;
                if (j >= nq) { java.util.Arrays.fill(sc, so, so + n, 0f); continue; }
                int t = t0 + j, len = t + 1;
                float max = rowMax(sc, so, len);
                float sum = expRow(sc, so, len, max);
                java.util.Arrays.fill(sc, so + len, so + n, 0f);
                inv[j] = 1f / sum;
                a[lse + (r0 + t) * H + h] = max + (float) Math.log(sum);
            }
            pv(a, o + ((r0 + t0) * H + h) * dv, H * dv, nq, n, dv, Tp, vc, sc, inv);
        }
    }

    /** O_j = inv_j * sum_{s<n} e_j[s] V[s] for the nq queries of a block (rows st apart from oo). */
    private static void pv(float[] a, int oo0, int st, int nq, int n, int dv, int Tp, float[] vc, float[] sc, float[] inv) {
        for (int c = 0; c < dv; c += L) {
            VectorMask<Float> m = F.indexInRange(c, dv);
            FloatVector o0 = FloatVector.zero(F), o1 = o0, o2 = o0, o3 = o0;
            for (int s = 0; s < n; s++) {
                FloatVector vv = FloatVector.fromArray(F, vc, s * dv + c, m);
                o0 = fma(vv, sc[s], o0);
                o1 = fma(vv, sc[Tp + s], o1);
                o2 = fma(vv, sc[2 * Tp + s], o2);
                o3 = fma(vv, sc[3 * Tp + s], o3);
            }
            int oo = oo0 + c;
            o0.mul(inv[0]).intoArray(a, oo, m);
            if (nq > 1) o1.mul(inv[1]).intoArray(a, oo + st, m);
            if (nq > 2) o2.mul(inv[2]).intoArray(a, oo + 2 * st, m);
            if (nq > 3) o3.mul(inv[3]).intoArray(a, oo + 3 * st, m);
        }
    }

    /** p = exp(p - l) and ds = scale * p * (ds - dsum) over [so, so + len). */
    private static void probsAndDs(float[] p, float[] ds, int so, int len, float l, float dsum, float scale) {
        for (int i = 0; i < len; i += L) {
            VectorMask<Float> m = F.indexInRange(i, len);
            FloatVector pv = FloatVector.fromArray(F, p, so + i, m).sub(l).lanewise(VectorOperators.EXP, m);
            pv.intoArray(p, so + i, m);
            FloatVector dp = FloatVector.fromArray(F, ds, so + i, m);
            pv.mul(dp.sub(dsum)).mul(scale).intoArray(ds, so + i, m);
        }
    }

    /**
     * out_j[0..k) += sum_{s<n} w[j*Tp + s] * R[s] for the nq rows j of the block (out rows ost apart from out0);
     * R[s] = x[r0 + s*rst .. + k).
     */
    private static void weightedRows(float[] x, int r0, int rst, int n, int k, int Tp, float[] w, float[] out, int out0,
                                     int ost, int nq) {
        for (int c = 0; c < k; c += L) {
            VectorMask<Float> m = F.indexInRange(c, k);
            FloatVector g0 = FloatVector.zero(F), g1 = g0, g2 = g0, g3 = g0;
            for (int s = 0; s < n; s++) {
                FloatVector kv = FloatVector.fromArray(F, x, r0 + s * rst + c, m);
                g0 = fma(kv, w[s], g0);
                g1 = fma(kv, w[Tp + s], g1);
                g2 = fma(kv, w[2 * Tp + s], g2);
                g3 = fma(kv, w[3 * Tp + s], g3);
            }
            int qo = out0 + c;
            FloatVector.fromArray(F, out, qo, m).add(g0).intoArray(out, qo, m);
            if (nq > 1) FloatVector.fromArray(F, out, qo + ost, m).add(g1).intoArray(out, qo + ost, m);
            if (nq > 2) FloatVector.fromArray(F, out, qo + 2 * ost, m).add(g2).intoArray(out, qo + 2 * ost, m);
            if (nq > 3) FloatVector.fromArray(F, out, qo + 3 * ost, m).add(g3).intoArray(out, qo + 3 * ost, m);
        }
    }

    /** acc[s*k .. + k) += sum_j w[j*Tp + s] * x_j[0..k) for s < n (x_j at x0..x3). */
    private static void rank4Update(float[] x, int x0, int x1, int x2, int x3, int n, int k, int Tp, float[] w, float[] acc) {
        for (int c = 0; c < k; c += L) {
            VectorMask<Float> m = F.indexInRange(c, k);
            FloatVector v0 = FloatVector.fromArray(F, x, x0 + c, m), v1 = FloatVector.fromArray(F, x, x1 + c, m);
            FloatVector v2 = FloatVector.fromArray(F, x, x2 + c, m), v3 = FloatVector.fromArray(F, x, x3 + c, m);
            for (int s = 0; s < n; s++) {
                int ao = s * k + c;
                FloatVector r = FloatVector.fromArray(F, acc, ao, m);
                r = fma(v0, w[s], r);
                r = fma(v1, w[Tp + s], r);
                r = fma(v2, w[2 * Tp + s], r);
                r = fma(v3, w[3 * Tp + s], r);
                r.intoArray(acc, ao, m);
            }
        }
    }

    private static float rowMax(float[] x, int off, int n) {
        FloatVector mv = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i <= n - L; i += L) mv = mv.max(FloatVector.fromArray(F, x, off + i));
        float m = mv.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) m = Math.max(m, x[off + i]);
        return m;
    }

    /** x[off+i] = exp(x[off+i] - max) for i < n; returns the sum. */
    private static float expRow(float[] x, int off, int n, float max) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector e = FloatVector.fromArray(F, x, off + i).sub(max).lanewise(VectorOperators.EXP);
            e.intoArray(x, off + i);
            acc = acc.add(e);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector e = FloatVector.fromArray(F, x, off + i, m).sub(max).lanewise(VectorOperators.EXP, m);
            e.intoArray(x, off + i, m);
            sum += e.reduceLanes(VectorOperators.ADD, m);
        }
        return sum;
    }

    private static void backwardHead(float[] a, float[] d, int q, int k, int v, int vRowStride, int vHeadStride, int o,
                                     int lse, int b, int h, int T, int H, int dqk, int dv, float scale) {
        int Tp = roundUp(T), r0 = b * T;
        float[] kt = scratch(0, dqk * Tp, false), vt = scratch(1, dv * Tp, false), p = scratch(2, QB * Tp, false);
        float[] ds = scratch(3, QB * Tp, false), dk = scratch(4, T * dqk, true), dvs = scratch(5, T * dv, true);
        transposeK(a, k, r0, h, T, H, dqk, Tp, kt);
        for (int s = 0; s < T; s++) {
            int vo = v + (r0 + s) * vRowStride + h * vHeadStride;
            for (int i = 0; i < dv; i++) vt[i * Tp + s] = a[vo + i];
        }
        for (int i = 0; i < dv; i++) java.util.Arrays.fill(vt, i * Tp + T, i * Tp + Tp, 0f);
        int qst = H * dqk, ost = H * dv;
        for (int t0 = 0; t0 < T; t0 += QB) {
            int nq = Math.min(QB, T - t0), n = t0 + nq;
            scores(a, q, r0, h, t0, nq, n, H, dqk, Tp, kt, scale, p);
            // dP_j[s] = dO_j . V[s]
            int do0 = o + ((r0 + t0) * H + h) * dv;
            int do1 = do0 + Math.min(1, nq - 1) * ost, do2 = do0 + Math.min(2, nq - 1) * ost, do3 = do0 + Math.min(3, nq - 1) * ost;
            rowsTimesT(d, do0, do1, do2, do3, n, dv, Tp, vt, 1f, ds);
            // P = exp(S - lse), dS = scale * P (dP - dO.O); zero beyond the causal limit and for padding queries
            for (int j = 0; j < QB; j++) {
                int so = j * Tp;
                if (j >= nq) {
                    java.util.Arrays.fill(p, so, so + n, 0f);
                    java.util.Arrays.fill(ds, so, so + n, 0f);
                    continue;
                }
                int t = t0 + j, len = t + 1, oo = o + ((r0 + t) * H + h) * dv;
                float dsum = 0;
                for (int i = 0; i < dv; i++) dsum += d[oo + i] * a[oo + i];
                probsAndDs(p, ds, so, len, a[lse + (r0 + t) * H + h], dsum, scale);
                java.util.Arrays.fill(p, so + len, so + n, 0f);
                java.util.Arrays.fill(ds, so + len, so + n, 0f);
            }
            // dQ_j += sum_s dS_j[s] K[s]
            weightedRows(a, k + (r0 * H + h) * dqk, H * dqk, n, dqk, Tp, ds, d, q + ((r0 + t0) * H + h) * dqk, qst, nq);
            // dK[s] += sum_j dS_j[s] Q_j ; dV[s] += sum_j P_j[s] dO_j
            int qa0 = q + ((r0 + t0) * H + h) * dqk;
            int qa1 = qa0 + Math.min(1, nq - 1) * qst, qa2 = qa0 + Math.min(2, nq - 1) * qst, qa3 = qa0 + Math.min(3, nq - 1) * qst;
            rank4Update(a, qa0, qa1, qa2, qa3, n, dqk, Tp, ds, dk);
            rank4Update(d, do0, do1, do2, do3, n, dv, Tp, p, dvs);
        }
        for (int s = 0; s < T; s++) {
            int ko = k + ((r0 + s) * H + h) * dqk, vo = v + (r0 + s) * vRowStride + h * vHeadStride;
            for (int i = 0; i < dqk; i++) d[ko + i] += dk[s * dqk + i];
            for (int i = 0; i < dv; i++) d[vo + i] += dvs[s * dv + i];
        }
    }
}
