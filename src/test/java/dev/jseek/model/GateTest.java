package dev.jseek.model;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.tensor.Matrix;
import org.junit.jupiter.api.Test;

/**
 * Router tests. The router weight is the identity, so the logits are the input itself and every expected value
 * below is computed by hand from sigmoid(x).
 */
class GateTest {
    static Gate gate(float[] bias, int topK, int nGroup, int topkGroup, boolean norm, float scale) {
        int e = bias.length;
        float[] eye = new float[e * e];
        for (int i = 0; i < e; i++) eye[i * e + i] = 1;
        return new Gate(Matrix.ofF32(eye, e, e), bias, topK, nGroup, topkGroup, norm, scale);
    }

    static double sig(double z) { return 1 / (1 + Math.exp(-z)); }

    static int[] idx;
    static float[] w;

    static void route(Gate g, float[] x, int m) {
        idx = new int[m * g.topK()];
        w = new float[m * g.topK()];
        g.forward(x, m, idx, w, new Workspace());
    }

    @Test
    void biasSteersSelectionButWeightsUseOriginalScores() {
        float[] x = {2.0f, 1.0f, 0.5f, -3.0f};
        float[] bias = {0, 0, 0, 10};                 // expert 3 has the lowest score but a huge bias
        route(gate(bias, 2, 1, 1, true, 2.5f), x, 1);
        assertArrayEquals(new int[] {3, 0}, idx);
        double s3 = sig(-3), s0 = sig(2);             // weights from s, not from s + bias
        assertEquals(s3 / (s3 + s0) * 2.5, w[0], 1e-6);
        assertEquals(s0 / (s3 + s0) * 2.5, w[1], 1e-6);
        assertEquals(2.5, w[0] + w[1], 1e-6);
    }

    @Test
    void withoutNormalizationWeightsAreScaledScores() {
        float[] x = {2.0f, 1.0f, 0.5f, -3.0f};
        route(gate(new float[4], 2, 1, 1, false, 1.5f), x, 1);
        assertArrayEquals(new int[] {0, 1}, idx);
        assertEquals(sig(2) * 1.5, w[0], 1e-6);
        assertEquals(sig(1) * 1.5, w[1], 1e-6);
    }

    @Test
    void maskedGroupsAreMinusInfinityEvenWhenBiasedScoresAreNegative() {
        // 4 groups of 4 experts; all biased scores negative. Keep 1 group, pick 3 experts: they must all come from
        // the kept group. HF's 0.0 mask (docs/architecture.md §5.2) would pick masked experts here, since 0 > negative scores.
        int e = 16;
        float[] x = new float[e], bias = new float[e];
        java.util.Arrays.fill(bias, -10f);
        for (int i = 0; i < e; i++) x[i] = (float) Math.sin(i);          // scores ~ sigmoid in (0.3, 0.7)
        x[9] = 4f; x[10] = 3f;                                            // group 2 has the best top-2 sum
        route(gate(bias, 3, 4, 1, true, 1f), x, 1);
        for (int j = 0; j < 3; j++) assertTrue(idx[j] >= 8 && idx[j] < 12, "expert " + idx[j] + " is outside the kept group 2");
        assertEquals(9, idx[0]);
        assertEquals(10, idx[1]);
        int third = x[8] > x[11] ? 8 : 11;
        assertEquals(third, idx[2]);
    }

    @Test
    void groupScoreIsSumOfTopTwoNotMax() {
        // group 0 = {0.9-ish, very low}; group 1 = {two good ones}: top-2 sums pick group 1, max would pick group 0.
        float[] x = {3f, -6f, 2f, 2f};
        route(gate(new float[4], 2, 2, 1, true, 1f), x, 1);
        assertEquals(java.util.Set.of(2, 3), java.util.Set.of(idx[0], idx[1]));
        assertEquals(0.5, w[0], 1e-6);
        assertEquals(0.5, w[1], 1e-6);
    }

    @Test
    void groupSelectionUsesBiasedScores() {
        // Without bias group 0 wins; a bias on group 1 makes it win, and the weights still use the original scores.
        float[] x = {3f, 3f, 0f, 0f};
        float[] bias = {0f, 0f, 1f, 1f};
        route(gate(bias, 2, 2, 1, true, 2f), x, 1);
        assertEquals(java.util.Set.of(2, 3), java.util.Set.of(idx[0], idx[1]));
        assertEquals(1.0, w[0], 1e-6);
        route(gate(new float[4], 2, 2, 1, true, 2f), x, 1);
        assertEquals(java.util.Set.of(0, 1), java.util.Set.of(idx[0], idx[1]));
    }

    @Test
    void severalTokensRouteIndependently() {
        float[] x = {1f, 0f, 0f, 0f,
                     0f, 0f, 0f, 1f};
        route(gate(new float[4], 1, 1, 1, true, 2.5f), x, 2);
        assertArrayEquals(new int[] {0, 3}, idx);
        assertArrayEquals(new float[] {2.5f, 2.5f}, w, 1e-6f);
    }
}
