package dev.jseek.gguf;

import dev.jseek.io.FormatException;
import dev.jseek.model.ConfigEdits;
import dev.jseek.model.ConfigException;
import dev.jseek.model.ModelConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * A DeepSeek-V3 {@link ModelConfig} as the metadata of a llama.cpp {@code deepseek2} GGUF, and back.
 *
 * <p>Keys written (prefix {@code deepseek2.}; types as llama.cpp's loader checks them: counts UINT32,
 * hyperparameters FLOAT32, flags BOOL): {@code block_count} (= num_hidden_layers + exported MTP layers),
 * {@code context_length} (max_position_embeddings), {@code embedding_length}, {@code feed_forward_length}
 * (intermediate_size), {@code attention.head_count}, {@code attention.head_count_kv} = 1 (MLA as MQA, as llama.cpp's
 * converter), {@code rope.freq_base}, {@code attention.layer_norm_rms_epsilon}, {@code expert_used_count},
 * {@code expert_group_count} (n_group), {@code expert_group_used_count} (topk_group), {@code leading_dense_block_count}
 * (first_k_dense_replace), {@code vocab_size}, {@code attention.q_lora_rank} (only with a query latent),
 * {@code attention.kv_lora_rank}, {@code attention.key_length} = kv_lora_rank + qk_rope_head_dim and
 * {@code attention.value_length} = kv_lora_rank (the absorbed-MLA head sizes), {@code attention.key_length_mla} =
 * qk_nope + qk_rope and {@code attention.value_length_mla} = v_head_dim (the per-head sizes), {@code
 * expert_feed_forward_length}, {@code expert_count}, {@code expert_shared_count}, {@code expert_weights_scale}
 * (routed_scaling_factor), {@code expert_weights_norm} (norm_topk_prob), {@code expert_gating_func} = 2 (sigmoid),
 * {@code rope.dimension_count} (qk_rope_head_dim), {@code nextn_predict_layers} (only when MTP layers are exported),
 * and for YaRN {@code rope.scaling.type} = "yarn", {@code rope.scaling.factor}, {@code
 * rope.scaling.original_context_length}, {@code rope.scaling.yarn_beta_fast}/{@code yarn_beta_slow} and {@code
 * rope.scaling.yarn_log_multiplier} = 0.1 * mscale_all_dim (llama.cpp's converter stores 0.1x and its deepseek2
 * loader divides by 0.1f). Plus {@code general.architecture} = "deepseek2" and {@code tokenizer.ggml.bos_token_id}
 * / {@code eos_token_id}.
 *
 * <p>jseek also writes {@code jseek.config}: the HF config.json text of the exported model. llama.cpp ignores it;
 * {@link #read} uses it for the fields llama.cpp has no key for (rope_scaling.mscale, which llama.cpp takes equal
 * to mscale_all_dim; seq_aux, aux_loss_alpha, initializer_range, torch_dtype) and for the exact double values that
 * the FLOAT32 keys round, but only after checking that it agrees with the {@code deepseek2.*} keys (integers
 * equal, floats equal after rounding to float32); a file whose keys were edited without it fails with a message
 * naming the field. A file without it (from llama.cpp) gets those fields from the keys alone: mscale =
 * mscale_all_dim = yarn_log_multiplier / 0.1f, num_key_value_heads = head_count, moe_layer_freq 1, defaults for
 * training-only fields.
 */
public final class Deepseek2Metadata {
    private Deepseek2Metadata() {}

    public static final String ARCH = "deepseek2";
    public static final String P = ARCH + ".";
    public static final String JSEEK_CONFIG = "jseek.config";
    /** llama.cpp's LLAMA_EXPERT_GATING_FUNC_TYPE_SOFTMAX (DeepSeek-V2) and _SIGMOID (DeepSeek-V3). */
    public static final int GATING_SOFTMAX = 1, GATING_SIGMOID = 2;

    /**
     * Writes the architecture keys of {@code c} with {@code mtpLayers} MTP layers exported (0 or
     * c.numNextnPredictLayers()) and {@code jseek.config}.
     */
    public static void write(ModelConfig c, int mtpLayers, GgufWriter w) {
        if (c.moeLayerFreq() != 1)
            throw new IllegalArgumentException("moe_layer_freq " + c.moeLayerFreq() + " cannot be exported: llama.cpp's deepseek2 makes every layer after "
                    + "leading_dense_block_count an MoE layer (moe_layer_freq 1)");
        w.put("general.architecture", GgufValue.string(ARCH));
        w.put(P + "block_count", GgufValue.u32(c.numHiddenLayers() + mtpLayers));
        w.put(P + "context_length", GgufValue.u32(c.maxPositionEmbeddings()));
        w.put(P + "embedding_length", GgufValue.u32(c.hiddenSize()));
        w.put(P + "feed_forward_length", GgufValue.u32(c.intermediateSize()));
        w.put(P + "attention.head_count", GgufValue.u32(c.numAttentionHeads()));
        w.put(P + "attention.head_count_kv", GgufValue.u32(1));
        w.put(P + "rope.freq_base", GgufValue.f32((float) c.ropeTheta()));
        w.put(P + "attention.layer_norm_rms_epsilon", GgufValue.f32((float) c.rmsNormEps()));
        w.put(P + "expert_used_count", GgufValue.u32(c.numExpertsPerTok()));
        w.put(P + "expert_group_count", GgufValue.u32(c.nGroup()));
        w.put(P + "expert_group_used_count", GgufValue.u32(c.topkGroup()));
        w.put(P + "leading_dense_block_count", GgufValue.u32(c.firstKDenseReplace()));
        w.put(P + "vocab_size", GgufValue.u32(c.vocabSize()));
        if (c.hasQLora()) w.put(P + "attention.q_lora_rank", GgufValue.u32(c.qLoraRank()));
        w.put(P + "attention.kv_lora_rank", GgufValue.u32(c.kvLoraRank()));
        w.put(P + "attention.key_length", GgufValue.u32(c.kvLoraRank() + c.qkRopeHeadDim()));
        w.put(P + "attention.value_length", GgufValue.u32(c.kvLoraRank()));
        w.put(P + "attention.key_length_mla", GgufValue.u32(c.qkHeadDim()));
        w.put(P + "attention.value_length_mla", GgufValue.u32(c.vHeadDim()));
        w.put(P + "expert_feed_forward_length", GgufValue.u32(c.moeIntermediateSize()));
        w.put(P + "expert_count", GgufValue.u32(c.nRoutedExperts()));
        w.put(P + "expert_shared_count", GgufValue.u32(c.nSharedExperts()));
        w.put(P + "expert_weights_scale", GgufValue.f32((float) c.routedScalingFactor()));
        w.put(P + "expert_weights_norm", GgufValue.bool(c.normTopkProb()));
        w.put(P + "expert_gating_func", GgufValue.u32("softmax".equals(c.scoringFunc()) ? GATING_SOFTMAX : GATING_SIGMOID));
        w.put(P + "rope.dimension_count", GgufValue.u32(c.qkRopeHeadDim()));
        if (mtpLayers > 0) w.put(P + "nextn_predict_layers", GgufValue.u32(mtpLayers));
        ModelConfig.RopeScaling r = c.ropeScaling();
        if (r != null) {
            w.put(P + "rope.scaling.type", GgufValue.string("yarn"));
            w.put(P + "rope.scaling.factor", GgufValue.f32((float) r.factor()));
            w.put(P + "rope.scaling.original_context_length", GgufValue.u32(r.originalMaxPositionEmbeddings()));
            w.put(P + "rope.scaling.yarn_beta_fast", GgufValue.f32((float) r.betaFast()));
            w.put(P + "rope.scaling.yarn_beta_slow", GgufValue.f32((float) r.betaSlow()));
            w.put(P + "rope.scaling.yarn_log_multiplier", GgufValue.f32(0.1f * (float) r.mscaleAllDim()));
        }
        w.put("tokenizer.ggml.bos_token_id", GgufValue.u32(c.bosTokenId()));
        w.put("tokenizer.ggml.eos_token_id", GgufValue.u32(c.eosTokenId()));
        w.put(JSEEK_CONFIG, GgufValue.string(exported(c, mtpLayers).toJson()));
    }

    /** The config as exported: {@code mtpLayers} MTP layers, no FP8 quantization_config (GGUF weights are not FP8). */
    public static ModelConfig exported(ModelConfig c, int mtpLayers) {
        return ConfigEdits.edit(c, o -> {
            o.put("num_nextn_predict_layers", mtpLayers);
            o.remove("quantization_config");
        });
    }

    /** The model config of a deepseek2 GGUF (see the class comment); {@link FormatException} naming the file and key. */
    public static ModelConfig read(GgufFile f) {
        Keys k = new Keys(f);
        String arch = k.str("general.architecture", null);
        if (!ARCH.equals(arch))
            throw new FormatException(f.path() + ": general.architecture is " + (arch == null ? "absent" : "'" + arch + "'")
                    + ", jseek runs 'deepseek2' (DeepSeek-V3) models");
        ModelConfig derived = derive(f, k);
        GgufValue js = f.get(JSEEK_CONFIG);
        if (js == null) return derived;
        if (js.type() != GgufValueType.STRING) throw new FormatException(f.path() + ": " + JSEEK_CONFIG + " must be a STRING, got " + js.type());
        ModelConfig stored;
        try {
            stored = ModelConfig.parse(js.asString(), null);
        } catch (ConfigException e) {
            throw new FormatException(f.path() + ": " + JSEEK_CONFIG + ": " + e.getMessage(), e);
        }
        List<String> diffs = differences(stored, derived);
        if (!diffs.isEmpty())
            throw new FormatException(f.path() + ": " + JSEEK_CONFIG + " disagrees with the " + P + "* keys (" + String.join("; ", diffs)
                    + "); remove " + JSEEK_CONFIG + " to use the keys alone");
        return stored;
    }

    private static ModelConfig derive(GgufFile f, Keys k) {
        int blocks = k.u32(P + "block_count");
        int nextn = k.u32(P + "nextn_predict_layers", 0);
        if (nextn > blocks)
            throw new FormatException(f.path() + ": " + P + "nextn_predict_layers " + nextn + " exceeds " + P + "block_count " + blocks);
        int heads = k.u32(P + "attention.head_count");
        int kvr = k.u32(P + "attention.kv_lora_rank");
        int rope = k.u32(P + "rope.dimension_count");
        int keyLen, valLen;
        if (f.get(P + "attention.key_length_mla") != null || f.get(P + "attention.value_length_mla") != null) {
            keyLen = k.u32(P + "attention.key_length_mla");
            valLen = k.u32(P + "attention.value_length_mla");
        } else { // legacy files (before llama.cpp's MLA split): per-head sizes in key_length / value_length
            keyLen = k.u32(P + "attention.key_length");
            valLen = k.u32(P + "attention.value_length");
        }
        if (keyLen <= rope)
            throw new FormatException(f.path() + ": key length " + keyLen + " must exceed " + P + "rope.dimension_count " + rope + " (qk_nope_head_dim > 0)");
        // absent: llama.cpp assumes softmax (files converted before the key existed were all DeepSeek-V2)
        long gating = k.u32(P + "expert_gating_func", GATING_SOFTMAX);
        if (gating != GATING_SIGMOID && gating != GATING_SOFTMAX)
            throw new FormatException(f.path() + ": " + P + "expert_gating_func is " + gating + "; jseek runs softmax ("
                    + GATING_SOFTMAX + ", DeepSeek-V2) and sigmoid (" + GATING_SIGMOID + ", DeepSeek-V3) routers");
        boolean softmax = gating == GATING_SOFTMAX;
        int nGroup = k.u32(P + "expert_group_count", 1);
        String topkMethod = !softmax ? "noaux_tc" : nGroup > 1 ? "group_limited_greedy" : "greedy";
        int vocab = f.get(P + "vocab_size") != null ? k.u32(P + "vocab_size")
                : f.get("tokenizer.ggml.tokens") != null ? f.get("tokenizer.ggml.tokens").asList().size()
                : (int) f.tensor("token_embd.weight").dims()[1];
        Integer qLora = f.get(P + "attention.q_lora_rank") == null || k.u32(P + "attention.q_lora_rank") == 0 ? null : k.u32(P + "attention.q_lora_rank");
        ModelConfig.RopeScaling rs = null;
        String type = k.str(P + "rope.scaling.type", "none");
        if (type.equals("yarn")) {
            double mAll = (float) k.f32(P + "rope.scaling.yarn_log_multiplier", 0f) / 0.1f; // float division, as llama.cpp
            rs = new ModelConfig.RopeScaling("yarn", k.f32(P + "rope.scaling.factor"), k.u32(P + "rope.scaling.original_context_length"),
                    k.f32(P + "rope.scaling.yarn_beta_fast", 32f), k.f32(P + "rope.scaling.yarn_beta_slow", 1f), mAll, mAll);
        } else if (!type.equals("none")) {
            throw new FormatException(f.path() + ": " + P + "rope.scaling.type '" + type + "' is not supported (only 'yarn' or 'none')");
        }
        int bos = k.u32("tokenizer.ggml.bos_token_id", 0), eos = k.u32("tokenizer.ggml.eos_token_id", 1);
        try {
            return new ModelConfig(vocab, k.u32(P + "embedding_length"), k.u32(P + "feed_forward_length"),
                    k.u32(P + "expert_feed_forward_length"), blocks - nextn, k.u32(P + "leading_dense_block_count", 0), 1,
                    heads, heads, qLora, kvr, keyLen - rope, rope, valLen,
                    k.u32(P + "expert_count"), k.u32(P + "expert_shared_count"), k.u32(P + "expert_used_count"),
                    nGroup, k.u32(P + "expert_group_used_count", 1),
                    k.f32(P + "expert_weights_scale", 1f), k.bool(P + "expert_weights_norm", false), softmax ? "softmax" : "sigmoid", topkMethod,
                    true, 0.001, "silu", k.f32(P + "attention.layer_norm_rms_epsilon"), k.f32(P + "rope.freq_base", 10000f),
                    k.u32(P + "context_length"), rs, nextn, f.has("token_embd.weight") && !f.has("output.weight"), false, bos, eos, 0.02, null, "bfloat16",
                    softmax ? "deepseek_v2" : "deepseek_v3");
        } catch (ConfigException e) {
            throw new FormatException(f.path() + ": the " + P + "* keys give an unusable config: " + e.getMessage(), e);
        }
    }

    /** Fields where a and b differ (integers exactly, floats after rounding to float32), as "field: a vs b". */
    static List<String> differences(ModelConfig a, ModelConfig b) {
        List<String> d = new ArrayList<>();
        i(d, "vocab_size", a.vocabSize(), b.vocabSize());
        i(d, "hidden_size", a.hiddenSize(), b.hiddenSize());
        i(d, "intermediate_size", a.intermediateSize(), b.intermediateSize());
        i(d, "moe_intermediate_size", a.moeIntermediateSize(), b.moeIntermediateSize());
        i(d, "num_hidden_layers", a.numHiddenLayers(), b.numHiddenLayers());
        i(d, "first_k_dense_replace", a.firstKDenseReplace(), b.firstKDenseReplace());
        i(d, "moe_layer_freq", a.moeLayerFreq(), b.moeLayerFreq());
        i(d, "num_attention_heads", a.numAttentionHeads(), b.numAttentionHeads());
        i(d, "q_lora_rank", a.qLoraRank() == null ? 0 : a.qLoraRank(), b.qLoraRank() == null ? 0 : b.qLoraRank());
        i(d, "kv_lora_rank", a.kvLoraRank(), b.kvLoraRank());
        i(d, "qk_nope_head_dim", a.qkNopeHeadDim(), b.qkNopeHeadDim());
        i(d, "qk_rope_head_dim", a.qkRopeHeadDim(), b.qkRopeHeadDim());
        i(d, "v_head_dim", a.vHeadDim(), b.vHeadDim());
        i(d, "n_routed_experts", a.nRoutedExperts(), b.nRoutedExperts());
        i(d, "n_shared_experts", a.nSharedExperts(), b.nSharedExperts());
        i(d, "num_experts_per_tok", a.numExpertsPerTok(), b.numExpertsPerTok());
        i(d, "n_group", a.nGroup(), b.nGroup());
        i(d, "topk_group", a.topkGroup(), b.topkGroup());
        f(d, "routed_scaling_factor", a.routedScalingFactor(), b.routedScalingFactor());
        i(d, "norm_topk_prob", a.normTopkProb() ? 1 : 0, b.normTopkProb() ? 1 : 0);
        if (!a.scoringFunc().equals(b.scoringFunc())) d.add("scoring_func: " + a.scoringFunc() + " vs " + b.scoringFunc());
        f(d, "rms_norm_eps", a.rmsNormEps(), b.rmsNormEps());
        f(d, "rope_theta", a.ropeTheta(), b.ropeTheta());
        i(d, "max_position_embeddings", a.maxPositionEmbeddings(), b.maxPositionEmbeddings());
        i(d, "num_nextn_predict_layers", a.numNextnPredictLayers(), b.numNextnPredictLayers());
        i(d, "tie_word_embeddings", a.tieWordEmbeddings() ? 1 : 0, b.tieWordEmbeddings() ? 1 : 0);
        i(d, "bos_token_id", a.bosTokenId(), b.bosTokenId());
        i(d, "eos_token_id", a.eosTokenId(), b.eosTokenId());
        ModelConfig.RopeScaling ra = a.ropeScaling(), rb = b.ropeScaling();
        if ((ra == null) != (rb == null)) d.add("rope_scaling: " + ra + " vs " + rb);
        else if (ra != null) {
            f(d, "rope_scaling.factor", ra.factor(), rb.factor());
            i(d, "rope_scaling.original_max_position_embeddings", ra.originalMaxPositionEmbeddings(), rb.originalMaxPositionEmbeddings());
            f(d, "rope_scaling.beta_fast", ra.betaFast(), rb.betaFast());
            f(d, "rope_scaling.beta_slow", ra.betaSlow(), rb.betaSlow());
            f(d, "rope_scaling.mscale_all_dim", ra.mscaleAllDim(), rb.mscaleAllDim());
        }
        return d;
    }

    private static void i(List<String> d, String field, long a, long b) { if (a != b) d.add(field + ": " + a + " vs " + b); }

    private static void f(List<String> d, String field, double a, double b) {
        // the keys hold float32 values; yarn_log_multiplier additionally went through x0.1 and /0.1 in float32
        if (Math.abs(a - b) > 4 * Math.ulp((float) Math.max(Math.abs(a), Math.abs(b)))) d.add(field + ": " + a + " vs " + b);
    }

    /** Typed access to metadata keys with errors naming the file and key. */
    private record Keys(GgufFile f) {
        private GgufValue get(String key, boolean required) {
            GgufValue v = f.get(key);
            if (v == null && required) throw new FormatException(f.path() + ": metadata key '" + key + "' is missing (required)");
            return v;
        }

        int u32(String key) { return toInt(key, get(key, true)); }

        int u32(String key, int dflt) { GgufValue v = get(key, false); return v == null ? dflt : toInt(key, v); }

        private int toInt(String key, GgufValue v) {
            if (!v.type().isInteger() || (Long) v.value() < 0 || (Long) v.value() > Integer.MAX_VALUE)
                throw new FormatException(f.path() + ": metadata key '" + key + "' must be a non-negative integer below 2^31, got "
                        + v.type() + " " + v.display(4));
            return (int) (long) (Long) v.value();
        }

        double f32(String key) { return toFloat(key, get(key, true)); }

        double f32(String key, float dflt) { GgufValue v = get(key, false); return v == null ? dflt : toFloat(key, v); }

        private double toFloat(String key, GgufValue v) {
            if (!v.type().isFloat()) throw new FormatException(f.path() + ": metadata key '" + key + "' must be a float, got " + v.type() + " " + v.display(4));
            return v.asDouble();
        }

        boolean bool(String key, boolean dflt) {
            GgufValue v = get(key, false);
            if (v == null) return dflt;
            if (v.type() != GgufValueType.BOOL) throw new FormatException(f.path() + ": metadata key '" + key + "' must be a BOOL, got " + v.type() + " " + v.display(4));
            return v.asBool();
        }

        String str(String key, String dflt) {
            GgufValue v = get(key, false);
            if (v == null) return dflt;
            if (v.type() != GgufValueType.STRING) throw new FormatException(f.path() + ": metadata key '" + key + "' must be a STRING, got " + v.type() + " " + v.display(4));
            return v.asString();
        }
    }
}
