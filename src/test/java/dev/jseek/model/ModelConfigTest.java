package dev.jseek.model;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelConfigTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Path FILE = Path.of("models/x/config.json");

    static String v3Json() {
        try (InputStream in = ModelConfigTest.class.getResourceAsStream("/model/deepseek-v3-671b-config.json")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    static ModelConfig v3() { return ModelConfig.parse(v3Json(), FILE); }

    @Test
    void readsThe671BConfig() {
        ModelConfig c = v3();
        assertEquals(129280, c.vocabSize());
        assertEquals(7168, c.hiddenSize());
        assertEquals(18432, c.intermediateSize());
        assertEquals(2048, c.moeIntermediateSize());
        assertEquals(61, c.numHiddenLayers());
        assertEquals(3, c.firstKDenseReplace());
        assertEquals(1, c.moeLayerFreq());
        assertEquals(128, c.numAttentionHeads());
        assertEquals(128, c.numKeyValueHeads());
        assertEquals(1536, c.qLoraRank());
        assertEquals(512, c.kvLoraRank());
        assertEquals(128, c.qkNopeHeadDim());
        assertEquals(64, c.qkRopeHeadDim());
        assertEquals(128, c.vHeadDim());
        assertEquals(256, c.nRoutedExperts());
        assertEquals(1, c.nSharedExperts());
        assertEquals(8, c.numExpertsPerTok());
        assertEquals(8, c.nGroup());
        assertEquals(4, c.topkGroup());
        assertEquals(2.5, c.routedScalingFactor());
        assertTrue(c.normTopkProb());
        assertEquals("sigmoid", c.scoringFunc());
        assertEquals("noaux_tc", c.topkMethod());
        assertTrue(c.seqAux());
        assertEquals(0.001, c.auxLossAlpha());
        assertEquals("silu", c.hiddenAct());
        assertEquals(1e-6, c.rmsNormEps());
        assertEquals(10000, c.ropeTheta());
        assertEquals(163840, c.maxPositionEmbeddings());
        assertEquals(new ModelConfig.RopeScaling("yarn", 40, 4096, 32, 1, 1, 1), c.ropeScaling());
        assertEquals(1, c.numNextnPredictLayers());
        assertFalse(c.tieWordEmbeddings());
        assertFalse(c.attentionBias());
        assertEquals(0, c.bosTokenId());
        assertEquals(1, c.eosTokenId());
        assertEquals(0.02, c.initializerRange());
        assertEquals(new ModelConfig.QuantizationConfig("fp8", "e4m3", "dynamic", List.of(128, 128)), c.quantizationConfig());
        assertEquals("bfloat16", c.torchDtype());
    }

    @Test
    void derivedValues() {
        ModelConfig c = v3();
        assertEquals(192, c.qkHeadDim());
        assertEquals(32, c.expertsPerGroup());
        // docs/architecture.md §3.1, §4.3: 192^-0.5 * (0.1 ln 40 + 1)^2
        assertEquals(0.1352338, c.softmaxScale(), 5e-8);
        double m = 0.1 * Math.log(40) + 1;
        assertEquals(m * m / Math.sqrt(192), c.softmaxScale(), 1e-15);
        for (int i = 0; i < 3; i++) assertFalse(c.isMoeLayer(i), "layer " + i);
        for (int i = 3; i <= 61; i++) assertTrue(c.isMoeLayer(i), "layer " + i);
    }

    @Test
    void moeLayerFrequency() {
        ModelConfig c = edit(o -> { o.put("moe_layer_freq", 2); o.put("first_k_dense_replace", 1); });
        assertFalse(c.isMoeLayer(0));
        assertFalse(c.isMoeLayer(1));
        assertTrue(c.isMoeLayer(2));
        assertFalse(c.isMoeLayer(3));
        assertTrue(c.isMoeLayer(4));
    }

    @Test
    void toJsonRoundTrips() {
        ModelConfig c = v3();
        assertEquals(c, ModelConfig.parse(c.toJson(), null));
        ModelConfig plain = edit(o -> { o.putNull("q_lora_rank"); o.putNull("rope_scaling"); o.remove("quantization_config"); });
        assertNull(plain.qLoraRank());
        assertNull(plain.ropeScaling());
        assertNull(plain.quantizationConfig());
        assertEquals(1 / Math.sqrt(192), plain.softmaxScale(), 1e-15);
        assertEquals(plain, ModelConfig.parse(plain.toJson(), null));
    }

    @Test
    void savesAtomicallyAndLoads(@TempDir Path dir) throws IOException {
        ModelConfig c = v3();
        Path f = dir.resolve("config.json");
        c.save(f);
        assertEquals(c, ModelConfig.load(f));
        try (var s = Files.list(dir)) { assertEquals(1, s.count(), "no temp file left"); }
    }

    @Test
    void optionalFieldsTakeHfDefaults() {
        ModelConfig c = edit(o -> {
            for (String k : List.of("moe_layer_freq", "num_key_value_heads", "seq_aux", "aux_loss_alpha", "num_nextn_predict_layers",
                    "tie_word_embeddings", "attention_bias", "bos_token_id", "eos_token_id", "initializer_range", "torch_dtype",
                    "quantization_config", "rope_scaling")) o.remove(k);
        });
        assertEquals(1, c.moeLayerFreq());
        assertEquals(128, c.numKeyValueHeads());
        assertEquals(0, c.numNextnPredictLayers());
        assertNull(c.ropeScaling());
        assertNull(c.quantizationConfig());
    }

    @Test
    void ropeTypeAlsoReadFromRopeType() {
        ModelConfig c = edit(o -> { ObjectNode r = (ObjectNode) o.get("rope_scaling"); r.remove("type"); r.put("rope_type", "yarn"); });
        assertEquals("yarn", c.ropeScaling().type());
    }

    @Test
    void badConfigsNameFileFieldAndValue() {
        bad("hidden_size", "missing", o -> o.remove("hidden_size"));
        bad("hidden_size", "\"7168\"", o -> o.put("hidden_size", "7168"));
        bad("hidden_size", "1.5", o -> o.put("hidden_size", 1.5));
        bad("hidden_size", "-1", o -> o.put("hidden_size", -1));
        bad("vocab_size", "0", o -> o.put("vocab_size", 0));
        bad("q_lora_rank", "missing", o -> o.remove("q_lora_rank"));
        bad("q_lora_rank", "0", o -> o.put("q_lora_rank", 0));
        bad("n_group", "7", o -> o.put("n_group", 7));
        bad("topk_group", "9", o -> o.put("topk_group", 9));
        bad("num_experts_per_tok", "129", o -> o.put("num_experts_per_tok", 129));
        bad("num_experts_per_tok", "33", o -> { o.put("topk_group", 1); o.put("num_experts_per_tok", 33); });
        bad("n_shared_experts", "-1", o -> o.put("n_shared_experts", -1));
        bad("scoring_func", "sqrtsoftplus", o -> o.put("scoring_func", "sqrtsoftplus"));
        bad("scoring_func", "softmax", o -> o.put("scoring_func", "softmax"));          // noaux_tc scores with sigmoid
        bad("topk_method", "aux_free", o -> o.put("topk_method", "aux_free"));
        bad("scoring_func", "sigmoid", o -> o.put("topk_method", "greedy"));            // V2's greedy scores with softmax
        bad("model_type", "deepseek_v4", o -> o.put("model_type", "deepseek_v4"));
        bad("rope_scaling.beta_fast", "0.5", o -> ((ObjectNode) o.get("rope_scaling")).put("beta_fast", 0.5));
        bad("hidden_act", "gelu", o -> o.put("hidden_act", "gelu"));
        bad("norm_topk_prob", "1", o -> o.put("norm_topk_prob", 1));
        bad("routed_scaling_factor", "0.0", o -> o.put("routed_scaling_factor", 0.0));
        bad("rms_norm_eps", "-1.0", o -> o.put("rms_norm_eps", -1.0));
        bad("rope_theta", "1.0", o -> o.put("rope_theta", 1.0));
        bad("qk_rope_head_dim", "63", o -> o.put("qk_rope_head_dim", 63));
        bad("first_k_dense_replace", "62", o -> o.put("first_k_dense_replace", 62));
        bad("attention_bias", "true", o -> o.put("attention_bias", true));
        bad("eos_token_id", "129280", o -> o.put("eos_token_id", 129280));
        bad("rope_scaling", "40", o -> o.put("rope_scaling", 40));
        bad("rope_scaling.type", "linear", o -> ((ObjectNode) o.get("rope_scaling")).put("type", "linear"));
        bad("rope_scaling.factor", "missing", o -> ((ObjectNode) o.get("rope_scaling")).remove("factor"));
        bad("rope_scaling.factor", "0.5", o -> ((ObjectNode) o.get("rope_scaling")).put("factor", 0.5));
        bad("rope_scaling.beta_fast", "0.5", o -> ((ObjectNode) o.get("rope_scaling")).put("beta_fast", 0.5));
        bad("quantization_config.fmt", "e5m2", o -> ((ObjectNode) o.get("quantization_config")).put("fmt", "e5m2"));
        bad("quantization_config.weight_block_size", "[64, 64]",
                o -> ((ObjectNode) o.get("quantization_config")).putArray("weight_block_size").add(64).add(64));
        bad("num_attention_heads", "100000000", o -> o.put("num_attention_heads", 100_000_000));
        // issue 10 §6: a context of 1e9 positions is a typo, not a model
        bad("max_position_embeddings", "1000000000", o -> o.put("max_position_embeddings", 1_000_000_000));
        bad("max_position_embeddings", "1048577", o -> o.put("max_position_embeddings", (1 << 20) + 1));
    }

    @Test
    void unknownFieldsAreIgnored() {
        ModelConfig c = edit(o -> { o.put("some_future_field", "x"); o.putObject("nested").put("a", 1); });
        assertEquals(v3(), c);
    }

    @Test
    void fileErrors(@TempDir Path dir) throws IOException {
        Path missing = dir.resolve("nope.json");
        ConfigException e = assertThrows(ConfigException.class, () -> ModelConfig.load(missing));
        assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("not found"), e.getMessage());
        Path broken = dir.resolve("config.json");
        Files.writeString(broken, "{\"vocab_size\": 12,");
        e = assertThrows(ConfigException.class, () -> ModelConfig.load(broken));
        assertTrue(e.getMessage().startsWith(broken.toString()) && e.getMessage().contains("not valid JSON"), e.getMessage());
        Files.writeString(broken, "[1, 2]");
        e = assertThrows(ConfigException.class, () -> ModelConfig.load(broken));
        assertTrue(e.getMessage().contains("not a JSON object"), e.getMessage());
    }

    @Test
    void configBuiltInCodeIsValidatedToo() {
        ModelConfig c = v3();
        ConfigException e = assertThrows(ConfigException.class, () -> new ModelConfig(c.vocabSize(), c.hiddenSize(),
                c.intermediateSize(), c.moeIntermediateSize(), c.numHiddenLayers(), c.firstKDenseReplace(), c.moeLayerFreq(),
                c.numAttentionHeads(), c.numKeyValueHeads(), c.qLoraRank(), c.kvLoraRank(), c.qkNopeHeadDim(),
                c.qkRopeHeadDim(), c.vHeadDim(), 255, c.nSharedExperts(), c.numExpertsPerTok(), c.nGroup(),
                c.topkGroup(), c.routedScalingFactor(), c.normTopkProb(), c.scoringFunc(), c.topkMethod(), c.seqAux(),
                c.auxLossAlpha(), c.hiddenAct(), c.rmsNormEps(), c.ropeTheta(), c.maxPositionEmbeddings(),
                c.ropeScaling(), c.numNextnPredictLayers(), c.tieWordEmbeddings(), c.attentionBias(), c.bosTokenId(),
                c.eosTokenId(), c.initializerRange(), c.quantizationConfig(), c.torchDtype(), c.modelType()));
        assertEquals("n_group", e.field());
        assertTrue(e.getMessage().startsWith("config: field 'n_group'"), e.getMessage());
    }

    static ModelConfig edit(Consumer<ObjectNode> change) {
        try {
            ObjectNode o = (ObjectNode) JSON.readTree(v3Json());
            change.accept(o);
            return ModelConfig.parse(JSON.writeValueAsString(o), FILE);
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    static void bad(String field, String value, Consumer<ObjectNode> change) {
        ConfigException e = assertThrows(ConfigException.class, () -> edit(change), field);
        assertEquals(field, e.field(), e.getMessage());
        String msg = e.getMessage();
        assertTrue(msg.startsWith(FILE + ": field '" + field + "': "), msg);
        assertTrue(msg.contains(value), "message should contain " + value + ": " + msg);
    }
}
