package dev.jseek.kernels;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.kernels.scalar.ScalarOps;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Vectorized {@link Ops} against the scalar twins {@link ScalarOps} on ragged lengths and offsets. */
class OpsTest {
    static final int[] LENGTHS = {0, 1, 3, 7, 15, 16, 17, 31, 32, 33, 64, 100, 257, 7168};

    static float[] randn(Random r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * scale);
        return a;
    }

    static void close(float want, float got, double tol, String what) {
        assertTrue(Float.compare(want, got) == 0 || Math.abs(want - got) <= tol, what + ": want " + want + " got " + got);
    }

    @Test
    void topKOrdersLargestFirstAndBreaksTiesByIndex() {
        float[] x = {0.5f, 2f, -1f, 2f, Float.NaN, 3f};
        int[] idx = new int[3];
        Ops.topK(x, 0, x.length, 3, idx);
        assertArrayEquals(new int[] {5, 1, 3}, idx);
    }

    @Test
    void rmsNormMatchesDefinition() {
        float[] x = {1, 2, 3, 4}, w = {1, 0.5f, 2, 1}, out = new float[4];
        float r = Ops.rmsNorm(out, 0, x, 0, w, 4, 1e-6f);
        double rms = Math.sqrt((1 + 4 + 9 + 16) / 4.0 + 1e-6);
        assertEquals(1 / rms, r, 1e-6);
        assertEquals(3 * 2 / rms, out[2], 1e-6);
    }

    @Test
    void rmsNormMatchesScalar() {
        Random r = new Random(1);
        for (int n : LENGTHS) {
            if (n == 0) continue;
            float[] x = randn(r, n + 3, 3), w = randn(r, n, 1), a = new float[n + 5], b = new float[n + 5];
            float ra = ScalarOps.rmsNorm(a, 5, x, 3, w, n, 1e-6f);
            float rb = Ops.rmsNorm(b, 5, x, 3, w, n, 1e-6f);
            close(ra, rb, 1e-5 * ra, "rinv n=" + n);
            for (int i = 0; i < n + 5; i++) close(a[i], b[i], 1e-5 * (Math.abs(a[i]) + 1e-6), "rmsNorm n=" + n + " i=" + i);
        }
    }

    @Test
    void softmaxMatchesScalar() {
        Random r = new Random(2);
        for (int n : LENGTHS) {
            float[] x = randn(r, n + 2, 5);
            if (n > 3) x[4] = 80f;                        // a large logit: max subtraction matters
            float[] a = x.clone(), b = x.clone();
            ScalarOps.softmax(a, 2, n);
            Ops.softmax(b, 2, n);
            double sum = 0;
            for (int i = 0; i < n + 2; i++) close(a[i], b[i], 2e-6 * Math.abs(a[i]) + 1e-12, "softmax n=" + n + " i=" + i);
            for (int i = 2; i < n + 2; i++) sum += b[i];
            if (n > 0) assertEquals(1.0, sum, 1e-5);
        }
    }

    @Test
    void swigluMatchesScalar() {
        Random r = new Random(3);
        for (int n : LENGTHS) {
            float[] g = randn(r, n + 1, 4), u = randn(r, n + 2, 1), a = new float[n], b = new float[n];
            g[0] = -200f;                                 // exp overflow side stays finite
            ScalarOps.swiglu(a, 0, g, 1, u, 2, n);
            Ops.swiglu(b, 0, g, 1, u, 2, n);
            for (int i = 0; i < n; i++) close(a[i], b[i], 2e-6 * Math.abs(a[i]) + 1e-30, "swiglu n=" + n + " i=" + i);
        }
    }

    @Test
    void ropeMatchesScalar() {
        Random r = new Random(4);
        for (int half : new int[] {1, 3, 8, 9, 32, 33, 64}) {
            float[] x = randn(r, 2 * half + 3, 2);
            float[] cos = new float[half + 4], sin = new float[half + 4];
            for (int i = 0; i < cos.length; i++) { double t = r.nextDouble() * 6; cos[i] = (float) Math.cos(t); sin[i] = (float) Math.sin(t); }
            for (int cOff : new int[] {0, 4}) {
                float[] a = x.clone(), b = x.clone();
                ScalarOps.ropeInterleaved(a, 3, cos, sin, cOff, half);
                Ops.ropeInterleaved(b, 3, cos, sin, cOff, half);
                for (int i = 0; i < a.length; i++) close(a[i], b[i], 1e-6 * (1 + Math.abs(a[i])), "rope half=" + half + " i=" + i);
            }
        }
    }

    @Test
    void topKMatchesScalarIncludingTiesAndNaN() {
        Random r = new Random(5);
        for (int n : new int[] {1, 5, 16, 17, 100, 256, 1000, 129280})
            for (int k : new int[] {1, 2, 8, 50}) {
                float[] x = new float[n + 1];
                for (int i = 0; i < x.length; i++) x[i] = r.nextInt(4) == 0 ? r.nextInt(5) : (float) r.nextGaussian();
                if (n > 10) { x[3] = Float.NaN; x[7] = Float.NaN; }
                int[] a = new int[k], b = new int[k];
                ScalarOps.topK(x, 1, n, k, a);
                Ops.topK(x, 1, n, k, b);
                assertArrayEquals(a, b, "topK n=" + n + " k=" + k);
            }
        // leading NaNs fill the list first, then get displaced by numbers
        float[] x = {Float.NaN, Float.NaN, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
        int[] a = new int[3], b = new int[3];
        ScalarOps.topK(x, 0, x.length, 3, a);
        Ops.topK(x, 0, x.length, 3, b);
        assertArrayEquals(a, b);
        // k > n leaves -1
        int[] c = new int[4];
        Ops.topK(new float[] {1, 2}, 0, 2, 4, c);
        assertArrayEquals(new int[] {1, 0, -1, -1}, c);
    }

    @Test
    void blas1MatchesScalar() {
        Random r = new Random(6);
        for (int n : LENGTHS) {
            float[] x = randn(r, n + 1, 1), y = randn(r, n + 2, 1);
            double absDot = 0;
            for (int i = 0; i < n; i++) absDot += Math.abs(x[1 + i] * y[2 + i]);
            close(ScalarOps.dot(x, 1, y, 2, n), Ops.dot(x, 1, y, 2, n), 1e-6 * (n + 4) * absDot + 1e-30, "dot n=" + n);
            close(ScalarOps.sumSquares(x, 1, n), (float) Ops.sumSquares(x, 1, n), 1e-6 * (n + 4) * ScalarOps.sumSquares(x, 1, n) + 1e-30, "sumSquares n=" + n);
            close(ScalarOps.max(x, 1, n), Ops.max(x, 1, n), 0, "max n=" + n);
            float[] a = y.clone(), b = y.clone();
            ScalarOps.axpy(0.37f, x, 1, a, 2, n);
            Ops.axpy(0.37f, x, 1, b, 2, n);
            for (int i = 0; i < a.length; i++) close(a[i], b[i], 1e-6 * (1 + Math.abs(a[i])), "axpy n=" + n);
            float[] c = y.clone();
            Ops.addScaled(0.37f, x, 1, c, 2, n);               // unfused: the scalar twin's bits exactly
            assertArrayEquals(a, c, "addScaled n=" + n);
            float[] o1 = new float[n + 3], o2 = new float[n + 3];
            ScalarOps.add(o1, 3, x, 1, y, 2, n);
            Ops.add(o2, 3, x, 1, y, 2, n);
            assertArrayEquals(o1, o2, "add n=" + n);
            ScalarOps.mul(o1, 3, x, 1, y, 2, n);
            Ops.mul(o2, 3, x, 1, y, 2, n);
            assertArrayEquals(o1, o2, "mul n=" + n);
            ScalarOps.scale(o1, 3, n, -1.5f);
            Ops.scale(o2, 3, n, -1.5f);
            assertArrayEquals(o1, o2, "scale n=" + n);
        }
    }

    @Test
    void rangesAreChecked() {
        float[] x = new float[10];
        assertThrows(IndexOutOfBoundsException.class, () -> Ops.softmax(x, 5, 6));
        assertThrows(IndexOutOfBoundsException.class, () -> Ops.add(x, 0, x, 0, new float[3], 0, 4));
        assertThrows(IndexOutOfBoundsException.class, () -> Ops.ropeInterleaved(x, 0, new float[2], new float[2], 0, 5));
    }
}
