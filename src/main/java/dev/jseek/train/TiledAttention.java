package dev.jseek.train;

import dev.jseek.kernels.Exp;
import dev.jseek.kernels.Vec;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The tiled (FlashAttention-style) kernel of {@link CausalAttention}: causal softmax attention per (sequence, head),
 * optionally restricted to documents (packed samples), with memory linear in T. Per (b, h), parallel on
 * {@link TrainPool}, queries are taken 4 at a time and keys in tiles of {@code KB} (the {@code jseek.attn.keyTile}
 * knob, default 128, rounded to whole vectors):
 * <ul>
 *   <li>forward: for each key tile, the 4 x KB scores, the running row max m and sum l (online softmax:
 *       acc and l are rescaled by exp(m_old - m_new) when the max grows), acc += P V; at the end o = acc / l and
 *       lse = m + ln l (only lse is kept for backward);</li>
 *   <li>backward: P of each tile recomputed as exp(S - lse); dP = dO V^T, dS = scale P (dP - dO.o); dQ += dS K,
 *       dK += dS^T Q, dV += P^T dO, dK and dV summed per head in scratch and added to the arena at the end.</li>
 * </ul>
 * Scores exist only as 4 x KB tiles; what grows with T is the head's copy of K and V (and dK, dV in backward), T x d
 * per thread. A query at position t sees keys s with docStart(t) <= s <= t: {@code docStart} (length B*T, the
 * position within its sequence where row b*T+t's document starts; null = 0, plain causal) keeps packed documents
 * from attending to each other, and key tiles wholly outside every query's window are skipped. Scores outside the
 * window are -inf before exp (0 after). Different (b, h) write disjoint slices; every loop nest is a small method so
 * C2 inlines the Vector API calls.
 */
final class TiledAttention {
    private TiledAttention() {}

    private static final VectorSpecies<Float> F = Vec.F;
    private static final int L = F.length();
    private static final int QB = 4;
    /** Keys per tile: {@code jseek.attn.keyTile} (default 128), rounded up to whole vectors. */
    static final int KB = roundUp(Math.max(1, Integer.getInteger("jseek.attn.keyTile", 128)));
    private static final int KT = 0, KC = 1, VC = 2, VT = 3, SC = 4, DS = 5, QR = 6, DR = 7, ACC = 8, DK = 9, DV = 10, DQ = 11;
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[12][0]);

    private static float[] scratch(float[][] s, int slot, int n, boolean zero) {
        if (s[slot].length < n) s[slot] = new float[Math.max(n, s[slot].length * 3 / 2)];
        else if (zero) Arrays.fill(s[slot], 0, n, 0f);
        return s[slot];
    }

    private static int roundUp(int n) { return (n + L - 1) / L * L; }

    /** Floats of one thread's backward scratch for a sequence of T (see {@link CausalAttention#scratchBytes}). */
    static long scratchFloats(int T, int dqk, int dv) {
        long Tp = roundUp(T), dqkP = roundUp(dqk), dvP = roundUp(dv);
        return dqk * Tp + T * dqkP + dv * Tp + 2L * QB * KB + QB * (2 * dqkP + dvP) + T * dqkP + T * dvP;
    }

    static void forward(float[] a, int q, int k, int v, int vRowStride, int vHeadStride, int o, int lse,
                        int B, int T, int H, int dqk, int dv, float scale, int[] docStart) {
        check(docStart, B, T);
        TrainPool.forRange(B * H, 1, (lo, hi, w) -> {
            for (int bh = lo; bh < hi; bh++)
                forwardHead(a, q, k, v, vRowStride, vHeadStride, o, lse, bh / H, bh % H, T, H, dqk, dv, scale, docStart);
        });
    }

    static void backward(float[] a, float[] d, int q, int k, int v, int vRowStride, int vHeadStride, int o, int lse,
                         int B, int T, int H, int dqk, int dv, float scale, int[] docStart) {
        check(docStart, B, T);
        TrainPool.forRange(B * H, 1, (lo, hi, w) -> {
            for (int bh = lo; bh < hi; bh++)
                backwardHead(a, d, q, k, v, vRowStride, vHeadStride, o, lse, bh / H, bh % H, T, H, dqk, dv, scale, docStart);
        });
    }

    /** docStart[b*T + t] must lie in [0, t] (a document starts at or before each of its tokens). */
    static void check(int[] docStart, int B, int T) {
        if (docStart == null) return;
        if (docStart.length < B * T) throw new IllegalArgumentException("docStart has " + docStart.length + " entries, need B*T = " + B * T);
        for (int r = 0; r < B * T; r++)
            if (docStart[r] < 0 || docStart[r] > r % T)
                throw new IllegalArgumentException("docStart[" + r + "] = " + docStart[r] + " outside [0, " + r % T + "]");
    }



    /**
     * out[j*KB + c] = alpha * sum_{i<k} x[xj + i] * mt[i*Tp + c0 + c] for the 4 rows xj and c < np (a multiple of L,
     * c0 + np <= Tp): the score tile of 4 queries against the keys c0.. of a transposed [k][Tp] matrix.
     */
    private static void tile(float[] x, int x0, int x1, int x2, int x3, int k, float[] mt, int Tp, int c0, int np,
                             float alpha, float[] out) {
        int c = 0;
        for (; c + L < np; c += 2 * L) tile2(x, x0, x1, x2, x3, k, mt, Tp, c0, c, alpha, out);
        for (; c < np; c += L) {
            FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
            for (int i = 0; i < k; i++) {
                FloatVector kv = FloatVector.fromArray(F, mt, i * Tp + c0 + c);
                s0 = kv.fma(FloatVector.broadcast(F, x[x0 + i]), s0);
                s1 = kv.fma(FloatVector.broadcast(F, x[x1 + i]), s1);
                s2 = kv.fma(FloatVector.broadcast(F, x[x2 + i]), s2);
                s3 = kv.fma(FloatVector.broadcast(F, x[x3 + i]), s3);
            }
            s0.mul(alpha).intoArray(out, c);
            s1.mul(alpha).intoArray(out, KB + c);
            s2.mul(alpha).intoArray(out, 2 * KB + c);
            s3.mul(alpha).intoArray(out, 3 * KB + c);
        }
    }

    /** {@link #tile} for the columns [c, c + 2L): a 4 x 2-vector register tile. */
    private static void tile2(float[] x, int x0, int x1, int x2, int x3, int k, float[] mt, int Tp, int c0, int c,
                              float alpha, float[] out) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (int i = 0; i < k; i++) {
            int m = i * Tp + c0 + c;
            FloatVector ka = FloatVector.fromArray(F, mt, m), kb = FloatVector.fromArray(F, mt, m + L);
            FloatVector q0 = FloatVector.broadcast(F, x[x0 + i]), q1 = FloatVector.broadcast(F, x[x1 + i]);
            FloatVector q2 = FloatVector.broadcast(F, x[x2 + i]), q3 = FloatVector.broadcast(F, x[x3 + i]);
            a0 = ka.fma(q0, a0); b0 = kb.fma(q0, b0);
            a1 = ka.fma(q1, a1); b1 = kb.fma(q1, b1);
            a2 = ka.fma(q2, a2); b2 = kb.fma(q2, b2);
            a3 = ka.fma(q3, a3); b3 = kb.fma(q3, b3);
        }
        a0.mul(alpha).intoArray(out, c); b0.mul(alpha).intoArray(out, c + L);
        a1.mul(alpha).intoArray(out, KB + c); b1.mul(alpha).intoArray(out, KB + c + L);
        a2.mul(alpha).intoArray(out, 2 * KB + c); b2.mul(alpha).intoArray(out, 2 * KB + c + L);
        a3.mul(alpha).intoArray(out, 3 * KB + c); b3.mul(alpha).intoArray(out, 3 * KB + c + L);
    }

    /** out[j*kp + c] += sum_{s<n} w[j*KB + s] * rows[(r0 + s)*kp + c] for the 4 rows j, c < kp (a multiple of L). */
    private static void accumulate(float[] rows, int r0, int n, int kp, float[] w, float[] out) {
        int c = 0;
        for (; c + L < kp; c += 2 * L) accumulate2(rows, r0, n, kp, c, w, out);
        for (; c < kp; c += L) {
            FloatVector g0 = FloatVector.fromArray(F, out, c), g1 = FloatVector.fromArray(F, out, kp + c);
            FloatVector g2 = FloatVector.fromArray(F, out, 2 * kp + c), g3 = FloatVector.fromArray(F, out, 3 * kp + c);
            for (int s = 0; s < n; s++) {
                FloatVector kv = FloatVector.fromArray(F, rows, (r0 + s) * kp + c);
                g0 = kv.fma(FloatVector.broadcast(F, w[s]), g0);
                g1 = kv.fma(FloatVector.broadcast(F, w[KB + s]), g1);
                g2 = kv.fma(FloatVector.broadcast(F, w[2 * KB + s]), g2);
                g3 = kv.fma(FloatVector.broadcast(F, w[3 * KB + s]), g3);
            }
            g0.intoArray(out, c);
            g1.intoArray(out, kp + c);
            g2.intoArray(out, 2 * kp + c);
            g3.intoArray(out, 3 * kp + c);
        }
    }

    /** {@link #accumulate} for the columns [c, c + 2L). */
    private static void accumulate2(float[] rows, int r0, int n, int kp, int c, float[] w, float[] out) {
        FloatVector a0 = FloatVector.fromArray(F, out, c), a1 = FloatVector.fromArray(F, out, kp + c);
        FloatVector a2 = FloatVector.fromArray(F, out, 2 * kp + c), a3 = FloatVector.fromArray(F, out, 3 * kp + c);
        FloatVector b0 = FloatVector.fromArray(F, out, c + L), b1 = FloatVector.fromArray(F, out, kp + c + L);
        FloatVector b2 = FloatVector.fromArray(F, out, 2 * kp + c + L), b3 = FloatVector.fromArray(F, out, 3 * kp + c + L);
        for (int s = 0; s < n; s++) {
            int ro = (r0 + s) * kp + c;
            FloatVector ra = FloatVector.fromArray(F, rows, ro), rb = FloatVector.fromArray(F, rows, ro + L);
            FloatVector w0 = FloatVector.broadcast(F, w[s]), w1 = FloatVector.broadcast(F, w[KB + s]);
            FloatVector w2 = FloatVector.broadcast(F, w[2 * KB + s]), w3 = FloatVector.broadcast(F, w[3 * KB + s]);
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

    /** acc[(r0 + s)*kp + c] += sum_j w[j*KB + s] * x[j*kp + c] for s < n, c < kp (the 4 rows x_j padded to kp). */
    private static void rank4(float[] x, int n, int kp, float[] w, float[] acc, int r0) {
        int c = 0;
        for (; c + L < kp; c += 2 * L) rank4x2(x, n, kp, c, w, acc, r0);
        for (; c < kp; c += L) {
            FloatVector v0 = FloatVector.fromArray(F, x, c), v1 = FloatVector.fromArray(F, x, kp + c);
            FloatVector v2 = FloatVector.fromArray(F, x, 2 * kp + c), v3 = FloatVector.fromArray(F, x, 3 * kp + c);
            for (int s = 0; s < n; s++) {
                int ao = (r0 + s) * kp + c;
                FloatVector r = FloatVector.fromArray(F, acc, ao);
                r = v0.fma(FloatVector.broadcast(F, w[s]), r);
                r = v1.fma(FloatVector.broadcast(F, w[KB + s]), r);
                r = v2.fma(FloatVector.broadcast(F, w[2 * KB + s]), r);
                r = v3.fma(FloatVector.broadcast(F, w[3 * KB + s]), r);
                r.intoArray(acc, ao);
            }
        }
    }

    /** {@link #rank4} for the columns [c, c + 2L). */
    private static void rank4x2(float[] x, int n, int kp, int c, float[] w, float[] acc, int r0) {
        FloatVector u0 = FloatVector.fromArray(F, x, c), u1 = FloatVector.fromArray(F, x, kp + c);
        FloatVector u2 = FloatVector.fromArray(F, x, 2 * kp + c), u3 = FloatVector.fromArray(F, x, 3 * kp + c);
        FloatVector v0 = FloatVector.fromArray(F, x, c + L), v1 = FloatVector.fromArray(F, x, kp + c + L);
        FloatVector v2 = FloatVector.fromArray(F, x, 2 * kp + c + L), v3 = FloatVector.fromArray(F, x, 3 * kp + c + L);
        for (int s = 0; s < n; s++) {
            int ao = (r0 + s) * kp + c;
            FloatVector w0 = FloatVector.broadcast(F, w[s]), w1 = FloatVector.broadcast(F, w[KB + s]);
            FloatVector w2 = FloatVector.broadcast(F, w[2 * KB + s]), w3 = FloatVector.broadcast(F, w[3 * KB + s]);
            FloatVector ra = FloatVector.fromArray(F, acc, ao), rb = FloatVector.fromArray(F, acc, ao + L);
            ra = u0.fma(w0, ra); rb = v0.fma(w0, rb);
            ra = u1.fma(w1, ra); rb = v1.fma(w1, rb);
            ra = u2.fma(w2, ra); rb = v2.fma(w2, rb);
            ra = u3.fma(w3, ra); rb = v3.fma(w3, rb);
            ra.intoArray(acc, ao);
            rb.intoArray(acc, ao + L);
        }
    }

    /** max of x[off..off+np) (np a multiple of L). */
    private static float rowMax(float[] x, int off, int np) {
        FloatVector mv = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < np; i += L) mv = mv.max(FloatVector.fromArray(F, x, off + i));
        return mv.reduceLanes(VectorOperators.MAX);
    }

    /** x[off+i] = exp(x[off+i] - sub) for i < np (a multiple of L); returns the sum in lane order. */
    private static float expRow(float[] x, int off, int np, float sub) {
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0; i < np; i += L) {
            FloatVector e = Exp.exp(FloatVector.fromArray(F, x, off + i).sub(sub));
            e.intoArray(x, off + i);
            acc = acc.add(e);
        }
        return Vec.sum(acc);
    }


    /** x[off..off+n) *= s. */
    private static void scaleRow(float[] x, int off, int n, float s) {
        for (int i = 0; i < n; i += L) FloatVector.fromArray(F, x, off + i).mul(s).intoArray(x, off + i);
    }

    /** Sets the scores of row j of a tile at keys s0.. outside [lo, t] (and the padding past np's keys) to -inf. */
    private static void mask(float[] sc, int j, int s0, int np, int lo, int t) {
        int so = j * KB;
        int a = Math.min(np, Math.max(0, lo - s0)), b = Math.max(a, Math.min(np, t - s0 + 1));
        Arrays.fill(sc, so, so + a, Float.NEGATIVE_INFINITY);
        Arrays.fill(sc, so + b, so + np, Float.NEGATIVE_INFINITY);
    }

    /** The lowest key any query of the block t0..t0+nq-1 sees, rounded down to a whole vector. */
    private static int firstKey(int[] docStart, int r0, int t0, int nq) {
        if (docStart == null) return 0;
        int lo = t0;
        for (int j = 0; j < nq; j++) lo = Math.min(lo, docStart[r0 + t0 + j]);
        return lo / L * L;
    }

    private static void forwardHead(float[] a, int q, int k, int v, int vRowStride, int vHeadStride, int o, int lse,
                                    int b, int h, int T, int H, int dqk, int dv, float scale, int[] docStart) {
        int Tp = roundUp(T), r0 = b * T, dvP = roundUp(dv), qst = H * dqk;
        float[][] s = SCRATCH.get();
        float[] kt = scratch(s, KT, dqk * Tp, false), vc = scratch(s, VC, T * dvP, false);
        float[] sc = scratch(s, SC, QB * KB, false), acc = scratch(s, ACC, QB * dvP, false);
        transpose(a, k + (r0 * H + h) * dqk, qst, T, dqk, Tp, kt);
        padRows(a, v + r0 * vRowStride + h * vHeadStride, vRowStride, T, dv, dvP, vc);
        float[] m = new float[QB], l = new float[QB];
        for (int t0 = 0; t0 < T; t0 += QB) {
            int nq = Math.min(QB, T - t0), hi = t0 + nq;
            int q0 = q + ((r0 + t0) * H + h) * dqk;
            Arrays.fill(m, Float.NEGATIVE_INFINITY);
            Arrays.fill(l, 0f);
            Arrays.fill(acc, 0, QB * dvP, 0f);
            for (int s0 = firstKey(docStart, r0, t0, nq); s0 < hi; s0 += KB) {
                int n = Math.min(KB, hi - s0), np = roundUp(n);
                tile(a, q0, q0 + Math.min(1, nq - 1) * qst, q0 + Math.min(2, nq - 1) * qst, q0 + Math.min(3, nq - 1) * qst,
                        dqk, kt, Tp, s0, np, scale, sc);
                for (int j = 0; j < QB; j++) {
                    int so = j * KB;
                    if (j >= nq) { Arrays.fill(sc, so, so + np, 0f); continue; }
                    int t = t0 + j;
                    mask(sc, j, s0, np, docStart == null ? 0 : docStart[r0 + t], t);
                    float tm = rowMax(sc, so, np);
                    if (tm == Float.NEGATIVE_INFINITY) { Arrays.fill(sc, so, so + np, 0f); continue; }
                    float mNew = Math.max(m[j], tm);
                    if (mNew > m[j] && m[j] != Float.NEGATIVE_INFINITY) {
                        float f = (float) Math.exp(m[j] - mNew);
                        scaleRow(acc, j * dvP, dvP, f);
                        l[j] *= f;
                    }
                    m[j] = mNew;
                    l[j] += expRow(sc, so, np, mNew);
                }
                accumulate(vc, s0, n, dvP, sc, acc);
            }
            for (int j = 0; j < nq; j++) {
                int oo = o + ((r0 + t0 + j) * H + h) * dv;
                float iv = 1f / l[j];
                for (int i = 0; i < dv; i++) a[oo + i] = acc[j * dvP + i] * iv;
                a[lse + (r0 + t0 + j) * H + h] = m[j] + (float) Math.log(l[j]);
            }
        }
    }

    private static void backwardHead(float[] a, float[] d, int q, int k, int v, int vRowStride, int vHeadStride, int o,
                                     int lse, int b, int h, int T, int H, int dqk, int dv, float scale, int[] docStart) {
        int Tp = roundUp(T), r0 = b * T, dqkP = roundUp(dqk), dvP = roundUp(dv), qst = H * dqk, ost = H * dv;
        float[][] sr = SCRATCH.get();
        float[] kt = scratch(sr, KT, dqk * Tp, false), kc = scratch(sr, KC, T * dqkP, false);
        float[] vt = scratch(sr, VT, dv * Tp, false), p = scratch(sr, SC, QB * KB, false), ds = scratch(sr, DS, QB * KB, false);
        float[] qr = scratch(sr, QR, QB * dqkP, true), dr = scratch(sr, DR, QB * dvP, true), dq = scratch(sr, DQ, QB * dqkP, false);
        float[] dk = scratch(sr, DK, T * dqkP, true), dvs = scratch(sr, DV, T * dvP, true);
        int kOff = k + (r0 * H + h) * dqk, vOff = v + r0 * vRowStride + h * vHeadStride;
        transpose(a, kOff, qst, T, dqk, Tp, kt);
        padRows(a, kOff, qst, T, dqk, dqkP, kc);
        transpose(a, vOff, vRowStride, T, dv, Tp, vt);
        float[] lr = new float[QB], dsum = new float[QB];
        for (int t0 = 0; t0 < T; t0 += QB) {
            int nq = Math.min(QB, T - t0), hi = t0 + nq;
            int q0 = q + ((r0 + t0) * H + h) * dqk, do0 = o + ((r0 + t0) * H + h) * dv;
            for (int j = 0; j < QB; j++) {
                if (j >= nq) {
                    Arrays.fill(qr, j * dqkP, (j + 1) * dqkP, 0f);
                    Arrays.fill(dr, j * dvP, (j + 1) * dvP, 0f);
                    continue;
                }
                int row = (r0 + t0 + j) * H + h, oo = o + row * dv;
                float sum = 0;
                for (int i = 0; i < dv; i++) sum += d[oo + i] * a[oo + i];
                dsum[j] = sum;
                lr[j] = a[lse + row];
                System.arraycopy(a, q0 + j * qst, qr, j * dqkP, dqk);
                System.arraycopy(d, oo, dr, j * dvP, dv);
            }
            Arrays.fill(dq, 0, QB * dqkP, 0f);
            for (int s0 = firstKey(docStart, r0, t0, nq); s0 < hi; s0 += KB) {
                int n = Math.min(KB, hi - s0), np = roundUp(n);
                tile(a, q0, q0 + Math.min(1, nq - 1) * qst, q0 + Math.min(2, nq - 1) * qst, q0 + Math.min(3, nq - 1) * qst,
                        dqk, kt, Tp, s0, np, scale, p);
                // dP_j[s] = dO_j . V[s]
                tile(d, do0, do0 + Math.min(1, nq - 1) * ost, do0 + Math.min(2, nq - 1) * ost, do0 + Math.min(3, nq - 1) * ost,
                        dv, vt, Tp, s0, np, 1f, ds);
                for (int j = 0; j < QB; j++) {
                    int so = j * KB;
                    if (j >= nq) {
                        Arrays.fill(p, so, so + np, 0f);
                        Arrays.fill(ds, so, so + np, 0f);
                        continue;
                    }
                    int t = t0 + j;
                    mask(p, j, s0, np, docStart == null ? 0 : docStart[r0 + t], t);
                    probsAndDs(p, ds, so, np, lr[j], dsum[j], scale);
                }
                accumulate(kc, s0, n, dqkP, ds, dq);          // dQ_j += sum_s dS_j[s] K[s]
                rank4(qr, n, dqkP, ds, dk, s0);               // dK[s] += sum_j dS_j[s] Q_j
                rank4(dr, n, dvP, p, dvs, s0);                // dV[s] += sum_j P_j[s] dO_j
            }
            for (int j = 0; j < nq; j++) {
                int qo = q0 + j * qst;
                for (int i = 0; i < dqk; i++) d[qo + i] += dq[j * dqkP + i];
            }
        }
        for (int s = 0; s < T; s++) {
            int ko = kOff + s * qst, vo = vOff + s * vRowStride;
            for (int i = 0; i < dqk; i++) d[ko + i] += dk[s * dqkP + i];
            for (int i = 0; i < dv; i++) d[vo + i] += dvs[s * dvP + i];
        }
    }

    /** dst[i*Tp + s] = x[off + s*rst + i] for s < T, i < n; zero for T <= s < Tp. */
    private static void transpose(float[] x, int off, int rst, int T, int n, int Tp, float[] dst) {
        for (int s = 0; s < T; s++) {
            int xo = off + s * rst;
            for (int i = 0; i < n; i++) dst[i * Tp + s] = x[xo + i];
        }
        for (int i = 0; i < n; i++) Arrays.fill(dst, i * Tp + T, i * Tp + Tp, 0f);
    }

    /** dst[s*np + i] = x[off + s*rst + i] for s < rows, i < n; zero for n <= i < np. */
    private static void padRows(float[] x, int off, int rst, int rows, int n, int np, float[] dst) {
        for (int s = 0; s < rows; s++) {
            System.arraycopy(x, off + s * rst, dst, s * np, n);
            Arrays.fill(dst, s * np + n, s * np + np, 0f);
        }
    }

    /** p = exp(p - l), ds = scale * p * (ds - dsum) over [so, so + np) (np a multiple of L). */
    private static void probsAndDs(float[] p, float[] ds, int so, int np, float l, float dsum, float scale) {
        for (int i = 0; i < np; i += L) {
            FloatVector pv = Exp.exp(FloatVector.fromArray(F, p, so + i).sub(l));
            pv.intoArray(p, so + i);
            pv.mul(FloatVector.fromArray(F, ds, so + i).sub(dsum)).mul(scale).intoArray(ds, so + i);
        }
    }
}
