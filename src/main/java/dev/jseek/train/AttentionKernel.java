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
        for (int c = 0; c < n; c += L) {
            FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
            for (int i = 0; i < dqk; i++) {
                FloatVector kv = FloatVector.fromArray(F, kt, i * Tp + c);
                s0 = fma(kv, a[q0 + i], s0);
                s1 = fma(kv, a[q1 + i], s1);
                s2 = fma(kv, a[q2 + i], s2);
                s3 = fma(kv, a[q3 + i], s3);
            }
            s0.mul(scale).intoArray(sc, c);
            s1.mul(scale).intoArray(sc, Tp + c);
            s2.mul(scale).intoArray(sc, 2 * Tp + c);
            s3.mul(scale).intoArray(sc, 3 * Tp + c);
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
            // O_j = inv_j * sum_s e_j[s] V[s]
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
                int oo = o + ((r0 + t0) * H + h) * dv + c, st = H * dv;
                o0.mul(inv[0]).intoArray(a, oo, m);
                if (nq > 1) o1.mul(inv[1]).intoArray(a, oo + st, m);
                if (nq > 2) o2.mul(inv[2]).intoArray(a, oo + 2 * st, m);
                if (nq > 3) o3.mul(inv[3]).intoArray(a, oo + 3 * st, m);
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
            for (int c = 0; c < n; c += L) {
                FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
                for (int i = 0; i < dv; i++) {
                    FloatVector vv = FloatVector.fromArray(F, vt, i * Tp + c);
                    s0 = fma(vv, d[do0 + i], s0);
                    s1 = fma(vv, d[do1 + i], s1);
                    s2 = fma(vv, d[do2 + i], s2);
                    s3 = fma(vv, d[do3 + i], s3);
                }
                s0.intoArray(ds, c);
                s1.intoArray(ds, Tp + c);
                s2.intoArray(ds, 2 * Tp + c);
                s3.intoArray(ds, 3 * Tp + c);
            }
            // P = exp(S - lse), dS = scale * P (dP - dO.O); zero beyond the causal limit and for padding queries
            for (int j = 0; j < QB; j++) {
                int so = j * Tp;
                if (j >= nq) {
                    java.util.Arrays.fill(p, so, so + n, 0f);
                    java.util.Arrays.fill(ds, so, so + n, 0f);
                    continue;
                }
                int t = t0 + j, len = t + 1, oo = o + ((r0 + t) * H + h) * dv;
                float l = a[lse + (r0 + t) * H + h];
                float dsum = 0;
                for (int i = 0; i < dv; i++) dsum += d[oo + i] * a[oo + i];
                int i = 0;
                for (; i < len; i += L) {
                    VectorMask<Float> m = F.indexInRange(i, len);
                    FloatVector pv = FloatVector.fromArray(F, p, so + i, m).sub(l).lanewise(VectorOperators.EXP, m);
                    pv.intoArray(p, so + i, m);
                    FloatVector dp = FloatVector.fromArray(F, ds, so + i, m);
                    pv.mul(dp.sub(dsum)).mul(scale).intoArray(ds, so + i, m);
                }
                java.util.Arrays.fill(p, so + len, so + n, 0f);
                java.util.Arrays.fill(ds, so + len, so + n, 0f);
            }
            // dQ_j += sum_s dS_j[s] K[s]
            for (int c = 0; c < dqk; c += L) {
                VectorMask<Float> m = F.indexInRange(c, dqk);
                FloatVector g0 = FloatVector.zero(F), g1 = g0, g2 = g0, g3 = g0;
                for (int s = 0; s < n; s++) {
                    FloatVector kv = FloatVector.fromArray(F, a, k + ((r0 + s) * H + h) * dqk + c, m);
                    g0 = fma(kv, ds[s], g0);
                    g1 = fma(kv, ds[Tp + s], g1);
                    g2 = fma(kv, ds[2 * Tp + s], g2);
                    g3 = fma(kv, ds[3 * Tp + s], g3);
                }
                int qo = q + ((r0 + t0) * H + h) * dqk + c;
                FloatVector.fromArray(F, d, qo, m).add(g0).intoArray(d, qo, m);
                if (nq > 1) FloatVector.fromArray(F, d, qo + qst, m).add(g1).intoArray(d, qo + qst, m);
                if (nq > 2) FloatVector.fromArray(F, d, qo + 2 * qst, m).add(g2).intoArray(d, qo + 2 * qst, m);
                if (nq > 3) FloatVector.fromArray(F, d, qo + 3 * qst, m).add(g3).intoArray(d, qo + 3 * qst, m);
            }
            // dK[s] += sum_j dS_j[s] Q_j ; dV[s] += sum_j P_j[s] dO_j
            int qa0 = q + ((r0 + t0) * H + h) * dqk;
            int qa1 = qa0 + Math.min(1, nq - 1) * qst, qa2 = qa0 + Math.min(2, nq - 1) * qst, qa3 = qa0 + Math.min(3, nq - 1) * qst;
            for (int c = 0; c < dqk; c += L) {
                VectorMask<Float> m = F.indexInRange(c, dqk);
                FloatVector x0 = FloatVector.fromArray(F, a, qa0 + c, m), x1 = FloatVector.fromArray(F, a, qa1 + c, m);
                FloatVector x2 = FloatVector.fromArray(F, a, qa2 + c, m), x3 = FloatVector.fromArray(F, a, qa3 + c, m);
                for (int s = 0; s < n; s++) {
                    int ko = s * dqk + c;
                    FloatVector acc = FloatVector.fromArray(F, dk, ko, m);
                    acc = fma(x0, ds[s], acc);
                    acc = fma(x1, ds[Tp + s], acc);
                    acc = fma(x2, ds[2 * Tp + s], acc);
                    acc = fma(x3, ds[3 * Tp + s], acc);
                    acc.intoArray(dk, ko, m);
                }
            }
            for (int c = 0; c < dv; c += L) {
                VectorMask<Float> m = F.indexInRange(c, dv);
                FloatVector x0 = FloatVector.fromArray(F, d, do0 + c, m), x1 = FloatVector.fromArray(F, d, do1 + c, m);
                FloatVector x2 = FloatVector.fromArray(F, d, do2 + c, m), x3 = FloatVector.fromArray(F, d, do3 + c, m);
                for (int s = 0; s < n; s++) {
                    int vo = s * dv + c;
                    FloatVector acc = FloatVector.fromArray(F, dvs, vo, m);
                    acc = fma(x0, p[s], acc);
                    acc = fma(x1, p[Tp + s], acc);
                    acc = fma(x2, p[2 * Tp + s], acc);
                    acc = fma(x3, p[3 * Tp + s], acc);
                    acc.intoArray(dvs, vo, m);
                }
            }
        }
        for (int s = 0; s < T; s++) {
            int ko = k + ((r0 + s) * H + h) * dqk, vo = v + (r0 + s) * vRowStride + h * vHeadStride;
            for (int i = 0; i < dqk; i++) d[ko + i] += dk[s * dqk + i];
            for (int i = 0; i < dv; i++) d[vo + i] += dvs[s * dv + i];
        }
    }
}
