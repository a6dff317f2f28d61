package dev.jseek.model;

import java.util.ArrayList;
import java.util.List;

/**
 * Every tensor of a DeepSeek-V3 checkpoint in the Hugging Face layout (docs/architecture.md §2.2), computed from the config alone:
 * name, shape [out, in] and role. {@code init} writes a random model from it and {@code inspect} counts parameters
 * from it without allocating weights. The MTP module {@code i} is layer {@code num_hidden_layers + i}; its
 * {@code embed_tokens} and {@code shared_head.head} are copies of the main embedding and head, as in the official
 * release (listed with role {@link Role#MTP_COPY}).
 */
public final class WeightLayout {
    /** What a tensor is; decides its initialization and whether the FP8 release format quantizes it (docs/architecture.md §2.3). */
    public enum Role {
        EMBEDDING, HEAD, NORM, LINEAR, ROUTER, ROUTER_BIAS, EH_PROJ, MTP_COPY;

        /** True for the Linear weights the official FP8 checkpoint stores as F8_E4M3 with 128x128 scales. */
        public boolean fp8InRelease() { return this == LINEAR; }
    }

    /** One tensor. {@code layer} is -1 for top-level tensors; {@code expert} is -1 unless a routed expert. */
    public record Tensor(String name, long[] shape, Role role, int layer, int expert, boolean shared) {
        public long elements() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }
    }

    private final ModelConfig c;
    private final List<Tensor> tensors = new ArrayList<>();

    public WeightLayout(ModelConfig config) {
        this.c = config;
        add("model.embed_tokens.weight", Role.EMBEDDING, -1, -1, false, c.vocabSize(), c.hiddenSize());
        for (int l = 0; l < c.numHiddenLayers(); l++) block(l, c.isMoeLayer(l));
        add("model.norm.weight", Role.NORM, -1, -1, false, c.hiddenSize());
        add("lm_head.weight", Role.HEAD, -1, -1, false, c.vocabSize(), c.hiddenSize());
        for (int i = 0; i < c.numNextnPredictLayers(); i++) {
            int l = c.numHiddenLayers() + i;
            String p = "model.layers." + l + ".";
            add(p + "enorm.weight", Role.NORM, l, -1, false, c.hiddenSize());
            add(p + "hnorm.weight", Role.NORM, l, -1, false, c.hiddenSize());
            add(p + "eh_proj.weight", Role.EH_PROJ, l, -1, false, c.hiddenSize(), 2L * c.hiddenSize());
            add(p + "embed_tokens.weight", Role.MTP_COPY, l, -1, false, c.vocabSize(), c.hiddenSize());
            add(p + "shared_head.norm.weight", Role.NORM, l, -1, false, c.hiddenSize());
            add(p + "shared_head.head.weight", Role.MTP_COPY, l, -1, false, c.vocabSize(), c.hiddenSize());
            block(l, true);
        }
    }

    private void block(int l, boolean moe) {
        String p = "model.layers." + l + ".";
        int h = c.hiddenSize(), heads = c.numAttentionHeads();
        add(p + "input_layernorm.weight", Role.NORM, l, -1, false, h);
        if (c.hasQLora()) {
            add(p + "self_attn.q_a_proj.weight", Role.LINEAR, l, -1, false, c.qLoraRank(), h);
            add(p + "self_attn.q_a_layernorm.weight", Role.NORM, l, -1, false, c.qLoraRank());
            add(p + "self_attn.q_b_proj.weight", Role.LINEAR, l, -1, false, (long) heads * c.qkHeadDim(), c.qLoraRank());
        } else {
            add(p + "self_attn.q_proj.weight", Role.LINEAR, l, -1, false, (long) heads * c.qkHeadDim(), h);
        }
        add(p + "self_attn.kv_a_proj_with_mqa.weight", Role.LINEAR, l, -1, false, c.kvLoraRank() + c.qkRopeHeadDim(), h);
        add(p + "self_attn.kv_a_layernorm.weight", Role.NORM, l, -1, false, c.kvLoraRank());
        add(p + "self_attn.kv_b_proj.weight", Role.LINEAR, l, -1, false, (long) heads * (c.qkNopeHeadDim() + c.vHeadDim()), c.kvLoraRank());
        add(p + "self_attn.o_proj.weight", Role.LINEAR, l, -1, false, h, (long) heads * c.vHeadDim());
        add(p + "post_attention_layernorm.weight", Role.NORM, l, -1, false, h);
        if (!moe) {
            ffn(p + "mlp.", l, -1, false, c.intermediateSize());
            return;
        }
        add(p + "mlp.gate.weight", Role.ROUTER, l, -1, false, c.nRoutedExperts(), h);
        add(p + "mlp.gate.e_score_correction_bias", Role.ROUTER_BIAS, l, -1, false, c.nRoutedExperts());
        for (int e = 0; e < c.nRoutedExperts(); e++) ffn(p + "mlp.experts." + e + ".", l, e, false, c.moeIntermediateSize());
        if (c.nSharedExperts() > 0)
            ffn(p + "mlp.shared_experts.", l, -1, true, (long) c.nSharedExperts() * c.moeIntermediateSize());
    }

    private void ffn(String p, int l, int expert, boolean shared, long inter) {
        add(p + "gate_proj.weight", Role.LINEAR, l, expert, shared, inter, c.hiddenSize());
        add(p + "up_proj.weight", Role.LINEAR, l, expert, shared, inter, c.hiddenSize());
        add(p + "down_proj.weight", Role.LINEAR, l, expert, shared, c.hiddenSize(), inter);
    }

    private void add(String name, Role role, int layer, int expert, boolean shared, long... shape) {
        tensors.add(new Tensor(name, shape, role, layer, expert, shared));
    }

    public List<Tensor> tensors() { return tensors; }

    public ModelConfig config() { return c; }

    /** Parameters of the main model: embedding, layers 0..L-1, final norm, head (docs/architecture.md §2.1's 671B). */
    public long mainParameters() {
        long n = 0;
        for (Tensor t : tensors) if (t.layer < c.numHiddenLayers()) n += t.elements();
        return n;
    }

    /**
     * Parameters one token uses in the main model: the full embedding and head matrices, every dense layer,
     * attention and norms, and per MoE layer the router (weight and bias), the shared experts and
     * num_experts_per_tok routed experts (docs/architecture.md §2.1's 37.55B).
     */
    public long activeParameters() {
        long n = 0;
        for (Tensor t : tensors) {
            if (t.layer >= c.numHiddenLayers()) continue;
            if (t.expert >= 0) continue;
            n += t.elements();
        }
        return n + (long) c.numExpertsPerTok() * expertParameters() * moeLayers();
    }

    /** Unique parameters of the MTP modules (without the embedding/head copies; docs/architecture.md §2.1's 11.6B). */
    public long mtpParameters() {
        long n = 0;
        for (Tensor t : tensors) if (t.layer >= c.numHiddenLayers() && t.role != Role.MTP_COPY) n += t.elements();
        return n;
    }

    /** Tensors the checkpoint holds, weight elements counted (main + MTP incl. copies). */
    public long checkpointParameters() {
        long n = 0;
        for (Tensor t : tensors) n += t.elements();
        return n;
    }

    /** Bytes per token of the absorbed-MLA latent cache over the main layers, at {@code bytesPerValue} (2 = BF16). */
    public long kvCacheBytesPerToken(int bytesPerValue) {
        return (long) (c.kvLoraRank() + c.qkRopeHeadDim()) * bytesPerValue * c.numHiddenLayers();
    }

    /** Bytes per token of the naive (per-head K and V) cache, for comparison. */
    public long naiveCacheBytesPerToken(int bytesPerValue) {
        return (long) c.numAttentionHeads() * (c.qkHeadDim() + c.vHeadDim()) * bytesPerValue * c.numHiddenLayers();
    }

    private long expertParameters() { return 3L * c.moeIntermediateSize() * c.hiddenSize(); }

    private int moeLayers() {
        int n = 0;
        for (int l = 0; l < c.numHiddenLayers(); l++) if (c.isMoeLayer(l)) n++;
        return n;
    }
}
