package dev.jseek.model;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Named model sizes for {@code jseek init} and {@code jseek inspect}. Every preset is a full DeepSeek-V3 architecture
 * (MLA with a query latent, dense first layer, DeepSeekMoE with shared and group-limited routed experts, one MTP
 * module); they differ only in size. {@code 671b} is the released DeepSeek-V3 layout (docs/architecture.md §2.1), for inspection.
 */
public final class Presets {
    private Presets() {}

    private static final Map<String, String> JSON = new LinkedHashMap<>();

    static {
        // tests: a few hundred thousand parameters, every feature on (YaRN included)
        JSON.put("tiny", cfg(512, 64, 128, 32, 3, 1, 4, 32, 32, 16, 8, 16, 8, 1, 2, 4, 2, 2.5, 512,
                "{\"type\":\"yarn\",\"factor\":4.0,\"original_max_position_embeddings\":128,\"beta_fast\":32,\"beta_slow\":1,\"mscale\":1.0,\"mscale_all_dim\":1.0}"));
        // trains in minutes on 2 cores (quickstart): ~9M parameters with an 8K vocabulary
        JSON.put("small", cfg(8192, 256, 512, 128, 4, 1, 4, 128, 64, 32, 16, 32, 16, 1, 4, 4, 2, 2.5, 1024, "null"));
        // a step up for real runs on a workstation
        JSON.put("base", cfg(32768, 768, 2048, 256, 8, 1, 8, 384, 256, 64, 32, 64, 32, 1, 6, 8, 4, 2.5, 4096, "null"));
        JSON.put("671b", cfg(129280, 7168, 18432, 2048, 61, 3, 128, 1536, 512, 128, 64, 128, 256, 1, 8, 8, 4, 2.5, 163840,
                "{\"type\":\"yarn\",\"factor\":40,\"original_max_position_embeddings\":4096,\"beta_fast\":32,\"beta_slow\":1,\"mscale\":1.0,\"mscale_all_dim\":1.0}"));
    }

    private static String cfg(int vocab, int hidden, int inter, int moeInter, int layers, int firstDense, int heads,
                              int qLora, int kvLora, int nope, int rope, int v, int experts, int shared, int perTok,
                              int groups, int topkGroup, double routedScale, int maxPos, String ropeScaling) {
        return """
            {"vocab_size": %d, "hidden_size": %d, "intermediate_size": %d, "moe_intermediate_size": %d,
             "num_hidden_layers": %d, "first_k_dense_replace": %d, "moe_layer_freq": 1,
             "num_attention_heads": %d, "num_key_value_heads": %d, "q_lora_rank": %d, "kv_lora_rank": %d,
             "qk_nope_head_dim": %d, "qk_rope_head_dim": %d, "v_head_dim": %d,
             "n_routed_experts": %d, "n_shared_experts": %d, "num_experts_per_tok": %d, "n_group": %d, "topk_group": %d,
             "routed_scaling_factor": %s, "norm_topk_prob": true, "scoring_func": "sigmoid", "topk_method": "noaux_tc",
             "seq_aux": true, "aux_loss_alpha": 0.0001, "hidden_act": "silu", "rms_norm_eps": 1e-6, "rope_theta": 10000,
             "max_position_embeddings": %d, "rope_scaling": %s, "num_nextn_predict_layers": 1,
             "tie_word_embeddings": false, "attention_bias": false, "bos_token_id": 0, "eos_token_id": 1,
             "initializer_range": 0.006, "torch_dtype": "bfloat16"}
            """.formatted(vocab, hidden, inter, moeInter, layers, firstDense, heads, heads, qLora, kvLora, nope, rope, v,
                experts, shared, perTok, groups, topkGroup, Double.toString(routedScale), maxPos, ropeScaling);
    }

    public static Iterable<String> names() { return JSON.keySet(); }

    /** The preset's config; throws {@link ConfigException} listing the known names when unknown. */
    public static ModelConfig get(String name) {
        String json = JSON.get(name);
        if (json == null) throw new ConfigException(null, "unknown preset '" + name + "' (known: " + String.join(", ", JSON.keySet()) + ")", (Throwable) null);
        return ModelConfig.parse(json, null);
    }
}
