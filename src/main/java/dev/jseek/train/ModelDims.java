package dev.jseek.train;

/**
 * The dimensions and hyper-parameters of a DeepSeek-V3 model that the trainer needs (spec A.1), named after the
 * Hugging Face {@code config.json} fields. It holds no parsing: a config reader fills it (see {@code of} factories
 * added when {@code dev.jseek.model.ModelConfig} lands). {@code qLoraRank == 0} means no query compression
 * ({@code q_proj}); {@code nRoutedExperts == 0} means every layer is dense; {@code yarn == null} means plain RoPE.
 *
 * <p>YaRN and the attention temperature follow Hugging Face (spec C.3, J.7): cos/sin are multiplied by
 * {@link #ropeAttentionFactor()} (1.0 for V3) and the softmax scale is {@code qk_head_dim^-0.5 * m^2} with
 * {@code m = 0.1 * mscale_all_dim * ln(factor) + 1} ({@link #softmaxScale()}).
 */
public record ModelDims(
        int vocabSize, int hiddenSize, int intermediateSize, int moeIntermediateSize,
        int numHiddenLayers, int firstKDenseReplace, int moeLayerFreq,
        int numAttentionHeads, int qLoraRank, int kvLoraRank,
        int qkNopeHeadDim, int qkRopeHeadDim, int vHeadDim,
        int nRoutedExperts, int nSharedExperts, int numExpertsPerTok, int nGroup, int topkGroup,
        float routedScalingFactor, boolean normTopkProb, float rmsNormEps,
        double ropeTheta, Yarn yarn, int numNextnPredictLayers) {

    /**
     * {@code rope_scaling} of type "yarn" (spec C). {@code mscale}/{@code mscaleAllDim} are 0 when absent;
     * {@code attentionFactor} is NaN when absent (then derived as Hugging Face does).
     */
    public record Yarn(double factor, int originalMaxPositionEmbeddings, double betaFast, double betaSlow,
                       double mscale, double mscaleAllDim, double attentionFactor) {
        public Yarn {
            if (!(factor > 0)) throw new IllegalArgumentException("rope_scaling.factor must be > 0, got " + factor);
            if (originalMaxPositionEmbeddings <= 0)
                throw new IllegalArgumentException("rope_scaling.original_max_position_embeddings must be > 0, got " + originalMaxPositionEmbeddings);
        }
    }

    public ModelDims {
        positive("vocab_size", vocabSize);
        positive("hidden_size", hiddenSize);
        positive("num_hidden_layers", numHiddenLayers);
        positive("num_attention_heads", numAttentionHeads);
        positive("kv_lora_rank", kvLoraRank);
        positive("qk_rope_head_dim", qkRopeHeadDim);
        positive("v_head_dim", vHeadDim);
        nonNegative("qk_nope_head_dim", qkNopeHeadDim);
        nonNegative("q_lora_rank", qLoraRank);
        nonNegative("num_nextn_predict_layers", numNextnPredictLayers);
        nonNegative("n_routed_experts", nRoutedExperts);
        if (qkRopeHeadDim % 2 != 0) throw new IllegalArgumentException("qk_rope_head_dim must be even, got " + qkRopeHeadDim);
        if (!(rmsNormEps >= 0)) throw new IllegalArgumentException("rms_norm_eps must be >= 0, got " + rmsNormEps);
        if (!(ropeTheta > 0)) throw new IllegalArgumentException("rope_theta must be > 0, got " + ropeTheta);
        boolean anyDense = false;
        for (int l = 0; l < numHiddenLayers + numNextnPredictLayers; l++) anyDense |= !moeLayer(l, nRoutedExperts, firstKDenseReplace, moeLayerFreq);
        if (anyDense) positive("intermediate_size", intermediateSize);
        if (nRoutedExperts > 0) {
            positive("moe_intermediate_size", moeIntermediateSize);
            positive("moe_layer_freq", moeLayerFreq);
            nonNegative("n_shared_experts", nSharedExperts);
            positive("n_group", nGroup);
            if (nRoutedExperts % nGroup != 0)
                throw new IllegalArgumentException("n_routed_experts " + nRoutedExperts + " is not a multiple of n_group " + nGroup);
            if (topkGroup < 1 || topkGroup > nGroup)
                throw new IllegalArgumentException("topk_group must be in [1, n_group=" + nGroup + "], got " + topkGroup);
            int reachable = topkGroup * (nRoutedExperts / nGroup);
            if (numExpertsPerTok < 1 || numExpertsPerTok > reachable)
                throw new IllegalArgumentException("num_experts_per_tok must be in [1, " + reachable + "], got " + numExpertsPerTok);
        }
    }

    private static void positive(String f, int v) { if (v <= 0) throw new IllegalArgumentException(f + " must be > 0, got " + v); }
    private static void nonNegative(String f, int v) { if (v < 0) throw new IllegalArgumentException(f + " must be >= 0, got " + v); }

    private static boolean moeLayer(int l, int nRouted, int firstK, int freq) {
        return nRouted > 0 && l >= firstK && freq > 0 && l % freq == 0;
    }

    /** qk_nope_head_dim + qk_rope_head_dim (192 for V3). */
    public int qkHeadDim() { return qkNopeHeadDim + qkRopeHeadDim; }

    /** Whether layer {@code layer} (0-based HF id; MTP layers continue after the main ones) has an MoE FFN. */
    public boolean isMoeLayer(int layer) { return moeLayer(layer, nRoutedExperts, firstKDenseReplace, moeLayerFreq); }

    /** YaRN mscale: 0.1 * mscale * ln(scale) + 1, or 1 for scale <= 1 (spec C.3). */
    public static double yarnMscale(double scale, double mscale) {
        return scale <= 1 ? 1.0 : 0.1 * mscale * Math.log(scale) + 1.0;
    }

    /** The factor Hugging Face multiplies cos/sin with (1.0 for V3; spec C.3, J.7). */
    public double ropeAttentionFactor() {
        if (yarn == null) return 1.0;
        if (!Double.isNaN(yarn.attentionFactor())) return yarn.attentionFactor();
        if (yarn.mscale() != 0 && yarn.mscaleAllDim() != 0)
            return yarnMscale(yarn.factor(), yarn.mscale()) / yarnMscale(yarn.factor(), yarn.mscaleAllDim());
        return yarnMscale(yarn.factor(), 1.0);
    }

    /** Softmax scale qk_head_dim^-0.5 * m^2 (spec B.1 item 4, C.3); 0.1352338 for V3. */
    public double softmaxScale() {
        double s = 1.0 / Math.sqrt(qkHeadDim());
        if (yarn != null && yarn.mscaleAllDim() != 0) {
            double m = yarnMscale(yarn.factor(), yarn.mscaleAllDim());
            s *= m * m;
        }
        return s;
    }
}
