package dev.jseek.model;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.tensor.Matrix;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Oracles: the parameter totals of DeepSeek-V3 671B computed by hand from its shapes (671.03B total, 37.55B active,
 * 11.6B MTP); {@link TinyModels}' hand-written tensor list (names and shapes); closed-form counts from the config.
 */
class TensorSchemaTest {
    static ModelConfig config671b() throws Exception {
        try (InputStream in = TensorSchemaTest.class.getResourceAsStream("/model/deepseek-v3-671b-config.json")) {
            return ModelConfig.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), Path.of("deepseek-v3-671b-config.json"));
        }
    }

    @Test
    void countsThe671BModelAsTheSpecDoes() throws Exception {
        TensorSchema w = new TensorSchema(config671b());
        assertEquals(671_026_419_200L, w.mainParameters());
        assertEquals(37_552_297_472L, w.activeParameters());
        assertEquals(11_610_068_224L, w.mtpParameters());
        assertEquals(684_489_845_504L, w.checkpointParameters());
        assertEquals(70_272L, w.kvCacheBytesPerToken(2));
        // 91,991 tensors incl. scale_inv: 14 attention/norm tensors per layer incl. 5 scales, etc. (docs/architecture.md §2.2)
        long scales = w.tensors().stream().filter(t -> t.fp8Quantizable()).count();
        assertEquals(91_991L, w.tensors().size() + scales);
    }

    @Test
    void qProjReplacesTheQueryLatentWhenQLoraRankIsNull() throws Exception {
        String json = new String(TensorSchemaTest.class.getResourceAsStream("/model/deepseek-v3-671b-config.json").readAllBytes(), StandardCharsets.UTF_8)
                .replace("\"q_lora_rank\": 1536", "\"q_lora_rank\": null");
        TensorSchema w = new TensorSchema(ModelConfig.parse(json, Path.of("x.json")));
        assertTrue(w.tensors().stream().anyMatch(t -> t.name().equals("model.layers.0.self_attn.q_proj.weight")
                && t.shape()[0] == 128L * 192 && t.shape()[1] == 7168));
        assertTrue(w.tensors().stream().noneMatch(t -> t.name().contains("q_a_proj")));
    }

    /** Records every tensor the model asks for, with the shape it asks for. */
    private static final class Recording implements WeightSource {
        final WeightSource in;
        final List<String> reads = new ArrayList<>();

        Recording(WeightSource in) { this.in = in; }

        @Override public boolean has(String name) { return in.has(name); }

        @Override public Matrix matrix(String name, int rows, int cols) {
            reads.add(name + "[" + rows + ", " + cols + "]");
            return in.matrix(name, rows, cols);
        }

        @Override public float[] floats(String name, long... shape) {
            reads.add(name + Arrays.toString(shape));
            return in.floats(name, shape);
        }
    }

    private static String key(TensorSchema.Tensor t) { return t.name() + Arrays.toString(t.shape()); }

    @Test
    void theInferenceLoaderReadsExactlyTheSchemaTensorsAndTheSchemaMatchesAHandWrittenList() {
        for (boolean qLora : new boolean[] {true, false}) {
            ModelConfig c = TinyModels.config(qLora, false);
            TensorSchema s = new TensorSchema(c);
            Map<String, TinyModels.Tensor> hand = TinyModels.weights(c, 7);
            Set<String> want = new HashSet<>(), handKeys = new HashSet<>();
            for (TensorSchema.Tensor t : s.tensors()) if (t.kind() != TensorSchema.Kind.MTP_COPY) want.add(key(t));
            hand.forEach((n, t) -> handKeys.add(n + Arrays.toString(t.shape())));
            assertEquals(handKeys, want, "schema vs the hand-written tensor list, qLora=" + qLora);
            Recording r = new Recording(TinyModels.inMemory(hand));
            try (DeepSeekV3 m = DeepSeekV3.load(c, r)) {
                assertTrue(m.hasMtp());
            }
            assertEquals(r.reads.size(), new HashSet<>(r.reads).size(), "a tensor was read twice");
            assertEquals(want, new HashSet<>(r.reads), "loader reads vs schema, qLora=" + qLora);
            // a checkpoint without its MTP tensors loads the main model only, and reads nothing else
            Recording main = new Recording(new WeightSource() {
                @Override public boolean has(String name) { return hand.containsKey(name) && !s.find(name).mtp(); }
                @Override public Matrix matrix(String name, int rows, int cols) { return r.in.matrix(name, rows, cols); }
                @Override public float[] floats(String name, long... shape) { return r.in.floats(name, shape); }
            });
            try (DeepSeekV3 m = DeepSeekV3.load(c, main)) {
                assertFalse(m.hasMtp());
            }
            Set<String> mainWant = new HashSet<>();
            for (TensorSchema.Tensor t : s.tensors()) if (!t.mtp()) mainWant.add(key(t));
            assertEquals(mainWant, new HashSet<>(main.reads));
        }
    }

    @Test
    void theCountsEqualClosedFormsOfTheConfig() throws Exception {
        for (ModelConfig c : new ModelConfig[] {config671b(), TinyModels.config(true, true), TinyModels.config(false, false),
                Presets.get("small"), Presets.get("tiny")}) {
            TensorSchema s = new TensorSchema(c);
            long d = c.hiddenSize(), v = c.vocabSize(), H = c.numAttentionHeads();
            long attn = (c.hasQLora() ? c.qLoraRank() * d + c.qLoraRank() + H * c.qkHeadDim() * c.qLoraRank() : H * c.qkHeadDim() * d)
                    + (c.kvLoraRank() + c.qkRopeHeadDim()) * d + c.kvLoraRank()
                    + H * (c.qkNopeHeadDim() + c.vHeadDim()) * c.kvLoraRank() + d * H * c.vHeadDim() + 2 * d;
            long expert = 3 * d * c.moeIntermediateSize();
            long moeFixed = c.nRoutedExperts() * (d + 1) + c.nSharedExperts() * expert;
            long total = 2 * v * d + d, active = total;
            int moeLayers = 0;
            for (int l = 0; l < c.numHiddenLayers(); l++) {
                boolean moe = c.isMoeLayer(l);
                moeLayers += moe ? 1 : 0;
                long dense = 3 * d * c.intermediateSize();
                total += attn + (moe ? moeFixed + c.nRoutedExperts() * expert : dense);
                active += attn + (moe ? moeFixed + c.numExpertsPerTok() * expert : dense);
            }
            long mtp = c.numNextnPredictLayers() * (attn + 3 * d + 2 * d * d + moeFixed + c.nRoutedExperts() * expert);
            assertEquals(total, s.mainParameters());
            assertEquals(active, s.activeParameters());
            assertEquals(mtp, s.mtpParameters());
            assertEquals(total + mtp + 2L * c.numNextnPredictLayers() * v * d, s.checkpointParameters());
            assertTrue(moeLayers > 0);
        }
    }

    @Test
    void namesAreUniqueAndEachTensorIsFoundUnderItsSlot() {
        ModelConfig c = TinyModels.config(true, true);
        TensorSchema s = new TensorSchema(c);
        Set<String> names = new HashSet<>();
        for (TensorSchema.Tensor t : s.tensors()) {
            assertTrue(names.add(t.name()), "duplicate " + t.name());
            TensorSchema.Tensor back = t.slot().topLevel() ? s.get(t.slot())
                    : t.slot().routedExpert() ? s.expert(t.layer(), t.expert(), t.slot()) : s.get(t.layer(), t.slot());
            assertSame(t, back);
            assertEquals(t.layer() >= c.numHiddenLayers(), t.mtp());
            assertEquals(t.kind() == TensorSchema.Kind.LINEAR, t.fp8Quantizable());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.get(0, TensorSchema.Slot.ROUTER));
        assertEquals("the config has no tensor model.layers.0.mlp.gate.weight", e.getMessage());
    }
}
