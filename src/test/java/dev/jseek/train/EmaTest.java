package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

class EmaTest {
    static float[][] stream(long seed, int steps, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[][] s = new float[steps + 1][n];
        for (float[] p : s) for (int i = 0; i < n; i++) p[i] = (float) r.nextGaussian();
        return s;
    }

    /** Plain loop: e = d e + (1 - d) p in FP32 after every step. */
    static float[] scalar(float[][] s, double decay, int steps) {
        float d = (float) decay, o = (float) (1 - decay);
        float[] e = s[0].clone();
        for (int k = 1; k <= steps; k++) for (int i = 0; i < e.length; i++) e[i] = d * e[i] + o * s[k][i];
        return e;
    }

    @Test
    void equalsScalarReferenceBitForBitWhateverTheTiming() {
        int n = 1000, steps = 40;
        float[][] s = stream(1, steps, n);
        float[] expect = scalar(s, 0.99, steps);
        for (int trial = 0; trial < 3; trial++) {
            SplittableRandom delays = new SplittableRandom(trial);
            long[] seen = new long[1];
            // the worker sleeps a random 0-400 us before some updates, so submits overtake it and wait on the buffers
            try (Ema ema = new Ema(s[0], 0.99, k -> {
                seen[0] = k;
                if (delays.nextInt(3) == 0) LockSupport.parkNanos(delays.nextInt(400_000));
            })) {
                float[] params = s[0].clone();
                for (int k = 1; k <= steps; k++) {
                    System.arraycopy(s[k], 0, params, 0, n);
                    ema.submit(params);
                    java.util.Arrays.fill(params, Float.NaN); // the trainer keeps changing params right after the handoff
                    if (k == steps / 2) {
                        float[] mid = scalar(s, 0.99, k);
                        assertArrayEquals(mid, ema.values(), "EMA after step " + k);
                        assertEquals(k, ema.updates());
                    }
                }
                float[] got = ema.values();
                for (int i = 0; i < n; i++) assertEquals(Float.floatToRawIntBits(expect[i]), Float.floatToRawIntBits(got[i]), "element " + i);
                assertEquals(steps, ema.updates());
                assertEquals(steps, seen[0]);
            }
        }
        // and it is an EMA: close to the same recurrence in double
        double[] e = new double[n];
        for (int i = 0; i < n; i++) e[i] = s[0][i];
        for (int k = 1; k <= steps; k++) for (int i = 0; i < n; i++) e[i] = 0.99 * e[i] + 0.01 * s[k][i];
        for (int i = 0; i < n; i++) assertEquals(e[i], expect[i], 1e-5);
    }

    @Test
    void restoreContinuesTheSameSequence() {
        int n = 64, steps = 10;
        float[][] s = stream(2, steps, n);
        float[] expect = scalar(s, 0.9, steps);
        float[] mid;
        try (Ema a = new Ema(s[0], 0.9)) {
            for (int k = 1; k <= 6; k++) a.submit(s[k]);
            mid = a.values().clone();
            assertEquals(6, a.updates());
        }
        try (Ema b = new Ema(new float[n], 0.9)) {
            b.restore(mid, 6);
            for (int k = 7; k <= steps; k++) b.submit(s[k]);
            assertArrayEquals(expect, b.values());
            assertEquals(10, b.updates());
        }
    }

    @Test
    void workerFailureSurfacesAndBadArgumentsAreRejected() {
        try (Ema e = new Ema(new float[4], 0.5, k -> { throw new IllegalStateException("boom at " + k); })) {
            e.submit(new float[4]);
            IllegalStateException ex = assertThrows(IllegalStateException.class, e::sync);
            assertTrue(ex.getMessage().contains("boom at 1"), ex.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new Ema(new float[4], 1.0));
        try (Ema e = new Ema(new float[4], 0.5)) {
            assertThrows(IllegalArgumentException.class, () -> e.submit(new float[5]));
        }
    }
}
