package dev.jseek.gguf;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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

    private static final Pattern LAYER = Pattern.compile("model\\.layers\\.(\\d+)\\.(.+)");
    private static final Pattern EXPERT = Pattern.compile("mlp\\.experts\\.(\\d+)\\.(gate|up|down)_proj\\.weight");

    private static final Map<String, String> TOP = Map.of(
            "model.embed_tokens.weight", "token_embd.weight",
            "model.norm.weight", "output_norm.weight",
            "lm_head.weight", "output.weight");

    private static final Map<String, String> IN_LAYER = Map.ofEntries(
            Map.entry("input_layernorm.weight", "attn_norm.weight"),
            Map.entry("self_attn.q_a_proj.weight", "attn_q_a.weight"),
            Map.entry("self_attn.q_a_layernorm.weight", "attn_q_a_norm.weight"),
            Map.entry("self_attn.q_b_proj.weight", "attn_q_b.weight"),
            Map.entry("self_attn.q_proj.weight", "attn_q.weight"),
            Map.entry("self_attn.kv_a_proj_with_mqa.weight", "attn_kv_a_mqa.weight"),
            Map.entry("self_attn.kv_a_layernorm.weight", "attn_kv_a_norm.weight"),
            Map.entry("self_attn.o_proj.weight", "attn_output.weight"),
            Map.entry("post_attention_layernorm.weight", "ffn_norm.weight"),
            Map.entry("mlp.gate_proj.weight", "ffn_gate.weight"),
            Map.entry("mlp.up_proj.weight", "ffn_up.weight"),
            Map.entry("mlp.down_proj.weight", "ffn_down.weight"),
            Map.entry("mlp.gate.weight", "ffn_gate_inp.weight"),
            Map.entry("mlp.gate.e_score_correction_bias", "exp_probs_b.bias"),
            Map.entry("mlp.shared_experts.gate_proj.weight", "ffn_gate_shexp.weight"),
            Map.entry("mlp.shared_experts.up_proj.weight", "ffn_up_shexp.weight"),
            Map.entry("mlp.shared_experts.down_proj.weight", "ffn_down_shexp.weight"),
            Map.entry("enorm.weight", "nextn.enorm.weight"),
            Map.entry("hnorm.weight", "nextn.hnorm.weight"),
            Map.entry("eh_proj.weight", "nextn.eh_proj.weight"),
            Map.entry("shared_head.norm.weight", "nextn.shared_head_norm.weight"),
            Map.entry("embed_tokens.weight", "nextn.embed_tokens.weight"),
            Map.entry("shared_head.head.weight", "nextn.shared_head_head.weight"));

    /** The GGUF location of HF tensor {@code hf}, or null when the name is not part of the mapping. */
    public static Target map(String hf) {
        String top = TOP.get(hf);
        if (top != null) return new Target(top, Kind.PLAIN, -1);
        Matcher m = LAYER.matcher(hf);
        if (!m.matches()) return null;
        String blk = "blk." + m.group(1) + ".", rest = m.group(2);
        if (rest.equals("self_attn.kv_b_proj.weight")) return new Target(blk + "attn_kv_b.weight", Kind.KV_B, -1);
        Matcher e = EXPERT.matcher(rest);
        if (e.matches()) return new Target(blk + "ffn_" + e.group(2) + "_exps.weight", Kind.EXPERT, Integer.parseInt(e.group(1)));
        String in = IN_LAYER.get(rest);
        return in == null ? null : new Target(blk + in, Kind.PLAIN, -1);
    }

    /** {@code blk.N.attn_k_b.weight} for a layer's {@code attn_kv_b.weight} name. */
    public static String kB(String kvB) { return kvB.replace("attn_kv_b", "attn_k_b"); }

    /** {@code blk.N.attn_v_b.weight} for a layer's {@code attn_kv_b.weight} name. */
    public static String vB(String kvB) { return kvB.replace("attn_kv_b", "attn_v_b"); }
}
