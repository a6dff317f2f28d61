package dev.jseek.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Every tensor of a DeepSeek-V3 model in the Hugging Face checkpoint layout, computed from the config alone: the one
 * list that the inference loaders ({@link DeepSeekV3#load}), the training parameter arena
 * ({@code dev.jseek.train.ParamLayout}), the GGUF name mapping ({@code dev.jseek.gguf.Deepseek2Names}), {@code init}
 * and the parameter counts of {@code inspect} all read.
 *
 * <p>Order: {@code model.embed_tokens}, the main layers 0..L-1, {@code model.norm}, {@code lm_head}, then each MTP
 * module k (checkpoint layer L + k, report §2.2): enorm, hnorm, eh_proj, its transformer block, shared_head.norm and
 * the two copies of the main embedding and head that the official release stores ({@link Kind#MTP_COPY}). Inside a
 * block: input_layernorm, the attention projections (query latent or q_proj, kv_a, kv_a_layernorm, kv_b, o),
 * post_attention_layernorm, then the dense FFN or the router (weight; bias only with topk_method noaux_tc), the routed experts 0..E-1 (gate, up,
 * down each) and the shared experts. This is the training arena's order, so a seed draws the same initial weights.
 */
public final class TensorSchema {
    /** What a tensor is: decides its initialization, training and whether the FP8 release format quantizes it. */
    public enum Kind {
        EMBEDDING, HEAD, NORM, LINEAR, ROUTER, ROUTER_BIAS, EH_PROJ, MTP_COPY;

        /** True for the Linear weights the official FP8 checkpoint stores as F8_E4M3 with 128x128 scales (report §3.3). */
        public boolean fp8InRelease() { return this == LINEAR; }
    }

    /** Which tensor of the model (or of a layer, or of an expert) a name is; the HF name is {@link #hfName}. */
    public enum Slot {
        EMBED(Kind.EMBEDDING, "model.embed_tokens.weight"),
        FINAL_NORM(Kind.NORM, "model.norm.weight"),
        HEAD(Kind.HEAD, "lm_head.weight"),
        ATTN_NORM(Kind.NORM, "input_layernorm.weight"),
        Q_A(Kind.LINEAR, "self_attn.q_a_proj.weight"),
        Q_A_NORM(Kind.NORM, "self_attn.q_a_layernorm.weight"),
        Q_B(Kind.LINEAR, "self_attn.q_b_proj.weight"),
        Q(Kind.LINEAR, "self_attn.q_proj.weight"),
        KV_A(Kind.LINEAR, "self_attn.kv_a_proj_with_mqa.weight"),
        KV_A_NORM(Kind.NORM, "self_attn.kv_a_layernorm.weight"),
        KV_B(Kind.LINEAR, "self_attn.kv_b_proj.weight"),
        O(Kind.LINEAR, "self_attn.o_proj.weight"),
        FFN_NORM(Kind.NORM, "post_attention_layernorm.weight"),
        MLP_GATE(Kind.LINEAR, "mlp.gate_proj.weight"),
        MLP_UP(Kind.LINEAR, "mlp.up_proj.weight"),
        MLP_DOWN(Kind.LINEAR, "mlp.down_proj.weight"),
        ROUTER(Kind.ROUTER, "mlp.gate.weight"),
        ROUTER_BIAS(Kind.ROUTER_BIAS, "mlp.gate.e_score_correction_bias"),
        EXPERT_GATE(Kind.LINEAR, "gate_proj.weight"),
        EXPERT_UP(Kind.LINEAR, "up_proj.weight"),
        EXPERT_DOWN(Kind.LINEAR, "down_proj.weight"),
        SHARED_GATE(Kind.LINEAR, "mlp.shared_experts.gate_proj.weight"),
        SHARED_UP(Kind.LINEAR, "mlp.shared_experts.up_proj.weight"),
        SHARED_DOWN(Kind.LINEAR, "mlp.shared_experts.down_proj.weight"),
        ENORM(Kind.NORM, "enorm.weight"),
        HNORM(Kind.NORM, "hnorm.weight"),
        EH_PROJ(Kind.EH_PROJ, "eh_proj.weight"),
        SHARED_HEAD_NORM(Kind.NORM, "shared_head.norm.weight"),
        MTP_EMBED(Kind.MTP_COPY, "embed_tokens.weight"),
        MTP_HEAD(Kind.MTP_COPY, "shared_head.head.weight");

        public final Kind kind;
        private final String suffix;

        Slot(Kind kind, String suffix) {
            this.kind = kind;
            this.suffix = suffix;
        }

        /** Top-level tensors (embedding, final norm, head) have no layer. */
        public boolean topLevel() { return this == EMBED || this == FINAL_NORM || this == HEAD; }

        /** One routed expert's projection ({@code mlp.experts.E.*}). */
        public boolean routedExpert() { return this == EXPERT_GATE || this == EXPERT_UP || this == EXPERT_DOWN; }

        /** The HF name of this slot in {@code layer} ({@code expert} for routed experts; both ignored for top-level). */
        public String hfName(int layer, int expert) {
            if (topLevel()) return suffix;
            String p = "model.layers." + layer + ".";
            return routedExpert() ? p + "mlp.experts." + expert + "." + suffix : p + suffix;
        }

        /** The main tensor an {@link Kind#MTP_COPY} slot copies, else null. */
        public Slot copyOf() { return this == MTP_EMBED ? EMBED : this == MTP_HEAD ? HEAD : null; }
    }

    /**
     * One tensor: HF name, shape ([out, in] for matrices), {@code layer} (-1 for top-level tensors; MTP module k is
     * layer num_hidden_layers + k), {@code expert} (-1 unless a routed expert) and whether it belongs to an MTP module.
     */
    public record Tensor(String name, Slot slot, long[] shape, int layer, int expert, boolean mtp) {
        public Tensor {
            shape = shape.clone();
        }

        @Override public long[] shape() { return shape.clone(); }

        public Kind kind() { return slot.kind; }

        public long elements() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }

        /** The Linear weights that FP8 training and the FP8 release format quantize (report §3.3). */
        public boolean fp8Quantizable() { return slot.kind.fp8InRelease(); }

        /**
         * True when the optimizer trains it: false for the aux-loss-free routing bias (updated by its own rule,
         * report §2.1.2) and for the MTP copies (the same tensors as the main embedding and head).
         */
        public boolean trainable() { return slot.kind != Kind.ROUTER_BIAS && slot.kind != Kind.MTP_COPY; }

        /** A shared expert's projection. */
        public boolean shared() { return slot == Slot.SHARED_GATE || slot == Slot.SHARED_UP || slot == Slot.SHARED_DOWN; }

        public int rows() { return Math.toIntExact(shape[0]); }

        /** Columns of a matrix (the length of a vector). */
        public int cols() { return Math.toIntExact(shape[shape.length - 1]); }

        @Override public boolean equals(Object o) {
            return o instanceof Tensor t && t.name.equals(name) && t.slot == slot && Arrays.equals(t.shape, shape)
                    && t.layer == layer && t.expert == expert && t.mtp == mtp;
        }

        @Override public int hashCode() { return name.hashCode() * 31 + Arrays.hashCode(shape); }

        @Override public String toString() { return name + Arrays.toString(shape); }
    }

    private final ModelConfig c;
    private final List<Tensor> tensors = new ArrayList<>();
    private final Map<String, Tensor> byName = new HashMap<>();

    public TensorSchema(ModelConfig config) {
        this.c = config;
        int h = c.hiddenSize(), v = c.vocabSize();
        add(Slot.EMBED, -1, -1, v, h);
        for (int l = 0; l < c.numHiddenLayers(); l++) block(l);
        add(Slot.FINAL_NORM, -1, -1, h);
        add(Slot.HEAD, -1, -1, v, h);
        for (int k = 0; k < c.numNextnPredictLayers(); k++) {
            int l = c.numHiddenLayers() + k;
            add(Slot.ENORM, l, -1, h);
            add(Slot.HNORM, l, -1, h);
            add(Slot.EH_PROJ, l, -1, h, 2L * h);
            block(l);
            add(Slot.SHARED_HEAD_NORM, l, -1, h);
            add(Slot.MTP_EMBED, l, -1, v, h);
            add(Slot.MTP_HEAD, l, -1, v, h);
        }
    }

    private void block(int l) {
        long h = c.hiddenSize(), heads = c.numAttentionHeads();
        add(Slot.ATTN_NORM, l, -1, h);
        if (c.hasQLora()) {
            add(Slot.Q_A, l, -1, c.qLoraRank(), h);
            add(Slot.Q_A_NORM, l, -1, c.qLoraRank());
            add(Slot.Q_B, l, -1, heads * c.qkHeadDim(), c.qLoraRank());
        } else {
            add(Slot.Q, l, -1, heads * c.qkHeadDim(), h);
        }
        add(Slot.KV_A, l, -1, c.kvLoraRank() + c.qkRopeHeadDim(), h);
        add(Slot.KV_A_NORM, l, -1, c.kvLoraRank());
        add(Slot.KV_B, l, -1, heads * (c.qkNopeHeadDim() + c.vHeadDim()), c.kvLoraRank());
        add(Slot.O, l, -1, h, heads * c.vHeadDim());
        add(Slot.FFN_NORM, l, -1, h);
        if (!c.isMoeLayer(l)) {
            long f = c.intermediateSize();
            add(Slot.MLP_GATE, l, -1, f, h);
            add(Slot.MLP_UP, l, -1, f, h);
            add(Slot.MLP_DOWN, l, -1, h, f);
            return;
        }
        long f = c.moeIntermediateSize(), fs = (long) c.nSharedExperts() * f;
        add(Slot.ROUTER, l, -1, c.nRoutedExperts(), h);
        if (c.hasRouterBias()) add(Slot.ROUTER_BIAS, l, -1, c.nRoutedExperts());
        for (int e = 0; e < c.nRoutedExperts(); e++) {
            add(Slot.EXPERT_GATE, l, e, f, h);
            add(Slot.EXPERT_UP, l, e, f, h);
            add(Slot.EXPERT_DOWN, l, e, h, f);
        }
        if (fs > 0) {
            add(Slot.SHARED_GATE, l, -1, fs, h);
            add(Slot.SHARED_UP, l, -1, fs, h);
            add(Slot.SHARED_DOWN, l, -1, h, fs);
        }
    }

    private void add(Slot s, int layer, int expert, long... shape) {
        Tensor t = new Tensor(s.hfName(layer, expert), s, shape, layer, expert, layer >= c.numHiddenLayers());
        tensors.add(t);
        byName.put(t.name(), t);
    }

    public ModelConfig config() { return c; }

    /** All tensors, in the order of the class comment. */
    public List<Tensor> tensors() { return Collections.unmodifiableList(tensors); }

    /** The tensor named {@code name}, or null. */
    public Tensor find(String name) { return byName.get(name); }

    /** A top-level tensor ({@link Slot#EMBED}, {@link Slot#FINAL_NORM}, {@link Slot#HEAD}). */
    public Tensor get(Slot s) { return require(s.hfName(-1, -1)); }

    /** Tensor {@code s} of layer {@code layer} (not a routed expert's). */
    public Tensor get(int layer, Slot s) { return require(s.hfName(layer, -1)); }

    /** Projection {@code s} of routed expert {@code expert} in layer {@code layer}. */
    public Tensor expert(int layer, int expert, Slot s) { return require(s.hfName(layer, expert)); }

    private Tensor require(String name) {
        Tensor t = byName.get(name);
        if (t == null) throw new IllegalArgumentException("the config has no tensor " + name);
        return t;
    }

    /** Parameters of the main model: embedding, layers 0..L-1, final norm, head (671.03B for DeepSeek-V3). */
    public long mainParameters() {
        long n = 0;
        for (Tensor t : tensors) if (!t.mtp()) n += t.elements();
        return n;
    }

    /**
     * Parameters one token uses in the main model: everything but the routed experts (the full embedding and head
     * matrices, dense layers, attention, norms, routers, shared experts), plus num_experts_per_tok routed experts
     * per MoE layer (37.55B for DeepSeek-V3).
     */
    public long activeParameters() {
        long n = 0;
        for (Tensor t : tensors) if (!t.mtp() && t.expert() < c.numExpertsPerTok()) n += t.elements();
        return n;
    }

    /** Unique parameters of the MTP modules, without the embedding/head copies (11.6B for DeepSeek-V3). */
    public long mtpParameters() {
        long n = 0;
        for (Tensor t : tensors) if (t.mtp() && t.kind() != Kind.MTP_COPY) n += t.elements();
        return n;
    }

    /** Parameters a training run holds: main model and MTP modules, without the MTP copies of the embedding and head. */
    public long trainingParameters() {
        long n = 0;
        for (Tensor t : tensors) if (t.kind() != Kind.MTP_COPY) n += t.elements();
        return n;
    }

    /** Of {@link #trainingParameters}, those one token uses: all but the routed experts, plus num_experts_per_tok of them per MoE layer. */
    public long trainingActiveParameters() {
        long n = 0;
        for (Tensor t : tensors) if (t.kind() != Kind.MTP_COPY && t.expert() < c.numExpertsPerTok()) n += t.elements();
        return n;
    }

    /** Weight elements the checkpoint holds (main + MTP, copies included). */
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
}
