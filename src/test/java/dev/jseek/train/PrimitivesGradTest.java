package dev.jseek.train;

import dev.jseek.model.ModelConfig;
import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.train.ref.Ref;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Forward and FD gradient checks of Linear, Embedding, RMSNorm, RoPE, cross-entropy and the balance losses. */
class PrimitivesGradTest {
    private final SplittableRandom rnd = new SplittableRandom(42);

    private float[] gauss(int n, double std) {
        float[] a = new float[n];
        Fd.fillGaussian(a, 0, n, std, rnd);
        return a;
    }

    @Test
    void linear() {
        int m = 5, in = 7, out = 6;
        float[] x = gauss(m * in, 1), w = gauss(out * in, 0.4), r = gauss(m * out, 1);
        float[] y = new float[m * out], dx = new float[m * in], dw = new float[out * in];
        Linear.forward(y, 0, x, 0, w, 0, m, in, out);
        Linear.backwardInput(dx, 0, r, 0, w, 0, m, in, out);
        Linear.backwardWeight(dw, 0, r, 0, x, 0, m, in, out);
        double[] xd = Fd.toDouble(x), wd = Fd.toDouble(w);
        Harness.assertForward("linear", y, 0, Ref.linear(Fd.rows(xd, 0, m, in), wd, 0, out, in), 1e-6);
        java.util.function.DoubleSupplier L = () -> Fd.dot(Ref.linear(Fd.rows(xd, 0, m, in), wd, 0, out, in), r, 0);
        Fd.check("linear dX", dx, 0, xd, 0, xd.length, L, 1000, 1);
        Fd.check("linear dW", dw, 0, wd, 0, wd.length, L, 1000, 1);
    }

    @Test
    void embedding() {
        int V = 6, dim = 4, n = 7;
        int[] tok = {3, 1, 3, 0, 5, 3, 1};
        float[] w = gauss(V * dim, 1), r = gauss(n * dim, 1), y = new float[n * dim], dw = new float[V * dim];
        Embedding.forward(y, 0, w, 0, tok, 0, n, dim, V);
        Embedding.backwardWeight(dw, 0, r, 0, tok, 0, n, dim);
        double[] wd = Fd.toDouble(w);
        java.util.function.DoubleSupplier L = () -> {
            double s = 0;
            for (int i = 0; i < n; i++) for (int j = 0; j < dim; j++) s += wd[tok[i] * dim + j] * r[i * dim + j];
            return s;
        };
        for (int i = 0; i < n; i++) for (int j = 0; j < dim; j++) assertEquals(w[tok[i] * dim + j], y[i * dim + j]);
        Fd.check("embedding dW", dw, 0, wd, 0, wd.length, L, 1000, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Embedding.forward(y, 0, w, 0, new int[] {0, 6}, 0, 2, dim, V));
        assertTrue(e.getMessage().contains("token id 6"), e.getMessage());
    }

    @Test
    void rmsNormStrided() {
        int rows = 4, n = 9, xs = 11, ys = 10, dxs = 12;
        float[] x = gauss(rows * xs, 1.5), w = new float[n], r = gauss(rows * ys, 1);
        for (int i = 0; i < n; i++) w[i] = 1 + 0.3f * (float) rnd.nextGaussian();
        float[] y = new float[rows * ys], rstd = new float[rows], dx = new float[rows * dxs], dw = new float[n];
        RmsNorm.forward(y, 0, ys, x, 0, xs, w, 0, rstd, 0, rows, n, 1e-6f);
        RmsNorm.backwardInput(dx, 0, dxs, r, 0, ys, x, 0, xs, w, 0, rstd, 0, rows, n);
        RmsNorm.backwardWeight(dw, 0, r, 0, ys, x, 0, xs, rstd, 0, rows, n);
        double[] xd = Fd.toDouble(x), wd = Fd.toDouble(w);
        java.util.function.DoubleSupplier L = () -> {
            double s = 0;
            for (int row = 0; row < rows; row++) {
                double[] yr = Ref.rmsnorm(java.util.Arrays.copyOfRange(xd, row * xs, row * xs + n), wd, 0, 1e-6);
                for (int i = 0; i < n; i++) s += yr[i] * r[row * ys + i];
            }
            return s;
        };
        for (int row = 0; row < rows; row++) {
            double[] yr = Ref.rmsnorm(java.util.Arrays.copyOfRange(xd, row * xs, row * xs + n), wd, 0, 1e-6);
            for (int i = 0; i < n; i++) assertEquals(yr[i], y[row * ys + i], 1e-6 * (1 + Math.abs(yr[i])));
        }
        float[] dxDense = new float[rows * xs];
        for (int row = 0; row < rows; row++) System.arraycopy(dx, row * dxs, dxDense, row * xs, n);
        // padding columns of x do not influence the loss, and dxDense is 0 there: FD checks them too
        Fd.check("rmsnorm dX", dxDense, 0, xd, 0, xd.length, L, 1000, 1);
        Fd.check("rmsnorm dW", dw, 0, wd, 0, n, L, 1000, 1);
    }

    @Test
    void ropeForwardAndTransposeBackward() {
        ModelConfig c = Harness.tinyMoe();
        int T = 6, heads = 3, dim = c.qkRopeHeadDim(), stride = heads * dim + 2;
        Rotary rope = new Rotary(c, T);
        float[] x = gauss(T * stride, 1), y = x.clone(), r = gauss(T * stride, 1);
        rope.apply(y, 1, T, stride, heads, dim, T, false);
        float[] dx = r.clone();
        rope.apply(dx, 1, T, stride, heads, dim, T, true);
        for (int i = 0; i < T * stride; i++) if ((i % stride) == 0 || (i % stride) > heads * dim) dx[i] = 0f; // untouched cols
        double[] f = Ref.ropeFreqs(c), xd = Fd.toDouble(x);
        double af = Ref.scales(c)[0];
        java.util.function.DoubleSupplier L = () -> {
            double[] v = xd.clone();
            for (int t = 0; t < T; t++) for (int h = 0; h < heads; h++) Ref.rope(v, 1 + t * stride + h * dim, t, f, af);
            double s = 0;
            for (int t = 0; t < T; t++) for (int j = 1; j <= heads * dim; j++) s += v[t * stride + j] * r[t * stride + j];
            return s;
        };
        double[] v = xd.clone();
        for (int t = 0; t < T; t++) for (int h = 0; h < heads; h++) Ref.rope(v, 1 + t * stride + h * dim, t, f, af);
        assertTrue(Fd.relToMax(y, 0, v, 0, v.length) < 1e-6, "rope forward");
        Fd.check("rope dX", dx, 0, xd, 0, xd.length, L, 1000, 1);
    }

    @Test
    void crossEntropyFused() {
        int N = 5, V = 7;
        float[] z = gauss(N * V, 2), dz = new float[N * V];
        int[] tg = {3, -1, 0, 6, 3};
        double[] zd = Fd.toDouble(z);
        float[] probs = z.clone();
        double loss = CrossEntropy.forward(probs, 0, N, V, tg, 0);
        CrossEntropy.backward(dz, 0, probs, 0, N, V, tg, 0, 0.7f);
        java.util.function.DoubleSupplier L = () -> 0.7 * Ref.crossEntropy(Fd.rows(zd, 0, N, V), tg);
        assertEquals(L.getAsDouble() / 0.7, loss, 1e-6);
        Fd.check("ce dlogits", dz, 0, zd, 0, zd.length, L, 1000, 1);
        int[] none = {-1, -1, -1, -1, -1};
        assertEquals(0.0, CrossEntropy.forward(z.clone(), 0, N, V, none, 0));
    }

    @Test
    void balanceLossesSequenceAndBatch() {
        int B = 3, T = 4, N = B * T, E = 6, K = 2;
        float[] s = new float[N * E];
        for (int i = 0; i < s.length; i++) s[i] = (float) (0.05 + 0.9 * rnd.nextDouble());
        int[] idx = new int[N * K];
        for (int t = 0; t < N; t++) {
            idx[t * K] = rnd.nextInt(E);
            idx[t * K + 1] = (idx[t * K] + 1 + rnd.nextInt(E - 1)) % E;
        }
        for (boolean seqWise : new boolean[] {true, false}) {
            int seqs = seqWise ? B : 1, len = seqWise ? T : N;
            float alpha = 0.3f;
            float[] f = new float[N * E], ds = new float[N * E];
            double loss = BalanceLoss.forward(s, 0, idx, seqs, len, E, K, alpha, f, 0);
            BalanceLoss.backward(s, 0, f, 0, seqs, len, E, alpha, 1.5f, ds, 0);
            double[] sd = Fd.toDouble(s);
            java.util.function.DoubleSupplier L = () -> {
                double tot = 0;
                for (int b = 0; b < seqs; b++) {
                    double[] fi = new double[E], pi = new double[E];
                    for (int t = b * len; t < (b + 1) * len; t++) {
                        for (int k = 0; k < K; k++) fi[idx[t * K + k]] += (double) E / (K * len);
                        double z = 0;
                        for (int i = 0; i < E; i++) z += sd[t * E + i];
                        for (int i = 0; i < E; i++) pi[i] += sd[t * E + i] / z / len;
                    }
                    for (int i = 0; i < E; i++) tot += fi[i] * pi[i];
                }
                return 1.5 * alpha * tot / seqs;
            };
            assertEquals(L.getAsDouble() / 1.5, loss, 1e-6);
            Fd.check("balance ds seqWise=" + seqWise, ds, 0, sd, 0, sd.length, L, 1000, 1);
        }
        // perfectly uniform routing and scores give the minimum alpha * 1
        float[] u = new float[4 * 4];
        java.util.Arrays.fill(u, 0.5f);
        int[] rr = {0, 1, 2, 3, 0, 1, 2, 3};
        assertEquals(0.01, BalanceLoss.forward(u, 0, rr, 1, 4, 4, 2, 0.01f, new float[16], 0), 1e-9);
    }
}
