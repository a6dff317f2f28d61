package dev.jseek.gguf;

import dev.jseek.model.TensorSchema;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Hugging Face DeepSeek-V3 tensor names (docs/architecture.md §2.2) to llama.cpp {@code deepseek2} GGUF tensor names, as
 * llama.cpp's converter ({@code convert_hf_to_gguf.py}, {@code DeepseekV2Model}) and loader ({@code llama-model.cpp},
 * {@code LLM_ARCH_DEEPSEEK2}) name them:
 * <pre>
 *   model.embed_tokens.weight                      token_embd.weight
 *   model.norm.weight / lm_head.weight             output_norm.weight / output.weight
 *   model.layers.N.input_layernorm.weight          blk.N.attn_norm.weight
 *     self_attn.q_a_proj / q_a_layernorm / q_b_proj  blk.N.attn_q_a / attn_q_a_norm / attn_q_b  (.weight)
 *     self_attn.q_proj (no query latent)            blk.N.attn_q
 *     self_attn.kv_a_proj_with_mqa / kv_a_layernorm blk.N.attn_kv_a_mqa / attn_kv_a_norm
 *     self_attn.kv_b_proj                           blk.N.attn_k_b + blk.N.attn_v_b (current) or attn_kv_b (legacy)
 *     self_attn.o_proj                              blk.N.attn_output
 *     post_attention_layernorm                      blk.N.ffn_norm
 *     mlp.gate_proj / up_proj / down_proj (dense)   blk.N.ffn_gate / ffn_up / ffn_down
 *     mlp.gate.weight (router)                      blk.N.ffn_gate_inp.weight
 *     mlp.gate.e_score_correction_bias              blk.N.exp_probs_b.bias
 *     mlp.experts.E.{gate,up,down}_proj             expert E of blk.N.ffn_{gate,up,down}_exps (all experts stacked, 3-D)
 *     mlp.shared_experts.{gate,up,down}_proj        blk.N.ffn_{gate,up,down}_shexp
 *   MTP layer L = num_hidden_layers + k: its block as blk.L.*, plus
 *     enorm / hnorm / eh_proj / shared_head.norm    blk.L.nextn.enorm / nextn.hnorm / nextn.eh_proj / nextn.shared_head_norm
 *     embed_tokens / shared_head.head (copies)      blk.L.nextn.embed_tokens / nextn.shared_head_head
 * </pre>
 */
public final class Deepseek2Names {
    private Deepseek2Names() {}

    /** How an HF tensor is found in a GGUF file. */
    public enum Kind { PLAIN, EXPERT, KV_B }

    /** The GGUF tensor ({@code gguf}) an HF tensor lives in; {@code expert} is the slice index of an EXPERT tensor. */
    public record Target(String gguf, Kind kind, int expert) {}

    /** The GGUF location of the schema tensor {@code t}. */
    public static Target map(TensorSchema.Tensor t) {
        String name = switch (t.slot()) {
            case EMBED -> "token_embd"; case FINAL_NORM -> "output_norm"; case HEAD -> "output";
            case ATTN_NORM -> "attn_norm"; case Q_A -> "attn_q_a"; case Q_A_NORM -> "attn_q_a_norm"; case Q_B -> "attn_q_b"; case Q -> "attn_q";
            case KV_A -> "attn_kv_a_mqa"; case KV_A_NORM -> "attn_kv_a_norm"; case KV_B -> "attn_kv_b"; case O -> "attn_output";
            case FFN_NORM -> "ffn_norm"; case MLP_GATE -> "ffn_gate"; case MLP_UP -> "ffn_up"; case MLP_DOWN -> "ffn_down";
            case ROUTER -> "ffn_gate_inp"; case ROUTER_BIAS -> "exp_probs_b";
            case EXPERT_GATE -> "ffn_gate_exps"; case EXPERT_UP -> "ffn_up_exps"; case EXPERT_DOWN -> "ffn_down_exps";
            case SHARED_GATE -> "ffn_gate_shexp"; case SHARED_UP -> "ffn_up_shexp"; case SHARED_DOWN -> "ffn_down_shexp";
            case ENORM -> "nextn.enorm"; case HNORM -> "nextn.hnorm"; case EH_PROJ -> "nextn.eh_proj";
            case SHARED_HEAD_NORM -> "nextn.shared_head_norm"; case MTP_EMBED -> "nextn.embed_tokens"; case MTP_HEAD -> "nextn.shared_head_head";
        };
        String gguf = (t.slot().topLevel() ? "" : "blk." + t.layer() + ".") + name + (t.slot() == TensorSchema.Slot.ROUTER_BIAS ? ".bias" : ".weight");
        Kind kind = t.slot() == TensorSchema.Slot.KV_B ? Kind.KV_B : t.slot().routedExpert() ? Kind.EXPERT : Kind.PLAIN;
        return new Target(gguf, kind, t.expert());
    }

    /** The GGUF location of every tensor of {@code schema}, by HF name, in schema order. */
    public static Map<String, Target> index(TensorSchema schema) {
        Map<String, Target> m = new LinkedHashMap<>();
        for (TensorSchema.Tensor t : schema.tensors()) m.put(t.name(), map(t));
        return Collections.unmodifiableMap(m);
    }

    /** {@code blk.N.attn_k_b.weight} for a layer's {@code attn_kv_b.weight} name. */
    public static String kB(String kvB) { return kvB.replace("attn_kv_b", "attn_k_b"); }

    /** {@code blk.N.attn_v_b.weight} for a layer's {@code attn_kv_b.weight} name. */
    public static String vB(String kvB) { return kvB.replace("attn_kv_b", "attn_v_b"); }
}
