package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The vectorized, parallel attention core against its scalar twin (forward outputs, lse, and all three gradients). */
class CausalAttentionTest {
    @Test void fastMatchesScalarTwin() {
        int[][] shapes = { // B, T, H, nope(=k part inside kv), dqk, dv
                {1, 1, 1, 3, 5, 4}, {2, 5, 3, 8, 13, 7}, {3, 37, 2, 16, 24, 16}, {1, 70, 4, 32, 48, 32}, {2, 19, 1, 8, 96, 64}};
        SplittableRandom r = new SplittableRandom(11);
        for (int[] sh : shapes) {
            int B = sh[0], T = sh[1], H = sh[2], nope = sh[3], dqk = sh[4], dv = sh[5], N = B * T;
            int vRow = H * (nope + dv), vHead = nope + dv;
            // arena: [pad | q | k | kv (v inside) | o | lse | pad]
            int q = 3, k = q + N * H * dqk, kv = k + N * H * dqk, o = kv + N * vRow, lse = o + N * H * dv, size = lse + N * H + 5;
            float[] a1 = new float[size], d1 = new float[size];
            for (int i = 0; i < size; i++) { a1[i] = (float) r.nextGaussian(); d1[i] = (float) r.nextGaussian(); }
            float[] a2 = a1.clone(), d2 = d1.clone();
            float scale = 0.3f;
            CausalAttention.forwardScalar(a1, q, k, kv + nope, vRow, vHead, o, lse, B, T, H, dqk, dv, scale);
            CausalAttention.forward(a2, q, k, kv + nope, vRow, vHead, o, lse, B, T, H, dqk, dv, scale);
            close(a1, a2, 0, size, 2e-6, "forward " + java.util.Arrays.toString(sh));
            CausalAttention.backwardScalar(a1, d1, q, k, kv + nope, vRow, vHead, o, lse, B, T, H, dqk, dv, scale);
            CausalAttention.backward(a2, d2, q, k, kv + nope, vRow, vHead, o, lse, B, T, H, dqk, dv, scale);
            close(d1, d2, 0, size, 2e-5, "backward " + java.util.Arrays.toString(sh));
        }
    }

    private static void close(float[] x, float[] y, int from, int to, double tol, String what) {
        for (int i = from; i < to; i++) {
            double e = Math.abs(x[i] - y[i]) / (1 + Math.abs(x[i]));
            assertTrue(e <= tol, what + ": element " + i + " scalar " + x[i] + " fast " + y[i]);
        }
    }
}
