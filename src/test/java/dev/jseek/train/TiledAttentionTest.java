package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The tiled attention kernel: values and gradients against the scalar twin (plain causal and with document masks,
 * over several key tiles), against each document run alone, and against central finite differences of an
 * independent double-precision attention.
 */
class TiledAttentionTest {
    /** Arena layout of one case: [pad | q | k | kv (v inside) | o | lse | pad]. */
    record Case(int B, int T, int H, int nope, int dqk, int dv, int q, int k, int kv, int o, int lse, int size) {
        static Case of(int B, int T, int H, int nope, int dqk, int dv) {
            int N = B * T, q = 3, k = q + N * H * dqk, kv = k + N * H * dqk, o = kv + N * H * (nope + dv), lse = o + N * H * dv;
            return new Case(B, T, H, nope, dqk, dv, q, k, kv, o, lse, lse + N * H + 5);
        }
        int vRow() { return H * (nope + dv); }
        int vHead() { return nope + dv; }
        int v() { return kv + nope; }
    }

    private static void fwd(boolean scalar, float[] a, Case c, float scale, int[] ds) {
        if (scalar) CausalAttention.forwardScalar(a, c.q, c.k, c.v(), c.vRow(), c.vHead(), c.o, c.lse, c.B, c.T, c.H, c.dqk, c.dv, scale, ds);
        else TiledAttention.forward(a, c.q, c.k, c.v(), c.vRow(), c.vHead(), c.o, c.lse, c.B, c.T, c.H, c.dqk, c.dv, scale, ds);
    }

    private static void bwd(boolean scalar, float[] a, float[] d, Case c, float scale, int[] ds) {
        if (scalar) CausalAttention.backwardScalar(a, d, c.q, c.k, c.v(), c.vRow(), c.vHead(), c.o, c.lse, c.B, c.T, c.H, c.dqk, c.dv, scale, ds);
        else TiledAttention.backward(a, d, c.q, c.k, c.v(), c.vRow(), c.vHead(), c.o, c.lse, c.B, c.T, c.H, c.dqk, c.dv, scale, ds);
    }

    /** Random document boundaries: docStart[b*T + t] = start of t's document (documents of 1..maxLen tokens). */
    static int[] docStarts(int B, int T, int maxLen, SplittableRandom r) {
        int[] ds = new int[B * T];
        for (int b = 0; b < B; b++) {
            int start = 0, end = 1 + r.nextInt(maxLen);
            for (int t = 0; t < T; t++) {
                if (t == end) { start = t; end = t + 1 + r.nextInt(maxLen); }
                ds[b * T + t] = start;
            }
        }
        return ds;
    }

    @Test void matchesScalarTwinCausalAndMasked() {
        int[][] shapes = { // B, T, H, nope, dqk, dv
                {1, 1, 1, 3, 5, 4}, {2, 5, 3, 8, 13, 7}, {3, 37, 2, 16, 24, 16}, {1, 70, 4, 32, 48, 32}, {2, 19, 1, 8, 96, 64},
                {1, TiledAttention.KB + 3, 2, 4, 12, 8}, {2, 2 * TiledAttention.KB + 37, 1, 4, 20, 9}};
        SplittableRandom r = new SplittableRandom(11);
        for (int[] sh : shapes)
            for (int masked = 0; masked < 2; masked++) {
                Case c = Case.of(sh[0], sh[1], sh[2], sh[3], sh[4], sh[5]);
                int[] ds = masked == 1 ? docStarts(c.B, c.T, Math.max(1, c.T / 3), r) : null;
                float[] a1 = new float[c.size], d1 = new float[c.size];
                for (int i = 0; i < c.size; i++) { a1[i] = (float) r.nextGaussian(); d1[i] = (float) r.nextGaussian(); }
                float[] a2 = a1.clone(), d2 = d1.clone();
                String what = Arrays.toString(sh) + (masked == 1 ? " masked" : " causal");
                fwd(true, a1, c, 0.3f, ds);
                fwd(false, a2, c, 0.3f, ds);
                close(a1, a2, 2e-6, "forward " + what);
                bwd(true, a1, d1, c, 0.3f, ds);
                bwd(false, a2, d2, c, 0.3f, ds);
                close(d1, d2, 2e-5, "backward " + what);
            }
    }

    /** A packed sequence with document masks gives each document exactly what it gets as a sequence of its own. */
    @Test void packedDocumentsEqualEachAlone() {
        int T = TiledAttention.KB + 50, H = 2, nope = 4, dqk = 12, dv = 8;
        SplittableRandom r = new SplittableRandom(5);
        int[] ds = docStarts(1, T, 60, r);
        Case c = Case.of(1, T, H, nope, dqk, dv);
        float[] a = new float[c.size], d = new float[c.size];
        for (int i = 0; i < c.size; i++) a[i] = (float) r.nextGaussian();
        for (int i = 0; i < T * H * dv; i++) d[c.o + i] = (float) r.nextGaussian();   // dO; every other gradient starts at 0
        float[] dIn = d.clone();
        fwd(false, a, c, 0.4f, ds);
        bwd(false, a, d, c, 0.4f, ds);
        for (int s0 = 0; s0 < T; ) {
            int s1 = s0 + 1;
            while (s1 < T && ds[s1] == s0) s1++;
            int n = s1 - s0;
            Case e = Case.of(1, n, H, nope, dqk, dv);
            float[] ea = new float[e.size], ed = new float[e.size];
            // copy the document's rows of q, k, kv and dO
            System.arraycopy(a, c.q + s0 * H * dqk, ea, e.q, n * H * dqk);
            System.arraycopy(a, c.k + s0 * H * dqk, ea, e.k, n * H * dqk);
            System.arraycopy(a, c.kv + s0 * c.vRow(), ea, e.kv, n * c.vRow());
            System.arraycopy(dIn, c.o + s0 * H * dv, ed, e.o, n * H * dv);
            fwd(true, ea, e, 0.4f, null);
            bwd(true, ea, ed, e, 0.4f, null);
            String what = "document " + s0 + ".." + s1;
            range(ea, e.o, a, c.o + s0 * H * dv, n * H * dv, 2e-6, what + " o");
            range(ea, e.lse, a, c.lse + s0 * H, n * H, 2e-6, what + " lse");
            range(ed, e.q, d, c.q + s0 * H * dqk, n * H * dqk, 2e-5, what + " dq");
            range(ed, e.k, d, c.k + s0 * H * dqk, n * H * dqk, 2e-5, what + " dk");
            // dv lives inside kv
            for (int t = 0; t < n; t++)
                for (int h = 0; h < H; h++) {
                    int pe = e.v() + t * e.vRow() + h * e.vHead(), pc = c.v() + (s0 + t) * c.vRow() + h * c.vHead();
                    for (int i = 0; i < dv; i++) {
                        float expected = ed[pe + i];
                        assertTrue(Math.abs(expected - d[pc + i]) <= 2e-5 * (1 + Math.abs(expected)), what + " dv");
                    }
                }
            s0 = s1;
        }
    }

    /** Double-precision attention, written out directly: loss = sum over (b, t, h, i) of w * o. */
    private static double refLoss(double[] q, double[] k, double[] v, double[] w, int B, int T, int H, int dqk, int dv, double scale, int[] ds) {
        double loss = 0;
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++)
                for (int t = 0; t < T; t++) {
                    int lo = ds == null ? 0 : ds[b * T + t];
                    double[] s = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY, z = 0;
                    for (int j = lo; j <= t; j++) {
                        double dot = 0;
                        for (int i = 0; i < dqk; i++) dot += q[((b * T + t) * H + h) * dqk + i] * k[((b * T + j) * H + h) * dqk + i];
                        s[j] = scale * dot;
                        max = Math.max(max, s[j]);
                    }
                    for (int j = lo; j <= t; j++) z += Math.exp(s[j] - max);
                    for (int j = lo; j <= t; j++) {
                        double p = Math.exp(s[j] - max) / z;
                        for (int i = 0; i < dv; i++) loss += w[((b * T + t) * H + h) * dv + i] * p * v[((b * T + j) * H + h) * dv + i];
                    }
                }
        return loss;
    }

    @Test void gradientsMatchFiniteDifferencesInDouble() {
        int B = 2, T = 9, H = 2, dqk = 6, dv = 5, N = B * T;
        SplittableRandom r = new SplittableRandom(3);
        for (int[] ds : new int[][] {null, docStarts(B, T, 4, r)}) {
            // contiguous layout: v is its own block (nope = 0 inside a kv of width dv)
            Case c = Case.of(B, T, H, 0, dqk, dv);
            float[] a = new float[c.size], d = new float[c.size];
            for (int i = 0; i < c.size; i++) a[i] = (float) r.nextGaussian();
            double[] w = new double[N * H * dv];
            for (int i = 0; i < w.length; i++) { w[i] = r.nextGaussian(); d[c.o + i] = (float) w[i]; }
            float scale = 0.45f;
            fwd(false, a, c, scale, ds);
            bwd(false, a, d, c, scale, ds);
            double[] q = slice(a, c.q, N * H * dqk), k = slice(a, c.k, N * H * dqk), v = slice(a, c.kv, N * H * dv);
            double loss = refLoss(q, k, v, w, B, T, H, dqk, dv, scale, ds), dot = 0;
            for (int i = 0; i < w.length; i++) dot += w[i] * a[c.o + i];
            assertTrue(Math.abs(loss - dot) < 1e-5 * (1 + Math.abs(loss)), "forward " + loss + " vs " + dot);
            double[][] xs = {q, k, v};
            int[] offs = {c.q, c.k, c.kv};
            double eps = 1e-5, worst = 0;
            for (int x = 0; x < 3; x++)
                for (int i = 0; i < xs[x].length; i++) {
                    double keep = xs[x][i];
                    xs[x][i] = keep + eps;
                    double up = refLoss(q, k, v, w, B, T, H, dqk, dv, scale, ds);
                    xs[x][i] = keep - eps;
                    double dn = refLoss(q, k, v, w, B, T, H, dqk, dv, scale, ds);
                    xs[x][i] = keep;
                    double fd = (up - dn) / (2 * eps), g = d[offs[x] + i];
                    double err = Math.abs(fd - g) / (1e-3 + Math.abs(fd));
                    worst = Math.max(worst, err);
                    assertTrue(err < 2e-3, (ds == null ? "causal" : "masked") + " tensor " + x + " element " + i + ": fd " + fd + " kernel " + g);
                }
        }
    }

    @Test void rejectsBadDocStarts() {
        Case c = Case.of(1, 4, 1, 0, 4, 4);
        float[] a = new float[c.size];
        assertThrows(IllegalArgumentException.class, () -> fwd(false, a, c, 1f, new int[] {0, 0, 3, 0}));
        assertThrows(IllegalArgumentException.class, () -> fwd(false, a, c, 1f, new int[] {0, 0}));
    }

    private static double[] slice(float[] a, int off, int n) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) x[i] = a[off + i];
        return x;
    }

    private static void range(float[] x, int xo, float[] y, int yo, int n, double tol, String what) {
        for (int i = 0; i < n; i++) {
            double e = Math.abs(x[xo + i] - y[yo + i]) / (1 + Math.abs(x[xo + i]));
            assertTrue(e <= tol, what + ": element " + i + " alone " + x[xo + i] + " packed " + y[yo + i]);
        }
    }

    private static void close(float[] x, float[] y, double tol, String what) {
        for (int i = 0; i < x.length; i++) {
            double e = Math.abs(x[i] - y[i]) / (1 + Math.abs(x[i]));
            assertTrue(e <= tol, what + ": element " + i + " scalar " + x[i] + " tiled " + y[i]);
        }
    }
}
