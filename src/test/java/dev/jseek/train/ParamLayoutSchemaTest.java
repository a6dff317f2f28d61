package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.model.ModelConfig;
import dev.jseek.model.Presets;
import dev.jseek.model.TensorSchema;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The training arena against the {@link TensorSchema}: the same tensors in the same order and shapes, the routing
 * bias frozen, the MTP copies as aliases of the main embedding and head; and the FLOP count's active Linear
 * parameters, FLOPs and recompute FLOPs (counted over the schema) against a hand count from the config; single
 * modules declaring their tensors with the schema's shapes. Configs: the tiny preset and the two PyTorch parity fixtures
 * (query latent with YaRN and 16 experts; q_proj with 2 shared experts).
 */
class ParamLayoutSchemaTest {
    static List<ModelConfig> configs() throws Exception {
        List<ModelConfig> cs = new ArrayList<>(List.of(Presets.get("tiny")));
        for (String n : new String[] {"yarn_qlora", "no_qlora"})
            cs.add(ModelConfig.load(Path.of(ParamLayoutSchemaTest.class.getResource("/parity/" + n + "/config.json").toURI())));
        return cs;
    }

    @Test
    void theTrainingArenaHoldsExactlyTheSchemaTensorsInItsOrder() throws Exception {
        for (ModelConfig c : configs()) {
            TensorSchema s = new TensorSchema(c);
            ParamLayout pl = new TrainModel(c, 1, 4).layout();
            List<String> want = new ArrayList<>(), got = new ArrayList<>();
            Map<String, String> wantAlias = new LinkedHashMap<>();
            for (TensorSchema.Tensor t : s.tensors()) {
                if (t.kind() == TensorSchema.Kind.MTP_COPY) wantAlias.put(t.name(), t.slot().copyOf().hfName(-1, -1));
                else want.add(t.name() + Arrays.toString(t.shape()) + (t.trainable() ? "" : " frozen"));
            }
            int offset = 0;
            for (ParamLayout.Entry e : pl.entries()) {
                got.add(e.name() + Arrays.toString(e.shape()) + (e.trainable() ? "" : " frozen"));
                assertEquals(offset, e.offset(), e.name());
                offset += e.size();
            }
            assertEquals(want, got);
            assertEquals(wantAlias, pl.aliases());
            assertEquals(s.trainingParameters(), pl.size());
        }
    }

    /** Linear parameters one token multiplies in an attention layer, by hand from the config (q, kv_a, kv_b, o). */
    static long attnParams(ModelConfig c) {
        long dim = c.hiddenSize(), H = c.numAttentionHeads(), qk = c.qkHeadDim();
        long q = c.hasQLora() ? dim * c.qLoraRank() + (long) c.qLoraRank() * H * qk : dim * H * qk;
        long kva = dim * (c.kvLoraRank() + c.qkRopeHeadDim());
        long kvb = (long) c.kvLoraRank() * H * (c.qkNopeHeadDim() + c.vHeadDim());
        return q + kva + kvb + H * c.vHeadDim() * dim;
    }

    /** Linear parameters one token multiplies in the FFN of a layer, by hand (dense, or router + K routed + shared experts). */
    static long ffnParams(ModelConfig c, int layer) {
        long dim = c.hiddenSize();
        if (!c.isMoeLayer(layer)) return 3 * dim * c.intermediateSize();
        long I = c.moeIntermediateSize();
        return dim * c.nRoutedExperts() + (long) c.numExpertsPerTok() * 3 * dim * I + 3 * dim * I * c.nSharedExperts();
    }

    @Test
    void theFlopCountOverTheSchemaEqualsAHandCountFromTheConfig() throws Exception {
        int B = 3, T = 7;
        for (ModelConfig c : configs()) {
            long dim = c.hiddenSize(), active = dim * c.vocabSize(), linear, recompute = 0;
            for (int l = 0; l < c.numHiddenLayers(); l++) active += attnParams(c) + ffnParams(c, l);
            linear = 6L * B * T * active;
            long H = c.numAttentionHeads();
            long up = (c.hasQLora() ? (long) c.qLoraRank() : dim) * H * c.qkHeadDim() + (long) c.kvLoraRank() * H * (c.qkNopeHeadDim() + c.vHeadDim());
            recompute += 2L * B * T * c.numHiddenLayers() * up;
            for (int k = 1; k <= c.numNextnPredictLayers(); k++) {
                int layer = c.numHiddenLayers() + k - 1;
                linear += 6L * B * (T - k) * (2 * dim * dim + attnParams(c) + ffnParams(c, layer) + dim * c.vocabSize());
                recompute += 2L * B * (T - k) * up;
            }
            assertEquals(active, TrainFlops.activeParamsPerToken(c));
            assertEquals(linear, TrainFlops.linearFlops(c, B, T));
            assertEquals(recompute, TrainFlops.recomputeFlops(c, B, T));
        }
    }

    @Test
    void modulesTakeTheirShapesFromTheSchema() throws Exception {
        for (ModelConfig c : configs()) {
            TensorSchema s = new TensorSchema(c);
            int moeLayer = 0;
            while (moeLayer < c.numHiddenLayers() && !c.isMoeLayer(moeLayer)) moeLayer++;
            for (int layer : new int[] {0, Math.min(moeLayer, c.numHiddenLayers() - 1)}) {
                ParamLayout pl = ParamLayout.partial(s);
                new Block(c, layer, pl, new ActLayout(), 4, new Rotary(c, 4));
                int n = 0;
                for (ParamLayout.Entry e : pl.entries()) {
                    TensorSchema.Tensor t = s.find(e.name());
                    assertNotNull(t, e.name());
                    assertArrayEquals(t.shape(), Arrays.stream(e.shape()).asLongStream().toArray(), e.name());
                    assertEquals(t.trainable(), e.trainable(), e.name());
                    n++;
                }
                long want = s.tensors().stream().filter(t -> t.layer() == layer).count();
                assertEquals(want, n, "layer " + layer + ": the block declares every schema tensor of its layer");
            }
        }
    }

    @Test
    void aSchemaDeclarationNeedsASchemaAndATensorOfThatName() {
        TensorSchema s = new TensorSchema(Presets.get("tiny"));
        assertThrows(IllegalStateException.class, () -> new ParamLayout().matrix("lm_head.weight"));
        assertThrows(IllegalStateException.class, () -> ParamLayout.partial(s).matrix("model.layers.0.mlp.nonexistent.weight"));
        assertThrows(IllegalStateException.class, () -> ParamLayout.partial(s).vector("lm_head.weight"));
        assertThrows(IllegalStateException.class, () -> ParamLayout.partial(s).matrix("model.norm.weight"));
        Param head = ParamLayout.partial(s).matrix("lm_head.weight");
        assertEquals(s.find("lm_head.weight").rows(), head.rows());
        assertEquals(s.find("lm_head.weight").cols(), head.cols());
    }

    @Test
    void aDeclarationThatLeavesTheSchemaIsAnError() throws Exception {
        TensorSchema s = new TensorSchema(Presets.get("tiny"));
        ParamLayout pl = new ParamLayout(s);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> pl.add("model.embed_tokens.weight", true, 3, 4));
        assertTrue(e.getMessage().startsWith("parameter model.embed_tokens.weight[3, 4] differs from the tensor schema's next tensor model.embed_tokens.weight["),
                e.getMessage());
        TensorSchema.Tensor first = s.tensors().getFirst();
        pl.add(first.name(), true, first.rows(), first.cols());
        e = assertThrows(IllegalStateException.class, pl::requireComplete);
        assertTrue(e.getMessage().startsWith("the layout declares 1 of the tensor schema's " + s.tensors().size() + " tensors; missing model.layers.0."),
                e.getMessage());
        assertThrows(IllegalStateException.class, () -> pl.add("model.norm.weight", true, s.config().hiddenSize()));
    }
}
