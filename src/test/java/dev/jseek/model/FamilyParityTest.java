package dev.jseek.model;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.io.Npy;
import dev.jseek.kernels.Router;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The DeepSeek family beside V3 against the float64 PyTorch forward of tools/make_parity_fixtures.py, which routes
 * as DeepSeek-V2's MoEGate does for its topk_methods (cases v2_group_limited, v2_lite_greedy, v2_norm_topk) and as
 * V3 with one group for Moonlight and Kimi-K2 (cases moonlight, kimi_k2; Kimi's YaRN has beta_fast = beta_slow).
 * Every routing decision of a fixture has a margin above 2e-3, so a wrong variant changes the experts and the logits.
 */
class FamilyParityTest {
    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"v2_group_limited,NAIVE", "v2_group_limited,ABSORB", "v2_lite_greedy,NAIVE", "v2_lite_greedy,ABSORB",
            "v2_norm_topk,NAIVE", "v2_norm_topk,ABSORB", "moonlight,NAIVE", "moonlight,ABSORB", "kimi_k2,NAIVE", "kimi_k2,ABSORB"})
    void logitsMatchTheReferenceRouting(String name, AttnMode mode) throws IOException {
        Path d = ParityTest.dir(name);
        int[] tokens = ParityTest.tokens(d);
        int T = tokens.length;
        try (DeepSeekV3 m = DeepSeekV3.open(d)) {
            assertFalse(m.hasMtp());
            int v = m.config.vocabSize();
            float[] want = Npy.readFloats(d.resolve("logits.npy"), T, v);
            float[] logits = m.logits(m.forwardHidden(tokens, 0, m.newCache(T, mode)), 0, T);
            double diff = ParityTest.maxDiff(logits, 0, want, 0, T * v);
            System.out.printf("family parity %-16s %-6s logits max|diff| %.3g%n", name, mode, diff);
            assertTrue(diff <= ParityTest.TOL, name + " " + mode + " logits max |diff| " + diff);
            // one token at a time through the absorbed decode path too
            KvCache cache = m.newCache(T, AttnMode.ABSORB);
            for (int p = 0; p < T; p++) {
                double dp = ParityTest.maxDiff(m.forward(new int[] {tokens[p]}, p, cache), 0, want, p * v, v);
                assertTrue(dp <= ParityTest.TOL, name + " decode position " + p + " max |diff| " + dp);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"v2_group_limited,SOFTMAX,GROUP_LIMITED_GREEDY,false,16.0,false",
            "v2_lite_greedy,SOFTMAX,GREEDY,false,1.0,false",
            "v2_norm_topk,SOFTMAX,GREEDY,true,1.0,false",
            "moonlight,SIGMOID,NOAUX_TC,true,2.446,true",
            "kimi_k2,SIGMOID,NOAUX_TC,true,2.827,true",
            "yarn_qlora,SIGMOID,NOAUX_TC,true,2.5,true"})
    void configsMapToTheirRouter(String name, Router.Scoring scoring, Router.Selection selection, boolean norm, float scale,
                                 boolean bias) {
        ModelConfig c = ModelConfig.load(ParityTest.dir(name).resolve("config.json"));
        Router r = c.router();
        assertEquals(scoring, r.scoring());
        assertEquals(selection, r.selection());
        assertEquals(norm, r.normTopkProb());
        assertEquals(scale, r.routedScale());
        assertEquals(bias, c.hasRouterBias());
        assertEquals(bias, new TensorSchema(c).find("model.layers.1.mlp.gate.e_score_correction_bias") != null);
        // the config round-trips through its JSON form, model_type included
        assertEquals(c, ModelConfig.parse(c.toJson(), null));
    }

    @org.junit.jupiter.api.Test
    void trainingRefusesTheV2RouterWithOneLine() {
        ModelConfig c = ModelConfig.load(ParityTest.dir("v2_lite_greedy").resolve("config.json"));
        ConfigException e = assertThrows(ConfigException.class, () -> new dev.jseek.train.TrainModel(c, 1, 4));
        assertEquals("topk_method", e.field());
        assertTrue(e.getMessage().contains("\"greedy\" (DeepSeek-V2's softmax router) is supported for inference only"), e.getMessage());
    }
}
