package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;

/**
 * Finite-difference gradient oracle: central differences in double of a double-precision twin, compared with the
 * float analytic gradient by max relative error |a - b| / max(|a|, |b|, floor), floor = FLOOR * max|analytic| of the
 * tensor (so exact zeros and heavy cancellation do not divide by ~0).
 */
final class Fd {
    static final double H = 1e-5, FLOOR = 1e-3, TOL = 1e-3;

    private Fd() {}

    static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }

    static double[][] rows(double[] flat, int off, int n, int w) {
        double[][] r = new double[n][w];
        for (int i = 0; i < n; i++) System.arraycopy(flat, off + i * w, r[i], 0, w);
        return r;
    }

    static double dot(double[][] y, float[] r, int rOff) {
        double s = 0;
        int w = y[0].length;
        for (int i = 0; i < y.length; i++) for (int j = 0; j < w; j++) s += y[i][j] * r[rOff + i * w + j];
        return s;
    }

    static void fillGaussian(float[] a, int off, int n, double std, SplittableRandom rnd) {
        for (int i = 0; i < n; i++) {
            double u1 = rnd.nextDouble(), u2 = rnd.nextDouble();
            a[off + i] = (float) (std * Math.sqrt(-2 * Math.log1p(-u1)) * Math.cos(2 * Math.PI * u2));
        }
    }

    /**
     * Checks analytic[aOff..aOff+n) against d f / d v[vOff + i] (central differences; {@code f} reads {@code v}).
     * At most {@code maxSamples} indices (random, seeded) when n is larger. Returns the max relative error.
     */
    static double check(String name, float[] analytic, int aOff, double[] v, int vOff, int n, DoubleSupplier f,
                        int maxSamples, long seed) {
        double amax = 0;
        for (int i = 0; i < n; i++) amax = Math.max(amax, Math.abs(analytic[aOff + i]));
        double floor = Math.max(FLOOR * amax, 1e-12);
        int[] idx;
        if (n <= maxSamples) {
            idx = new int[n];
            for (int i = 0; i < n; i++) idx[i] = i;
        } else {
            SplittableRandom r = new SplittableRandom(seed ^ name.hashCode());
            idx = new int[maxSamples];
            for (int i = 0; i < maxSamples; i++) idx[i] = r.nextInt(n);
        }
        double worst = 0;
        String where = "";
        for (int i : idx) {
            double old = v[vOff + i];
            v[vOff + i] = old + H;
            double lp = f.getAsDouble();
            v[vOff + i] = old - H;
            double lm = f.getAsDouble();
            v[vOff + i] = old;
            double fd = (lp - lm) / (2 * H), a = analytic[aOff + i];
            double err = Math.abs(a - fd) / Math.max(Math.max(Math.abs(a), Math.abs(fd)), floor);
            if (err > worst) { worst = err; where = "[" + i + "] analytic " + a + " fd " + fd; }
        }
        System.out.printf("FD %-60s n=%-5d max rel err %.3e%n", name, idx.length, worst);
        assertTrue(worst <= TOL, name + ": max rel err " + worst + " at " + where);
        return worst;
    }

    /** Max |a - b| / max|b| (relative to the tensor's max abs) of a float tensor against a double one. */
    static double relToMax(float[] a, int aOff, double[] b, int bOff, int n) {
        double bmax = 0, diff = 0;
        for (int i = 0; i < n; i++) {
            bmax = Math.max(bmax, Math.abs(b[bOff + i]));
            diff = Math.max(diff, Math.abs(a[aOff + i] - b[bOff + i]));
        }
        return bmax == 0 ? diff : diff / bmax;
    }
}
