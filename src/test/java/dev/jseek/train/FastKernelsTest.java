package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The vectorized, parallel row kernels of the training step against their scalar twins. */
class FastKernelsTest {
    private final SplittableRandom r = new SplittableRandom(21);

    private float[] rnd(int n, double sd) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * sd);
        return x;
    }

    private static void close(float[] x, float[] y, double tol, String what) {
        assertEquals(x.length, y.length);
        for (int i = 0; i < x.length; i++)
            assertTrue(Math.abs(x[i] - y[i]) <= tol * (1 + Math.abs(x[i])), what + ": element " + i + " twin " + x[i] + " fast " + y[i]);
    }

    @Test void crossEntropy() {
        for (int V : new int[] {1, 7, 16, 33, 1000}) {
            int N = 9, off = 5;
            float[] x = rnd(off + N * V + 3, 3), y = x.clone();
            int[] tg = new int[N + 2];
            for (int i = 0; i < tg.length; i++) tg[i] = i % 4 == 3 ? -1 : r.nextInt(V);
            double l1 = CrossEntropy.forwardScalar(x, off, N, V, tg, 2), l2 = CrossEntropy.forward(y, off, N, V, tg, 2);
            assertEquals(l1, l2, 1e-6 * Math.max(1, Math.abs(l1)), "loss V=" + V);
            close(x, y, 1e-6, "probabilities V=" + V);
            float[] d1 = rnd(x.length, 1), d2 = d1.clone();
            CrossEntropy.backwardScalar(d1, 1, x, off, N, V, tg, 2, 0.7f);
            CrossEntropy.backward(d2, 1, y, off, N, V, tg, 2, 0.7f);
            close(d1, d2, 1e-6, "gradient V=" + V);
        }
        float[] x = rnd(8, 1);
        assertThrowsBadTarget(x);
    }

    private static void assertThrowsBadTarget(float[] x) {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> CrossEntropy.forward(x, 0, 2, 4, new int[] {1, 4}, 0));
        assertTrue(e.getMessage().contains("target id 4 at position 1"), e.getMessage());
    }

    @Test void rmsNorm() {
        for (int n : new int[] {1, 5, 16, 37, 256}) {
            int rows = 11, xs = n + 3, ys = 2 * n + 1;
            float[] x = rnd(rows * xs + 2, 2), w = rnd(n + 4, 1), dy = rnd(rows * ys + 2, 1);
            float[] y1 = new float[rows * ys + 2], y2 = y1.clone(), r1 = new float[rows + 1], r2 = r1.clone();
            RmsNorm.forwardScalar(y1, 1, ys, x, 2, xs, w, 3, r1, 1, rows, n, 1e-6f);
            RmsNorm.forward(y2, 1, ys, x, 2, xs, w, 3, r2, 1, rows, n, 1e-6f);
            close(y1, y2, 1e-6, "forward n=" + n);
            close(r1, r2, 1e-6, "rstd n=" + n);
            float[] dx1 = rnd(rows * xs + 2, 1), dx2 = dx1.clone();
            RmsNorm.backwardInputScalar(dx1, 2, xs, dy, 1, ys, x, 2, xs, w, 3, r1, 1, rows, n);
            RmsNorm.backwardInput(dx2, 2, xs, dy, 1, ys, x, 2, xs, w, 3, r1, 1, rows, n);
            close(dx1, dx2, 1e-5, "dx n=" + n);
            float[] dw1 = rnd(n + 4, 1), dw2 = dw1.clone();
            RmsNorm.backwardWeightScalar(dw1, 3, dy, 1, ys, x, 2, xs, r1, 1, rows, n);
            RmsNorm.backwardWeight(dw2, 3, dy, 1, ys, x, 2, xs, r1, 1, rows, n);
            close(dw1, dw2, 1e-5, "dw n=" + n);
        }
    }

    /** One vector shape (-Djseek.vectorBits) for inference and training kernels alike. */
    @Test void trainingUsesTheKernelsVectorShape() {
        assertSame(dev.jseek.kernels.Vec.F, VecOps.F);
        String bits = System.getProperty("jseek.vectorBits");            // set by the vector-256 rerun of this test
        if (bits != null) assertEquals(Integer.parseInt(bits.trim()), VecOps.F.vectorBitSize(), "-Djseek.vectorBits reaches train/");
    }

    @Test void swigluAndSigmoid() {
        int n = 1000, g = 3, u = g + n, h = u + n;
        float[] a = rnd(h + n + 2, 4), d = rnd(a.length, 1);
        float[] a2 = a.clone(), d2 = d.clone();
        dev.jseek.kernels.Silu.swiglu(a2, h, a2, g, a2, u, n);
        for (int i = 0; i < n; i++) {
            float z = a[g + i];
            a[h + i] = z * SwiGluFfn.sigmoid(z) * a[u + i];
        }
        close(a, a2, 1e-6, "swiglu");
        dev.jseek.kernels.Silu.swigluBackward(a2, g, a2, u, d2, h, d2, g, d2, u, n);
        for (int i = 0; i < n; i++) {
            float z = a[g + i], sg = SwiGluFfn.sigmoid(z), dh = d[h + i];
            d[u + i] += dh * z * sg;
            d[g + i] += dh * a[u + i] * sg * (1f + z * (1f - sg));
        }
        close(d, d2, 1e-5, "swiglu backward");
        float[] s1 = new float[n], s2 = new float[n];
        dev.jseek.kernels.Silu.sigmoid(s2, 0, a, g, n);
        for (int i = 0; i < n; i++) s1[i] = SwiGluFfn.sigmoid(a[g + i]);
        close(s1, s2, 1e-6, "sigmoid");
    }
}
