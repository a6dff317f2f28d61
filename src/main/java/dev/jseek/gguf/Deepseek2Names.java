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
        String blk = "blk." + t.layer() + ".";
        return switch (t.slot()) {
            case EMBED -> plain("token_embd.weight");
            case FINAL_NORM -> plain("output_norm.weight");
            case HEAD -> plain("output.weight");
            case ATTN_NORM -> plain(blk + "attn_norm.weight");
            case Q_A -> plain(blk + "attn_q_a.weight");
            case Q_A_NORM -> plain(blk + "attn_q_a_norm.weight");
            case Q_B -> plain(blk + "attn_q_b.weight");
            case Q -> plain(blk + "attn_q.weight");
            case KV_A -> plain(blk + "attn_kv_a_mqa.weight");
            case KV_A_NORM -> plain(blk + "attn_kv_a_norm.weight");
            case KV_B -> new Target(blk + "attn_kv_b.weight", Kind.KV_B, -1);
            case O -> plain(blk + "attn_output.weight");
            case FFN_NORM -> plain(blk + "ffn_norm.weight");
            case MLP_GATE -> plain(blk + "ffn_gate.weight");
            case MLP_UP -> plain(blk + "ffn_up.weight");
            case MLP_DOWN -> plain(blk + "ffn_down.weight");
            case ROUTER -> plain(blk + "ffn_gate_inp.weight");
            case ROUTER_BIAS -> plain(blk + "exp_probs_b.bias");
            case EXPERT_GATE -> new Target(blk + "ffn_gate_exps.weight", Kind.EXPERT, t.expert());
            case EXPERT_UP -> new Target(blk + "ffn_up_exps.weight", Kind.EXPERT, t.expert());
            case EXPERT_DOWN -> new Target(blk + "ffn_down_exps.weight", Kind.EXPERT, t.expert());
            case SHARED_GATE -> plain(blk + "ffn_gate_shexp.weight");
            case SHARED_UP -> plain(blk + "ffn_up_shexp.weight");
            case SHARED_DOWN -> plain(blk + "ffn_down_shexp.weight");
            case ENORM -> plain(blk + "nextn.enorm.weight");
            case HNORM -> plain(blk + "nextn.hnorm.weight");
            case EH_PROJ -> plain(blk + "nextn.eh_proj.weight");
            case SHARED_HEAD_NORM -> plain(blk + "nextn.shared_head_norm.weight");
            case MTP_EMBED -> plain(blk + "nextn.embed_tokens.weight");
            case MTP_HEAD -> plain(blk + "nextn.shared_head_head.weight");
        };
    }

    private static Target plain(String gguf) { return new Target(gguf, Kind.PLAIN, -1); }

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
