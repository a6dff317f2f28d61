package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jseek.model.ModelConfig;
import dev.jseek.model.Presets;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The MFU numerator: TrainFlops against the GEMMs a real training step executes (with and without recompute) and a
 * brute-force attention count.
 */
class TrainFlopsTest {
    @Test void linearFlopsEqualTheGemmsOfOneStep() {
        for (String preset : new String[] {"tiny", "small"})
            for (boolean recompute : new boolean[] {false, true}) {
            ModelConfig c = Presets.get(preset);
            int B = 2, T = 9;
            TrainModel m = new TrainModel(c, B, T, recompute);
            m.initRandom(1, 0.02f);
            SplittableRandom r = new SplittableRandom(2);
            int[] tok = new int[B * T], tgt = new int[B * T];
            for (int i = 0; i < B * T; i++) { tok[i] = r.nextInt(c.vocabSize()); tgt[i] = r.nextInt(c.vocabSize()); }
            boolean was = Profiler.enabled();
            Profiler.enable(true);
            Profiler.reset();
            try {
                m.zeroGrad();
                m.forwardBackward(tok, tgt, B, T);
                // model FLOPs without recompute; recompute adds the up-projections' second forward
                assertEquals(Profiler.gemmFlops(), TrainFlops.linearFlops(c, B, T) + (recompute ? TrainFlops.recomputeFlops(c, B, T) : 0),
                        preset + " recompute " + recompute);
            } finally {
                Profiler.enable(was);
            }
        }
    }

    @Test void attentionFlopsCountTheCausalTriangle() {
        ModelConfig c = Presets.get("tiny");
        int B = 3, T = 7;
        long f = 0;
        int layers = c.numHiddenLayers() + c.numNextnPredictLayers();
        for (int l = 0; l < layers; l++) {
            int t = l < c.numHiddenLayers() ? T : T - (l - c.numHiddenLayers() + 1);
            for (int b = 0; b < B; b++)
                for (int h = 0; h < c.numAttentionHeads(); h++)
                    for (int q = 0; q < t; q++)
                        for (int k = 0; k <= q; k++) f += 3L * 2 * (c.qkHeadDim() + c.vHeadDim());
        }
        assertEquals(f, TrainFlops.attentionFlops(c, B, T));
        assertEquals(TrainFlops.linearFlops(c, B, T) + f, TrainFlops.stepFlops(c, B, T));
    }
}
