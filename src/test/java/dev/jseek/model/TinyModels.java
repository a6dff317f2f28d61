package dev.jseek.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/** Small DeepSeek-V3-shaped configs with seeded random weights, held in memory, for model tests. */
final class TinyModels {
    private TinyModels() {}

    /** A tiny config: 3 layers (first dense), 4 heads, 8 experts in 4 groups, MTP depth 1, YaRN on. */
    static ModelConfig config(boolean qLora, boolean yarn) {
        try {
            ObjectMapper json = new ObjectMapper();
            ObjectNode o = (ObjectNode) json.readTree(ModelConfigTest.v3Json());
            o.put("vocab_size", 50).put("hidden_size", 32).put("intermediate_size", 40).put("moe_intermediate_size", 12)
                    .put("num_hidden_layers", 3).put("first_k_dense_replace", 1).put("num_attention_heads", 4)
                    .put("num_key_value_heads", 4).put("kv_lora_rank", 16).put("qk_nope_head_dim", 8)
                    .put("qk_rope_head_dim", 8).put("v_head_dim", 6).put("n_routed_experts", 8).put("n_shared_experts", 1)
                    .put("num_experts_per_tok", 2).put("n_group", 4).put("topk_group", 2).put("max_position_embeddings", 128);
            if (qLora) o.put("q_lora_rank", 20); else o.putNull("q_lora_rank");
            o.remove("quantization_config");
            o.put("torch_dtype", "float32");
            if (yarn) {
                ObjectNode r = (ObjectNode) o.get("rope_scaling");
                r.put("factor", 4).put("original_max_position_embeddings", 32).put("beta_fast", 8).put("beta_slow", 1)
                        .put("mscale", 1.0).put("mscale_all_dim", 1.0);
                o.put("rope_theta", 100);
            } else {
                o.putNull("rope_scaling");
            }
            return ModelConfig.parse(json.writeValueAsString(o), null);
        } catch (java.io.IOException e) {
            throw new RuntimeException(e);
        }
    }

    /** Every tensor of the model (HF names, docs/architecture.md §2.2) with seeded Gaussian values; insertion-ordered. */
    static Map<String, Tensor> weights(ModelConfig c, long seed) {
        Random rnd = new Random(seed);
        Map<String, Tensor> t = new LinkedHashMap<>();
        int d = c.hiddenSize(), h = c.numAttentionHeads();
        t.put("model.embed_tokens.weight", gauss(rnd, 1.0, c.vocabSize(), d));
        for (int l = 0; l < c.numHiddenLayers() + c.numNextnPredictLayers(); l++) {
            String p = "model.layers." + l + ".";
            t.put(p + "input_layernorm.weight", norm(rnd, d));
            if (c.hasQLora()) {
                t.put(p + "self_attn.q_a_proj.weight", linear(rnd, c.qLoraRank(), d));
                t.put(p + "self_attn.q_a_layernorm.weight", norm(rnd, c.qLoraRank()));
                t.put(p + "self_attn.q_b_proj.weight", linear(rnd, h * c.qkHeadDim(), c.qLoraRank()));
            } else {
                t.put(p + "self_attn.q_proj.weight", linear(rnd, h * c.qkHeadDim(), d));
            }
            t.put(p + "self_attn.kv_a_proj_with_mqa.weight", linear(rnd, c.kvLoraRank() + c.qkRopeHeadDim(), d));
            t.put(p + "self_attn.kv_a_layernorm.weight", norm(rnd, c.kvLoraRank()));
            t.put(p + "self_attn.kv_b_proj.weight", linear(rnd, h * (c.qkNopeHeadDim() + c.vHeadDim()), c.kvLoraRank()));
            t.put(p + "self_attn.o_proj.weight", linear(rnd, d, h * c.vHeadDim()));
            t.put(p + "post_attention_layernorm.weight", norm(rnd, d));
            if (c.isMoeLayer(l)) {
                t.put(p + "mlp.gate.weight", linear(rnd, c.nRoutedExperts(), d));
                t.put(p + "mlp.gate.e_score_correction_bias", gauss(rnd, 0.1, c.nRoutedExperts()));
                for (int e = 0; e < c.nRoutedExperts(); e++) mlp(rnd, t, p + "mlp.experts." + e + ".", d, c.moeIntermediateSize());
                mlp(rnd, t, p + "mlp.shared_experts.", d, c.moeIntermediateSize() * c.nSharedExperts());
            } else {
                mlp(rnd, t, p + "mlp.", d, c.intermediateSize());
            }
            if (l >= c.numHiddenLayers()) {
                t.put(p + "enorm.weight", norm(rnd, d));
                t.put(p + "hnorm.weight", norm(rnd, d));
                t.put(p + "eh_proj.weight", linear(rnd, d, 2 * d));
                t.put(p + "shared_head.norm.weight", norm(rnd, d));
            }
        }
        t.put("model.norm.weight", norm(rnd, d));
        t.put("lm_head.weight", linear(rnd, c.vocabSize(), d));
        return t;
    }

    static InMemoryWeights inMemory(Map<String, Tensor> t) {
        InMemoryWeights w = new InMemoryWeights();
        t.forEach((name, x) -> w.put(name, x.data, x.shape));
        return w;
    }

    record Tensor(float[] data, long[] shape) {}

    private static void mlp(Random rnd, Map<String, Tensor> t, String p, int d, int inter) {
        t.put(p + "gate_proj.weight", linear(rnd, inter, d));
        t.put(p + "up_proj.weight", linear(rnd, inter, d));
        t.put(p + "down_proj.weight", linear(rnd, d, inter));
    }

    private static Tensor linear(Random rnd, int out, int in) { return gauss(rnd, 1 / Math.sqrt(in), out, in); }

    private static Tensor norm(Random rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (1 + 0.1 * rnd.nextGaussian());
        return new Tensor(a, new long[] {n});
    }

    private static Tensor gauss(Random rnd, double std, long... shape) {
        int n = (int) (shape.length == 1 ? shape[0] : shape[0] * shape[1]);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (std * rnd.nextGaussian());
        return new Tensor(a, shape);
    }
}
