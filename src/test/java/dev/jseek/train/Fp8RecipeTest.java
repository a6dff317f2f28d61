package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.model.ModelConfig;
import org.junit.jupiter.api.Test;

/**
 * The FP8 activation cache is laid out from {@link Fp8Recipe} and holds exactly the tensors the recipe marks cached.
 * Oracle: the cache sizes counted by hand from the config (per block: the attention output o in E5M6; the SwiGLU
 * inputs g and u of the dense FFN, the shared expert and every routed expert row in E4M3; the dispatched expert
 * inputs in E4M3; one float scale per 1x128 tile of each), independent of the layout code.
 */
class Fp8RecipeTest {
    @Test
    void cacheHoldsWhatTheRecipeCaches() {
        for (int mtp = 0; mtp <= 1; mtp++) {
            ModelConfig c = Fp8TrainingTest.wide(1, 2, mtp);
            int B = 2, T = 6, N = B * T;
            TrainModel m = new TrainModel(c, B, T, true, Precision.FP8);
            long codes = 0, wide = 0, scales = 0;
            int dim = c.hiddenSize(), K = c.numExpertsPerTok(), I = c.moeIntermediateSize(), ow = c.numAttentionHeads() * c.vHeadDim();
            for (int l = 0; l < c.numHiddenLayers() + c.numNextnPredictLayers(); l++) {
                wide += (long) N * ow;                                   // ATTENTION_OUTPUT, E5M6
                scales += (long) N * tiles(ow);
                if (c.isMoeLayer(l)) {
                    int is = I * c.nSharedExperts(), nk = N * K;
                    codes += 2L * N * is + 2L * nk * I + (long) nk * dim;  // SWIGLU_GATE/UP (shared, experts), EXPERT_INPUT
                    scales += 2L * N * tiles(is) + 2L * nk * tiles(I) + (long) nk * tiles(dim);
                } else {
                    codes += 2L * N * c.intermediateSize();              // SWIGLU_GATE/UP of the dense FFN
                    scales += 2L * N * tiles(c.intermediateSize());
                }
            }
            ActLayout al = m.activationLayout();
            assertEquals(codes, al.cacheCodes(), "E4M3 codes, mtp " + mtp);
            assertEquals(wide, al.cacheWide(), "E5M6 codes, mtp " + mtp);
            assertEquals(scales, al.cacheScales(), "scales, mtp " + mtp);
            assertEquals(codes + 2 * wide + 4 * scales, al.fp8Cache().bytes());
            TrainModel f32 = new TrainModel(c, B, T, true, Precision.FP32);
            assertNull(f32.activationLayout().fp8Cache(), "no FP8 cache outside FP8");
        }
    }

    @Test
    void onlyCachedOneByOneTwentyEightRowsGetSlots() {
        ActLayout al = ActLayout.planning(false, true);
        for (Fp8Recipe r : Fp8Recipe.values()) {
            if (r.cached()) {
                assertNotNull(al.cache(r, r.name(), 4, 200));
                assertEquals(r == Fp8Recipe.ATTENTION_OUTPUT ? Fp8Recipe.Format.E5M6 : Fp8Recipe.Format.E4M3, r.format(), r.name());
            } else {
                assertThrows(IllegalArgumentException.class, () -> al.cache(r, r.name(), 4, 200), r.name());
            }
        }
        assertEquals(4L * 200 * 3, al.cacheCodes());                      // SWIGLU_GATE, SWIGLU_UP, EXPERT_INPUT
        assertEquals(4L * 200, al.cacheWide());                           // ATTENTION_OUTPUT
        assertEquals(4L * 2 * 4, al.cacheScales());                       // 2 tiles per row of 200, 4 slots
        assertNull(new ActLayout().cache(Fp8Recipe.SWIGLU_GATE, "g", 4, 200), "plain layouts have no cache");
    }

    private static long tiles(int cols) { return (cols + 127) / 128; }
}
