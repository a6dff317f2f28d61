package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.model.ModelConfig;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Expert load counting, MaxVio and the aux-loss-free bias update b_i += gamma * sign(mean - load_i) (docs/architecture.md §5.3). */
class BiasUpdateTest {

    private static int[] randomTokens(int n, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = r.nextInt(vocab);
        return t;
    }

    @Test
    void loadsAccumulateAndUpdateFollowsTheRule() {
        ModelConfig c = Harness.tinyMoe(); // layer 1 MoE, MTP layer 2 MoE
        int B = 2, T = 5, K = c.numExpertsPerTok(), E = c.nRoutedExperts();
        TrainModel m = new TrainModel(c, B, T);
        Harness.randomParams(m.layout(), m.params(), 3);
        assertEquals(java.util.List.of(1, 2), m.moeLayerIds());
        int[] tok = randomTokens(B * T, c.vocabSize(), 4), tg = randomTokens(B * T, c.vocabSize(), 5);
        m.zeroGrad();
        m.forwardBackward(tok, tg, B, T);
        m.forwardBackward(tok, tg, B, T);
        long[][] load = m.expertLoad();
        long[] expectedTotal = {2L * B * T * K, 2L * B * (T - 1) * K};
        for (int l = 0; l < 2; l++) assertEquals(expectedTotal[l], java.util.Arrays.stream(load[l]).sum(), "tokens x K of layer " + l);

        double[] vio = m.maxVio();
        float[] before = new float[2 * E];
        int[] off = {m.layout().offset("model.layers.1.mlp.gate.e_score_correction_bias"),
                m.layout().offset("model.layers.2.mlp.gate.e_score_correction_bias")};
        for (int l = 0; l < 2; l++) {
            double mean = (double) expectedTotal[l] / E;
            long max = java.util.Arrays.stream(load[l]).max().getAsLong();
            assertEquals((max - mean) / mean, vio[l], 1e-12);
            System.arraycopy(m.params(), off[l], before, l * E, E);
        }
        float gamma = 0.001f;
        m.updateBias(gamma);
        for (int l = 0; l < 2; l++) {
            double mean = (double) expectedTotal[l] / E;
            for (int i = 0; i < E; i++) {
                float want = before[l * E + i] + (load[l][i] < mean ? gamma : load[l][i] > mean ? -gamma : 0f);
                assertEquals(want, m.params()[off[l] + i], 0f, "bias " + i + " of layer " + m.moeLayerIds().get(l));
            }
            assertEquals(0, java.util.Arrays.stream(m.expertLoad()[l]).sum(), "loads reset after the update");
        }
    }

    @Test
    void repeatedUpdatesBalanceTheLoad() {
        ModelConfig c = Harness.tiny(1, 0, 12, 1, 1, true, 1, null, 0);
        int B = 4, T = 16;
        TrainModel m = new TrainModel(c, B, T);
        Harness.randomParams(m.layout(), m.params(), 8);
        int o = m.layout().offset("model.layers.0.mlp.gate.e_score_correction_bias");
        java.util.Arrays.fill(m.params(), o, o + c.nRoutedExperts(), 0f);
        int[] tok = randomTokens(B * T, c.vocabSize(), 9);
        m.forwardLogits(tok, B, T);
        double start = m.maxVio()[0];
        for (int step = 0; step < 300; step++) {
            m.updateBias(0.01f);
            m.forwardLogits(tok, B, T);
        }
        double end = m.maxVio()[0];
        System.out.printf("MaxVio before %.3f after 300 bias updates %.3f%n", start, end);
        assertTrue(end < 0.5 * start, "MaxVio " + start + " -> " + end);
    }
}
