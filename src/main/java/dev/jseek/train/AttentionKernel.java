package dev.jseek.train;

import dev.jseek.kernels.Exp;
import dev.jseek.kernels.Ops;
import dev.jseek.kernels.Vec;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API kernels of {@link CausalAttention} (docs/architecture.md §3.2, naive mode), parallel over (sequence, head) on
 * {@link TrainPool}. Per (b, h) the head's keys and values are copied into per-thread scratch: transposed
 * ([dim][T], so a row of scores for 4 queries at a time is an FMA stream over key positions, no horizontal
 * reductions) and row-major with the head dimension zero-padded to whole vectors (so P V, dQ, dK and dV are unmasked
 * rank-1 updates; masked loads fall back to slow Java code on some platforms). The causal limit is applied by
 * setting scores past the diagonal to -inf before exp. Forward keeps the log-sum-exp; backward recomputes P from it
 * (flash style) and accumulates the head's dK, dV in scratch, added to the arena at the end. Different (b, h) write
 * disjoint slices, so no synchronization is needed. Every loop nest is its own small method: C2 then inlines the
 * Vector API calls (a big method exceeds its inlining budget and the vector code runs boxed, 5-10x slower).
 */
final class AttentionKernel {
    private AttentionKernel() {}

    private static final VectorSpecies<Float> F = Vec.F;
    private static final int L = F.length();
    private static final int QB = 4;                       // queries per block
    private static final int KT = 0, KC = 1, VC = 2, VT = 3, SC = 4, DS = 5, QR = 6, DR = 7, OUT = 8, DK = 9, DV = 10;
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[11][0]);

    private static float[] scratch(float[][] s, int slot, int n, boolean zero) {
        if (s[slot].length < n) s[slot] = new float[Math.max(n, s[slot].length * 3 / 2)];
        else if (zero) java.util.Arrays.fill(s[slot], 0, n, 0f);
        return s[slot];
    }

    private static int roundUp(int n) { return (n + L - 1) / L * L; }

    /** acc + x * s (s broadcast). */
    private static FloatVector fma(FloatVector x, float s, FloatVector acc) { return x.fma(FloatVector.broadcast(F, s), acc); }

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

    /** dst[i*Tp + s] = x[off + s*rst + i] for s < T, i < n; zero for T <= s < Tp. */
    static void transpose(float[] x, int off, int rst, int T, int n, int Tp, float[] dst) {
        for (int s = 0; s < T; s++) {
            int xo = off + s * rst;
            for (int i = 0; i < n; i++) dst[i * Tp + s] = x[xo + i];
        }
        for (int i = 0; i < n; i++) java.util.Arrays.fill(dst, i * Tp + T, i * Tp + Tp, 0f);
    }

    /** dst[s*np + i] = x[off + s*rst + i] for s < rows, i < n; zero for n <= i < np. */
    static void padRows(float[] x, int off, int rst, int rows, int n, int np, float[] dst) {
        for (int s = 0; s < rows; s++) {
            System.arraycopy(x, off + s * rst, dst, s * np, n);
            java.util.Arrays.fill(dst, s * np + n, s * np + np, 0f);
        }
    }

    /**
     * out[j*Tp + s] = alpha * sum_i x[xj + i] * mt[i*Tp + s] for the 4 rows xj and s < roundUp(n): a [4 x k] by
     * [k x n] product with the right factor stored transposed ([k][Tp]), vectorized over s.
     */
    private static void rowsTimesT(float[] x, int x0, int x1, int x2, int x3, int n, int k, int Tp, float[] mt,
                                   float alpha, float[] out) {
        int c = 0;
        for (; c + L < n; c += 2 * L) rowsTimesT2(x, x0, x1, x2, x3, c, k, Tp, mt, alpha, out);
        for (; c < n; c += L) {
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

    /** {@link #rowsTimesT} for the two chunks [c, c + 2L): a 4 x 2-vector register tile (8 accumulators). */
    private static void rowsTimesT2(float[] x, int x0, int x1, int x2, int x3, int c, int k, int Tp, float[] mt,
                                    float alpha, float[] out) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (int i = 0; i < k; i++) {
            FloatVector ka = FloatVector.fromArray(F, mt, i * Tp + c), kb = FloatVector.fromArray(F, mt, i * Tp + c + L);
            FloatVector q0 = FloatVector.broadcast(F, x[x0 + i]), q1 = FloatVector.broadcast(F, x[x1 + i]);
            FloatVector q2 = FloatVector.broadcast(F, x[x2 + i]), q3 = FloatVector.broadcast(F, x[x3 + i]);
            a0 = ka.fma(q0, a0); b0 = kb.fma(q0, b0);
            a1 = ka.fma(q1, a1); b1 = kb.fma(q1, b1);
            a2 = ka.fma(q2, a2); b2 = kb.fma(q2, b2);
            a3 = ka.fma(q3, a3); b3 = kb.fma(q3, b3);
        }
        a0.mul(alpha).intoArray(out, c); b0.mul(alpha).intoArray(out, c + L);
        a1.mul(alpha).intoArray(out, Tp + c); b1.mul(alpha).intoArray(out, Tp + c + L);
        a2.mul(alpha).intoArray(out, 2 * Tp + c); b2.mul(alpha).intoArray(out, 2 * Tp + c + L);
        a3.mul(alpha).intoArray(out, 3 * Tp + c); b3.mul(alpha).intoArray(out, 3 * Tp + c + L);
    }

    /** out[j*kp + c] = sum_{s<n} w[j*Tp + s] * rows[s*kp + c] for the 4 rows j, c < kp (kp a multiple of L). */
    private static void weightedRows(float[] rows, int n, int kp, int Tp, float[] w, float[] out) {
        int c = 0;
        for (; c + L < kp; c += 2 * L) weightedRows2(rows, n, kp, c, Tp, w, out);
        for (; c < kp; c += L) {
            FloatVector g0 = FloatVector.zero(F), g1 = g0, g2 = g0, g3 = g0;
            for (int s = 0; s < n; s++) {
                FloatVector kv = FloatVector.fromArray(F, rows, s * kp + c);
                g0 = fma(kv, w[s], g0);
                g1 = fma(kv, w[Tp + s], g1);
                g2 = fma(kv, w[2 * Tp + s], g2);
                g3 = fma(kv, w[3 * Tp + s], g3);
            }
            g0.intoArray(out, c);
            g1.intoArray(out, kp + c);
            g2.intoArray(out, 2 * kp + c);
            g3.intoArray(out, 3 * kp + c);
        }
    }

    /** {@link #weightedRows} for the two chunks [c, c + 2L). */
    private static void weightedRows2(float[] rows, int n, int kp, int c, int Tp, float[] w, float[] out) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (int s = 0; s < n; s++) {
            FloatVector ra = FloatVector.fromArray(F, rows, s * kp + c), rb = FloatVector.fromArray(F, rows, s * kp + c + L);
            FloatVector w0 = FloatVector.broadcast(F, w[s]), w1 = FloatVector.broadcast(F, w[Tp + s]);
            FloatVector w2 = FloatVector.broadcast(F, w[2 * Tp + s]), w3 = FloatVector.broadcast(F, w[3 * Tp + s]);
            a0 = ra.fma(w0, a0); b0 = rb.fma(w0, b0);
            a1 = ra.fma(w1, a1); b1 = rb.fma(w1, b1);
            a2 = ra.fma(w2, a2); b2 = rb.fma(w2, b2);
            a3 = ra.fma(w3, a3); b3 = rb.fma(w3, b3);
        }
        a0.intoArray(out, c); b0.intoArray(out, c + L);
        a1.intoArray(out, kp + c); b1.intoArray(out, kp + c + L);
        a2.intoArray(out, 2 * kp + c); b2.intoArray(out, 2 * kp + c + L);
        a3.intoArray(out, 3 * kp + c); b3.intoArray(out, 3 * kp + c + L);
    }

    /** acc[s*kp + c] += sum_j w[j*Tp + s] * x[j*kp + c] for s < n, c < kp (the 4 rows x_j padded to kp). */
    private static void rank4Update(float[] x, int n, int kp, int Tp, float[] w, float[] acc) {
        int c = 0;
        for (; c + L < kp; c += 2 * L) rank4Update2(x, n, kp, c, Tp, w, acc);
        for (; c < kp; c += L) {
            FloatVector v0 = FloatVector.fromArray(F, x, c), v1 = FloatVector.fromArray(F, x, kp + c);
            FloatVector v2 = FloatVector.fromArray(F, x, 2 * kp + c), v3 = FloatVector.fromArray(F, x, 3 * kp + c);
            for (int s = 0; s < n; s++) {
                int ao = s * kp + c;
                FloatVector r = FloatVector.fromArray(F, acc, ao);
                r = fma(v0, w[s], r);
                r = fma(v1, w[Tp + s], r);
                r = fma(v2, w[2 * Tp + s], r);
                r = fma(v3, w[3 * Tp + s], r);
                r.intoArray(acc, ao);
            }
        }
    }

    /** {@link #rank4Update} for the two chunks [c, c + 2L). */
    private static void rank4Update2(float[] x, int n, int kp, int c, int Tp, float[] w, float[] acc) {
        FloatVector u0 = FloatVector.fromArray(F, x, c), u1 = FloatVector.fromArray(F, x, kp + c);
        FloatVector u2 = FloatVector.fromArray(F, x, 2 * kp + c), u3 = FloatVector.fromArray(F, x, 3 * kp + c);
        FloatVector v0 = FloatVector.fromArray(F, x, c + L), v1 = FloatVector.fromArray(F, x, kp + c + L);
        FloatVector v2 = FloatVector.fromArray(F, x, 2 * kp + c + L), v3 = FloatVector.fromArray(F, x, 3 * kp + c + L);
        for (int s = 0; s < n; s++) {
            int ao = s * kp + c;
            FloatVector w0 = FloatVector.broadcast(F, w[s]), w1 = FloatVector.broadcast(F, w[Tp + s]);
            FloatVector w2 = FloatVector.broadcast(F, w[2 * Tp + s]), w3 = FloatVector.broadcast(F, w[3 * Tp + s]);
            FloatVector ra = FloatVector.fromArray(F, acc, ao), rb = FloatVector.fromArray(F, acc, ao + L);
            ra = u0.fma(w0, ra); rb = v0.fma(w0, rb);
            ra = u1.fma(w1, ra); rb = v1.fma(w1, rb);
            ra = u2.fma(w2, ra); rb = v2.fma(w2, rb);
            ra = u3.fma(w3, ra); rb = v3.fma(w3, rb);
            ra.intoArray(acc, ao);
            rb.intoArray(acc, ao + L);
        }
    }

    /** x[off+i] = exp(x[off+i] - sub) for i < np (a multiple of L); returns the sum. */
    private static float expRow(float[] x, int off, int np, float sub) {
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0; i < np; i += L) {
            FloatVector e = Exp.exp(FloatVector.fromArray(F, x, off + i).sub(sub));
            e.intoArray(x, off + i);
            acc = acc.add(e);
        }
        return Vec.sum(acc);
    }

    /** p = exp(p - l), ds = scale * p * (ds - dsum) over [so, so + np) (np a multiple of L). */
    static void probsAndDs(float[] p, float[] ds, int so, int np, float l, float dsum, float scale) {
        for (int i = 0; i < np; i += L) {
            FloatVector pv = Exp.exp(FloatVector.fromArray(F, p, so + i).sub(l));
            pv.intoArray(p, so + i);
            pv.mul(FloatVector.fromArray(F, ds, so + i).sub(dsum)).mul(scale).intoArray(ds, so + i);
        }
    }

    private static void forwardHead(float[] a, int q, int k, int v, int vRowStride, int vHeadStride, int o, int lse,
                                    int b, int h, int T, int H, int dqk, int dv, float scale) {
        int Tp = roundUp(T), r0 = b * T, dvP = roundUp(dv), qst = H * dqk;
        float[][] s = SCRATCH.get();
        float[] kt = scratch(s, KT, dqk * Tp, false), vc = scratch(s, VC, T * dvP, false);
        float[] sc = scratch(s, SC, QB * Tp, false), out = scratch(s, OUT, QB * dvP, false);
        transpose(a, k + (r0 * H + h) * dqk, qst, T, dqk, Tp, kt);
        padRows(a, v + r0 * vRowStride + h * vHeadStride, vRowStride, T, dv, dvP, vc);
        float[] inv = new float[QB];
        for (int t0 = 0; t0 < T; t0 += QB) {
            int nq = Math.min(QB, T - t0), n = t0 + nq, np = roundUp(n);
            int q0 = q + ((r0 + t0) * H + h) * dqk;
            rowsTimesT(a, q0, q0 + Math.min(1, nq - 1) * qst, q0 + Math.min(2, nq - 1) * qst, q0 + Math.min(3, nq - 1) * qst,
                    n, dqk, Tp, kt, scale, sc);
            for (int j = 0; j < QB; j++) {
                int so = j * Tp;
                if (j >= nq) { java.util.Arrays.fill(sc, so, so + np, 0f); continue; }
                int t = t0 + j, len = t + 1;
                float max = Ops.max(sc, so, len);
                java.util.Arrays.fill(sc, so + len, so + np, Float.NEGATIVE_INFINITY);
                float sum = expRow(sc, so, np, max);
                inv[j] = 1f / sum;
                a[lse + (r0 + t) * H + h] = max + (float) Math.log(sum);
            }
            weightedRows(vc, n, dvP, Tp, sc, out);
            for (int j = 0; j < nq; j++) {
                int oo = o + ((r0 + t0 + j) * H + h) * dv;
                float iv = inv[j];
                for (int i = 0; i < dv; i++) a[oo + i] = out[j * dvP + i] * iv;
            }
        }
    }

    private static void backwardHead(float[] a, float[] d, int q, int k, int v, int vRowStride, int vHeadStride, int o,
                                     int lse, int b, int h, int T, int H, int dqk, int dv, float scale) {
        int Tp = roundUp(T), r0 = b * T, dqkP = roundUp(dqk), dvP = roundUp(dv), qst = H * dqk, ost = H * dv;
        float[][] sr = SCRATCH.get();
        float[] kt = scratch(sr, KT, dqk * Tp, false), kc = scratch(sr, KC, T * dqkP, false);
        float[] vt = scratch(sr, VT, dv * Tp, false), p = scratch(sr, SC, QB * Tp, false), ds = scratch(sr, DS, QB * Tp, false);
        float[] qr = scratch(sr, QR, QB * dqkP, true), dr = scratch(sr, DR, QB * dvP, true);
        float[] out = scratch(sr, OUT, QB * dqkP, false);
        float[] dk = scratch(sr, DK, T * dqkP, true), dvs = scratch(sr, DV, T * dvP, true);
        int kOff = k + (r0 * H + h) * dqk, vOff = v + r0 * vRowStride + h * vHeadStride;
        transpose(a, kOff, qst, T, dqk, Tp, kt);
        padRows(a, kOff, qst, T, dqk, dqkP, kc);
        transpose(a, vOff, vRowStride, T, dv, Tp, vt);
        for (int t0 = 0; t0 < T; t0 += QB) {
            int nq = Math.min(QB, T - t0), n = t0 + nq, np = roundUp(n);
            int q0 = q + ((r0 + t0) * H + h) * dqk, do0 = o + ((r0 + t0) * H + h) * dv;
            rowsTimesT(a, q0, q0 + Math.min(1, nq - 1) * qst, q0 + Math.min(2, nq - 1) * qst, q0 + Math.min(3, nq - 1) * qst,
                    n, dqk, Tp, kt, scale, p);
            // dP_j[s] = dO_j . V[s]
            rowsTimesT(d, do0, do0 + Math.min(1, nq - 1) * ost, do0 + Math.min(2, nq - 1) * ost, do0 + Math.min(3, nq - 1) * ost,
                    n, dv, Tp, vt, 1f, ds);
            // P = exp(S - lse), dS = scale * P (dP - dO.O); zero past the causal limit and for padding queries
            for (int j = 0; j < QB; j++) {
                int so = j * Tp;
                if (j >= nq) {
                    java.util.Arrays.fill(p, so, so + np, 0f);
                    java.util.Arrays.fill(ds, so, so + np, 0f);
                    java.util.Arrays.fill(qr, j * dqkP, (j + 1) * dqkP, 0f);
                    java.util.Arrays.fill(dr, j * dvP, (j + 1) * dvP, 0f);
                    continue;
                }
                int t = t0 + j, len = t + 1, oo = o + ((r0 + t) * H + h) * dv;
                float dsum = 0;
                for (int i = 0; i < dv; i++) dsum += d[oo + i] * a[oo + i];
                java.util.Arrays.fill(p, so + len, so + np, Float.NEGATIVE_INFINITY);
                probsAndDs(p, ds, so, np, a[lse + (r0 + t) * H + h], dsum, scale);
                System.arraycopy(a, q0 + j * qst, qr, j * dqkP, dqk);
                System.arraycopy(d, oo, dr, j * dvP, dv);
            }
            // dQ_j += sum_s dS_j[s] K[s]
            weightedRows(kc, n, dqkP, Tp, ds, out);
            for (int j = 0; j < nq; j++) {
                int qo = q0 + j * qst;
                for (int i = 0; i < dqk; i++) d[qo + i] += out[j * dqkP + i];
            }
            // dK[s] += sum_j dS_j[s] Q_j ; dV[s] += sum_j P_j[s] dO_j
            rank4Update(qr, n, dqkP, Tp, ds, dk);
            rank4Update(dr, n, dvP, Tp, p, dvs);
        }
        for (int s = 0; s < T; s++) {
            int ko = kOff + s * qst, vo = vOff + s * vRowStride;
            for (int i = 0; i < dqk; i++) d[ko + i] += dk[s * dqkP + i];
            for (int i = 0; i < dv; i++) d[vo + i] += dvs[s * dvP + i];
        }
    }
}
