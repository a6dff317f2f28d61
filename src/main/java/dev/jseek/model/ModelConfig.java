package dev.jseek.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import dev.jseek.kernels.Router;
import java.util.List;
import java.util.function.BiFunction;

/**
 * The architecture of a DeepSeek-V3 model, read from (and written as) a Hugging Face {@code config.json} (docs/architecture.md §2.1).
 * Component names are the HF field names in camel case ({@code kv_lora_rank} -> {@link #kvLoraRank}).
 *
 * <p>Every instance is validated on construction: a value jseek cannot run (wrong range, inconsistent MoE grouping,
 * an unsupported router/activation, a non-YaRN rope scaling, attention biases) throws {@link ConfigException}
 * naming the field and value; {@link #load(Path)} adds the file name. Unknown JSON fields are ignored.
 *
 * @param qLoraRank           query latent rank d_c'; null = no query compression (a single q_proj)
 * @param ropeScaling         YaRN parameters (report §4.3); null = plain RoPE
 * @param quantizationConfig  FP8 block quantization of the checkpoint (docs/architecture.md §2.3); null = unquantized
 */
public record ModelConfig(
        int vocabSize, int hiddenSize, int intermediateSize, int moeIntermediateSize,
        int numHiddenLayers, int firstKDenseReplace, int moeLayerFreq,
        int numAttentionHeads, int numKeyValueHeads,
        Integer qLoraRank, int kvLoraRank, int qkNopeHeadDim, int qkRopeHeadDim, int vHeadDim,
        int nRoutedExperts, int nSharedExperts, int numExpertsPerTok, int nGroup, int topkGroup,
        double routedScalingFactor, boolean normTopkProb, String scoringFunc, String topkMethod,
        boolean seqAux, double auxLossAlpha, String hiddenAct, double rmsNormEps,
        double ropeTheta, int maxPositionEmbeddings, RopeScaling ropeScaling,
        int numNextnPredictLayers, boolean tieWordEmbeddings, boolean attentionBias,
        int bosTokenId, int eosTokenId, double initializerRange,
        QuantizationConfig quantizationConfig, String torchDtype, String modelType) {

    /** The {@code model_type} values jseek reads: DeepSeek-V2/V2-Lite, DeepSeek-V3/R1 and Moonlight, Kimi-K2. */
    public static final List<String> MODEL_TYPES = List.of("deepseek_v2", "deepseek_v3", "kimi_k2");

    /**
     * YaRN context extension (report §4.3; HF {@code rope_scaling}). {@code mscale}/{@code mscaleAllDim} follow HF: an
     * absent field reads as 0, and the pair drives the cos/sin attention factor and the softmax-scale correction.
     */
    public record RopeScaling(String type, double factor, int originalMaxPositionEmbeddings,
                              double betaFast, double betaSlow, double mscale, double mscaleAllDim) {}

    /** FP8 block quantization ({@code quantization_config}, docs/architecture.md §2.3): e4m3 weights with 128x128 scales. */
    public record QuantizationConfig(String quantMethod, String fmt, String activationScheme, List<Integer> weightBlockSize) {
        public QuantizationConfig { weightBlockSize = List.copyOf(weightBlockSize); }
    }

    /** Assigns and validates (see the class comment); throws {@link ConfigException} naming the bad field. */
    public ModelConfig(
            int vocabSize,
            int hiddenSize,
            int intermediateSize,
            int moeIntermediateSize,
            int numHiddenLayers,
            int firstKDenseReplace,
            int moeLayerFreq,
            int numAttentionHeads,
            int numKeyValueHeads,
            Integer qLoraRank,
            int kvLoraRank,
            int qkNopeHeadDim,
            int qkRopeHeadDim,
            int vHeadDim,
            int nRoutedExperts,
            int nSharedExperts,
            int numExpertsPerTok,
            int nGroup,
            int topkGroup,
            double routedScalingFactor,
            boolean normTopkProb,
            String scoringFunc,
            String topkMethod,
            boolean seqAux,
            double auxLossAlpha,
            String hiddenAct,
            double rmsNormEps,
            double ropeTheta,
            int maxPositionEmbeddings,
            RopeScaling ropeScaling,
            int numNextnPredictLayers,
            boolean tieWordEmbeddings,
            boolean attentionBias,
            int bosTokenId,
            int eosTokenId,
            double initializerRange,
            QuantizationConfig quantizationConfig,
            String torchDtype,
            String modelType) {
        this.vocabSize = vocabSize;
        this.hiddenSize = hiddenSize;
        this.intermediateSize = intermediateSize;
        this.moeIntermediateSize = moeIntermediateSize;
        this.numHiddenLayers = numHiddenLayers;
        this.firstKDenseReplace = firstKDenseReplace;
        this.moeLayerFreq = moeLayerFreq;
        this.numAttentionHeads = numAttentionHeads;
        this.numKeyValueHeads = numKeyValueHeads;
        this.qLoraRank = qLoraRank;
        this.kvLoraRank = kvLoraRank;
        this.qkNopeHeadDim = qkNopeHeadDim;
        this.qkRopeHeadDim = qkRopeHeadDim;
        this.vHeadDim = vHeadDim;
        this.nRoutedExperts = nRoutedExperts;
        this.nSharedExperts = nSharedExperts;
        this.numExpertsPerTok = numExpertsPerTok;
        this.nGroup = nGroup;
        this.topkGroup = topkGroup;
        this.routedScalingFactor = routedScalingFactor;
        this.normTopkProb = normTopkProb;
        this.scoringFunc = scoringFunc;
        this.topkMethod = topkMethod;
        this.seqAux = seqAux;
        this.auxLossAlpha = auxLossAlpha;
        this.hiddenAct = hiddenAct;
        this.rmsNormEps = rmsNormEps;
        this.ropeTheta = ropeTheta;
        this.maxPositionEmbeddings = maxPositionEmbeddings;
        this.ropeScaling = ropeScaling;
        this.numNextnPredictLayers = numNextnPredictLayers;
        this.tieWordEmbeddings = tieWordEmbeddings;
        this.attentionBias = attentionBias;
        this.bosTokenId = bosTokenId;
        this.eosTokenId = eosTokenId;
        this.initializerRange = initializerRange;
        this.quantizationConfig = quantizationConfig;
        this.torchDtype = torchDtype;
        this.modelType = modelType;
        validate();
    }

    // ---------------------------------------------------------------- derived values

    /** d_h + d_h^R: the per-head query/key width of the naive form (192 for V3). */
    public int qkHeadDim() { return qkNopeHeadDim + qkRopeHeadDim; }

    /** True when queries go through q_a_proj / q_a_layernorm / q_b_proj (docs/architecture.md §3.1). */
    public boolean hasQLora() { return qLoraRank != null; }

    /**
     * Attention softmax scale σ = qkHeadDim^-0.5 · m² with m = 0.1·mscale_all_dim·ln(factor) + 1 when YaRN is on
     * (docs/architecture.md §3.1, §4.3): 0.1352338 for V3.
     */
    public double softmaxScale() {
        double s = 1.0 / Math.sqrt(qkHeadDim());
        if (ropeScaling != null && ropeScaling.mscaleAllDim() != 0) {
            double m = Rope.yarnMscale(ropeScaling.factor(), ropeScaling.mscaleAllDim());
            s *= m * m;
        }
        return s;
    }

    /** Whether main layer i uses the MoE FFN (HF rule: i >= first_k_dense_replace and i % moe_layer_freq == 0). */
    public boolean isMoeLayer(int i) { return i >= firstKDenseReplace && i % moeLayerFreq == 0; }

    /** Experts per routing group (32 for V3). */
    public int expertsPerGroup() { return nRoutedExperts / nGroup; }

    /**
     * True when the MoE layers carry the aux-loss-free selection bias {@code mlp.gate.e_score_correction_bias}
     * (topk_method "noaux_tc", DeepSeek-V3 and its descendants); DeepSeek-V2's greedy routers have none.
     */
    public boolean hasRouterBias() { return "noaux_tc".equals(topkMethod); }

    /**
     * The routing rule of this config ({@link Router}; report §2.1.2 for V3). For DeepSeek-V2's topk_methods the
     * weights follow V2's code: normalised without routed_scaling_factor when norm_topk_prob and K > 1, otherwise
     * routed_scaling_factor times the score.
     */
    public Router router() {
        float rsf = (float) routedScalingFactor;
        return switch (topkMethod) {
            case "noaux_tc" -> new Router(Router.Scoring.SIGMOID, Router.Selection.NOAUX_TC, nRoutedExperts, numExpertsPerTok,
                    nGroup, topkGroup, normTopkProb, rsf);
            default -> {
                boolean norm = normTopkProb && numExpertsPerTok > 1;
                yield new Router(Router.Scoring.SOFTMAX, "greedy".equals(topkMethod) ? Router.Selection.GREEDY
                        : Router.Selection.GROUP_LIMITED_GREEDY, nRoutedExperts, numExpertsPerTok,
                        nGroup, topkGroup, norm, norm ? 1f : rsf);
            }
        };
    }

    // ---------------------------------------------------------------- JSON

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** The largest max_position_embeddings accepted (2^20): a context beyond it is a typo, not a model. */
    public static final int MAX_POSITIONS = 1 << 20;

    /** Reads and validates a config.json; errors name the file. */
    public static ModelConfig load(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ConfigException(file, "file not found", e);
        } catch (IOException e) {
            throw new ConfigException(file, "cannot read: " + e.getMessage(), e);
        }
        return parse(text, file);
    }

    /** Parses config JSON text; {@code file} (may be null) is only used in error messages. */
    public static ModelConfig parse(String json, Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new ConfigException(file, "not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) throw new ConfigException(file, "not a JSON object", (Throwable) null);
        Fields f = new Fields(file, root, "");
        try {
            return new ModelConfig(
                    f.reqInt("vocab_size"), f.reqInt("hidden_size"), f.reqInt("intermediate_size"),
                    f.reqInt("moe_intermediate_size"), f.reqInt("num_hidden_layers"), f.reqInt("first_k_dense_replace"),
                    f.optInt("moe_layer_freq", 1), f.reqInt("num_attention_heads"),
                    f.optInt("num_key_value_heads", f.reqInt("num_attention_heads")),
                    f.reqNullableInt("q_lora_rank"), f.reqInt("kv_lora_rank"), f.reqInt("qk_nope_head_dim"),
                    f.reqInt("qk_rope_head_dim"), f.reqInt("v_head_dim"),
                    f.reqInt("n_routed_experts"), f.reqInt("n_shared_experts"), f.reqInt("num_experts_per_tok"),
                    f.reqInt("n_group"), f.reqInt("topk_group"), f.reqDouble("routed_scaling_factor"),
                    f.reqBool("norm_topk_prob"), f.reqString("scoring_func"), f.reqString("topk_method"),
                    f.optBool("seq_aux", true), f.optDouble("aux_loss_alpha", 0.001), f.reqString("hidden_act"),
                    f.reqDouble("rms_norm_eps"), f.reqDouble("rope_theta"), f.reqInt("max_position_embeddings"),
                    parseRopeScaling(f), f.optInt("num_nextn_predict_layers", 0),
                    f.optBool("tie_word_embeddings", false), f.optBool("attention_bias", false),
                    f.optInt("bos_token_id", 0), f.optInt("eos_token_id", 1), f.optDouble("initializer_range", 0.02),
                    parseQuantization(f), f.optString("torch_dtype", "bfloat16"), f.optString("model_type", "deepseek_v3"));
        } catch (ConfigException e) {
            throw e.inFile(file);
        }
    }

    private static RopeScaling parseRopeScaling(Fields f) {
        Fields r = f.object("rope_scaling");
        if (r == null) return null;
        String type = r.has("type") ? r.reqString("type") : r.has("rope_type") ? r.reqString("rope_type") : r.reqString("type");
        return new RopeScaling(type, r.reqDouble("factor"), r.reqInt("original_max_position_embeddings"),
                r.optDouble("beta_fast", 32), r.optDouble("beta_slow", 1),
                r.optDouble("mscale", 0), r.optDouble("mscale_all_dim", 0));
    }

    private static QuantizationConfig parseQuantization(Fields f) {
        Fields q = f.object("quantization_config");
        if (q == null) return null;
        return new QuantizationConfig(q.reqString("quant_method"), q.optString("fmt", "e4m3"),
                q.optString("activation_scheme", "dynamic"), q.reqIntList("weight_block_size"));
    }

    /** This config as HF config.json text (with architectures/model_type so HF can load it too). */
    public String toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.putArray("architectures").add(modelType.equals("deepseek_v2") ? "DeepseekV2ForCausalLM" : "DeepseekV3ForCausalLM");
        o.put("model_type", modelType);
        o.put("vocab_size", vocabSize);
        o.put("hidden_size", hiddenSize);
        o.put("intermediate_size", intermediateSize);
        o.put("moe_intermediate_size", moeIntermediateSize);
        o.put("num_hidden_layers", numHiddenLayers);
        o.put("first_k_dense_replace", firstKDenseReplace);
        o.put("moe_layer_freq", moeLayerFreq);
        o.put("num_attention_heads", numAttentionHeads);
        o.put("num_key_value_heads", numKeyValueHeads);
        if (qLoraRank == null) o.putNull("q_lora_rank"); else o.put("q_lora_rank", qLoraRank);
        o.put("kv_lora_rank", kvLoraRank);
        o.put("qk_nope_head_dim", qkNopeHeadDim);
        o.put("qk_rope_head_dim", qkRopeHeadDim);
        o.put("v_head_dim", vHeadDim);
        o.put("n_routed_experts", nRoutedExperts);
        o.put("n_shared_experts", nSharedExperts);
        o.put("num_experts_per_tok", numExpertsPerTok);
        o.put("n_group", nGroup);
        o.put("topk_group", topkGroup);
        o.put("routed_scaling_factor", routedScalingFactor);
        o.put("norm_topk_prob", normTopkProb);
        o.put("scoring_func", scoringFunc);
        o.put("topk_method", topkMethod);
        o.put("seq_aux", seqAux);
        o.put("aux_loss_alpha", auxLossAlpha);
        o.put("hidden_act", hiddenAct);
        o.put("rms_norm_eps", rmsNormEps);
        o.put("rope_theta", ropeTheta);
        o.put("max_position_embeddings", maxPositionEmbeddings);
        if (ropeScaling == null) o.putNull("rope_scaling");
        else {
            ObjectNode r = o.putObject("rope_scaling");
            r.put("type", ropeScaling.type());
            r.put("factor", ropeScaling.factor());
            r.put("original_max_position_embeddings", ropeScaling.originalMaxPositionEmbeddings());
            r.put("beta_fast", ropeScaling.betaFast());
            r.put("beta_slow", ropeScaling.betaSlow());
            r.put("mscale", ropeScaling.mscale());
            r.put("mscale_all_dim", ropeScaling.mscaleAllDim());
        }
        o.put("num_nextn_predict_layers", numNextnPredictLayers);
        o.put("tie_word_embeddings", tieWordEmbeddings);
        o.put("attention_bias", attentionBias);
        o.put("bos_token_id", bosTokenId);
        o.put("eos_token_id", eosTokenId);
        o.put("initializer_range", initializerRange);
        if (quantizationConfig != null) {
            ObjectNode q = o.putObject("quantization_config");
            q.put("activation_scheme", quantizationConfig.activationScheme());
            q.put("fmt", quantizationConfig.fmt());
            q.put("quant_method", quantizationConfig.quantMethod());
            ArrayNode b = q.putArray("weight_block_size");
            quantizationConfig.weightBlockSize().forEach(b::add);
        }
        o.put("torch_dtype", torchDtype);
        try {
            return JSON.writeValueAsString(o) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes {@link #toJson()} to {@code file} atomically (temp file in the same folder, then rename). */
    public void save(Path file) {
        Path abs = file.toAbsolutePath();
        try {
            Path tmp = Files.createTempFile(abs.getParent(), abs.getFileName().toString(), ".tmp");
            try {
                Files.writeString(tmp, toJson(), StandardCharsets.UTF_8);
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    // ---------------------------------------------------------------- validation

    private void validate() {
        positive("vocab_size", vocabSize);
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("moe_intermediate_size", moeIntermediateSize);
        positive("num_hidden_layers", numHiddenLayers);
        positive("num_attention_heads", numAttentionHeads);
        positive("num_key_value_heads", numKeyValueHeads);
        if (qLoraRank != null) positive("q_lora_rank", qLoraRank);
        positive("kv_lora_rank", kvLoraRank);
        positive("qk_nope_head_dim", qkNopeHeadDim);
        positive("qk_rope_head_dim", qkRopeHeadDim);
        if (qkRopeHeadDim % 2 != 0) fail("qk_rope_head_dim", qkRopeHeadDim + " must be even (RoPE rotates pairs)");
        positive("v_head_dim", vHeadDim);
        positive("n_routed_experts", nRoutedExperts);
        if (nSharedExperts < 0) fail("n_shared_experts", nSharedExperts + " must be >= 0");
        positive("num_experts_per_tok", numExpertsPerTok);
        positive("n_group", nGroup);
        positive("topk_group", topkGroup);
        if (nRoutedExperts % nGroup != 0)
            fail("n_group", nGroup + " does not divide n_routed_experts " + nRoutedExperts);
        if (topkGroup > nGroup) fail("topk_group", topkGroup + " exceeds n_group " + nGroup);
        long available = "greedy".equals(topkMethod) ? nRoutedExperts : (long) topkGroup * (nRoutedExperts / nGroup);
        if (numExpertsPerTok > available && "greedy".equals(topkMethod))
            fail("num_experts_per_tok", numExpertsPerTok + " exceeds n_routed_experts " + nRoutedExperts);
        if (numExpertsPerTok > available)
            fail("num_experts_per_tok", numExpertsPerTok + " exceeds the " + available
                    + " experts in topk_group " + topkGroup + " groups of " + (nRoutedExperts / nGroup));
        if (firstKDenseReplace < 0 || firstKDenseReplace > numHiddenLayers)
            fail("first_k_dense_replace", firstKDenseReplace + " is outside 0.." + numHiddenLayers);
        positive("moe_layer_freq", moeLayerFreq);
        if (!(routedScalingFactor > 0) || Double.isInfinite(routedScalingFactor))
            fail("routed_scaling_factor", routedScalingFactor + " must be a positive finite number");
        if (!MODEL_TYPES.contains(modelType))
            fail("model_type", "\"" + modelType + "\" is not supported (jseek runs " + String.join(", ", MODEL_TYPES) + ")");
        if (!"sigmoid".equals(scoringFunc) && !"softmax".equals(scoringFunc))
            fail("scoring_func", "\"" + scoringFunc + "\" is not supported (\"sigmoid\": DeepSeek-V3, \"softmax\": DeepSeek-V2)");
        if (!List.of("noaux_tc", "greedy", "group_limited_greedy").contains(topkMethod))
            fail("topk_method", "\"" + topkMethod + "\" is not supported (\"noaux_tc\": DeepSeek-V3; \"greedy\", \"group_limited_greedy\": DeepSeek-V2)");
        if ("noaux_tc".equals(topkMethod) && !"sigmoid".equals(scoringFunc))
            fail("scoring_func", "\"" + scoringFunc + "\" with topk_method \"noaux_tc\" is not supported (DeepSeek-V3's noaux_tc scores with \"sigmoid\")");
        if (!"noaux_tc".equals(topkMethod) && !"softmax".equals(scoringFunc))
            fail("scoring_func", "\"" + scoringFunc + "\" with topk_method \"" + topkMethod + "\" is not supported (DeepSeek-V2's " + topkMethod + " scores with \"softmax\")");
        if (!"silu".equals(hiddenAct))
            fail("hidden_act", "\"" + hiddenAct + "\" is not supported (DeepSeek-V3 uses \"silu\")");
        if (!(auxLossAlpha >= 0) || Double.isInfinite(auxLossAlpha))
            fail("aux_loss_alpha", auxLossAlpha + " must be a finite number >= 0");
        if (!(rmsNormEps > 0) || rmsNormEps >= 1) fail("rms_norm_eps", rmsNormEps + " must be in (0, 1)");
        if (!(ropeTheta > 1) || Double.isInfinite(ropeTheta)) fail("rope_theta", ropeTheta + " must be a finite number > 1");
        positive("max_position_embeddings", maxPositionEmbeddings);
        if (maxPositionEmbeddings > MAX_POSITIONS)
            fail("max_position_embeddings", maxPositionEmbeddings + " exceeds " + MAX_POSITIONS + " (2^20; DeepSeek-V3 has 163840)");
        if (numNextnPredictLayers < 0) fail("num_nextn_predict_layers", numNextnPredictLayers + " must be >= 0");
        if (attentionBias) fail("attention_bias", "true is not supported (DeepSeek-V3 linear layers have no biases)");
        if (bosTokenId < 0 || bosTokenId >= vocabSize)
            fail("bos_token_id", bosTokenId + " is outside the vocabulary 0.." + (vocabSize - 1));
        if (eosTokenId < 0 || eosTokenId >= vocabSize)
            fail("eos_token_id", eosTokenId + " is outside the vocabulary 0.." + (vocabSize - 1));
        if (!(initializerRange > 0) || Double.isInfinite(initializerRange))
            fail("initializer_range", initializerRange + " must be a positive finite number");
        // Sizes used as int array lengths / offsets inside one token row.
        intProduct("num_attention_heads", numAttentionHeads, qkNopeHeadDim + qkRopeHeadDim);
        intProduct("num_attention_heads", numAttentionHeads, qkNopeHeadDim + vHeadDim);
        intProduct("num_attention_heads", numAttentionHeads, kvLoraRank);
        intProduct("hidden_size", hiddenSize, 2);
        intProduct("n_routed_experts", nRoutedExperts, numExpertsPerTok);
        intProduct("moe_intermediate_size", moeIntermediateSize, Math.max(1, nSharedExperts));
        RopeScaling r = ropeScaling;
        if (r != null) {
            if (!"yarn".equals(r.type()))
                fail("rope_scaling.type", "\"" + r.type() + "\" is not supported (only \"yarn\", or rope_scaling null)");
            if (!(r.factor() >= 1) || Double.isInfinite(r.factor()))
                fail("rope_scaling.factor", r.factor() + " must be a finite number >= 1");
            positive("rope_scaling.original_max_position_embeddings", r.originalMaxPositionEmbeddings());
            if (!(r.betaSlow() > 0) || Double.isInfinite(r.betaSlow()))
                fail("rope_scaling.beta_slow", r.betaSlow() + " must be a positive finite number");
            if (!(r.betaFast() >= r.betaSlow()) || Double.isInfinite(r.betaFast()))
                fail("rope_scaling.beta_fast", r.betaFast() + " must be finite and at least beta_slow " + r.betaSlow() + " (Kimi-K2 has both 1.0)");
            if (!(r.mscale() >= 0) || Double.isInfinite(r.mscale()))
                fail("rope_scaling.mscale", r.mscale() + " must be a finite number >= 0");
            if (!(r.mscaleAllDim() >= 0) || Double.isInfinite(r.mscaleAllDim()))
                fail("rope_scaling.mscale_all_dim", r.mscaleAllDim() + " must be a finite number >= 0");
        }
        QuantizationConfig q = quantizationConfig;
        if (q != null) {
            if (!"fp8".equals(q.quantMethod()))
                fail("quantization_config.quant_method", "\"" + q.quantMethod() + "\" is not supported (only \"fp8\")");
            if (!"e4m3".equals(q.fmt()))
                fail("quantization_config.fmt", "\"" + q.fmt() + "\" is not supported (only \"e4m3\")");
            if (!q.weightBlockSize().equals(List.of(128, 128)))
                fail("quantization_config.weight_block_size", q.weightBlockSize() + " is not supported (only [128, 128])");
        }
    }

    private static void positive(String field, int v) { if (v <= 0) fail(field, v + " must be > 0"); }

    private static void intProduct(String field, int a, int b) {
        if ((long) a * b > Integer.MAX_VALUE - 8) fail(field, a + " is too large (" + a + " x " + b + " overflows an int)");
    }

    private static void fail(String field, String problem) { throw new ConfigException(null, field, problem); }

    /** Typed access to the fields of one JSON object, with errors that name the file and the (dotted) field. */
    private record Fields(Path file, JsonNode node, String prefix) {
        boolean has(String k) { return node.has(k); }

        private JsonNode req(String k) {
            JsonNode v = node.get(k);
            if (v == null) throw new ConfigException(file, prefix + k, "missing (required)");
            return v;
        }

        private ConfigException wrong(String k, String want, JsonNode v) {
            return new ConfigException(file, prefix + k, "expected " + want + ", got " + v);
        }

        int reqInt(String k) { return toInt(k, req(k)); }

        /**
         * Field {@code k} read by {@code to}, or {@code dflt} when it is absent or, where {@code nullIsAbsent}, JSON
         * null (elsewhere a JSON null is the wrong type).
         */
        private <T> T opt(String k, T dflt, boolean nullIsAbsent, BiFunction<String, JsonNode, T> to) {
            JsonNode v = node.get(k);
            return v == null || (nullIsAbsent && v.isNull()) ? dflt : to.apply(k, v);
        }

        int optInt(String k, int dflt) { return opt(k, dflt, false, this::toInt); }

        Integer reqNullableInt(String k) { JsonNode v = req(k); return v.isNull() ? null : toInt(k, v); }

        private int toInt(String k, JsonNode v) {
            if (!v.isIntegralNumber() || !v.canConvertToInt()) throw wrong(k, "an integer", v);
            return v.intValue();
        }

        double reqDouble(String k) { return toDouble(k, req(k)); }

        double optDouble(String k, double dflt) { return opt(k, dflt, true, this::toDouble); }

        private double toDouble(String k, JsonNode v) {
            if (!v.isNumber()) throw wrong(k, "a number", v);
            return v.doubleValue();
        }

        boolean reqBool(String k) { return toBool(k, req(k)); }

        boolean optBool(String k, boolean dflt) { return opt(k, dflt, false, this::toBool); }

        private boolean toBool(String k, JsonNode v) {
            if (!v.isBoolean()) throw wrong(k, "true or false", v);
            return v.booleanValue();
        }

        String reqString(String k) { return toStr(k, req(k)); }

        String optString(String k, String dflt) { return opt(k, dflt, true, this::toStr); }

        private String toStr(String k, JsonNode v) {
            if (!v.isTextual()) throw wrong(k, "a string", v);
            return v.textValue();
        }

        List<Integer> reqIntList(String k) {
            JsonNode v = req(k);
            if (!v.isArray()) throw wrong(k, "an array of integers", v);
            Integer[] out = new Integer[v.size()];
            for (int i = 0; i < out.length; i++) {
                JsonNode e = v.get(i);
                if (!e.isIntegralNumber() || !e.canConvertToInt()) throw wrong(k, "an array of integers", v);
                out[i] = e.intValue();
            }
            return List.of(out);
        }

        /** A nested object, or null when the field is absent or JSON null. */
        Fields object(String k) {
            JsonNode v = node.get(k);
            if (v == null || v.isNull()) return null;
            if (!v.isObject()) throw wrong(k, "an object or null", v);
            return new Fields(file, v, prefix + k + ".");
        }
    }
}
