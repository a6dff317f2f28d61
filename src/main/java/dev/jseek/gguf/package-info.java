/**
 * GGUF interop: llama.cpp's model file format, so jseek models move to and from the llama.cpp world.
 *
 * <ul>
 *   <li>{@link dev.jseek.gguf.GgufFile} (validating mmap reader), {@link dev.jseek.gguf.GgufWriter} (atomic, streaming
 *       writer), {@link dev.jseek.gguf.GgufValue}/{@link dev.jseek.gguf.GgufValueType} (typed metadata),
 *       {@link dev.jseek.gguf.GgufTensorInfo}, {@link dev.jseek.gguf.GgmlType} (tensor types and block sizes);</li>
 *   <li>{@link dev.jseek.gguf.GgmlCodec}: F32, F16, BF16 and {@link dev.jseek.gguf.Q8_0} (vectorized dequantizer,
 *       {@link dev.jseek.gguf.ScalarQ8_0} twin);</li>
 *   <li>the DeepSeek-V3 mapping onto llama.cpp's {@code deepseek2} architecture: {@link dev.jseek.gguf.Deepseek2Names}
 *       (tensor names), {@link dev.jseek.gguf.Deepseek2Metadata} (hyperparameter keys), {@link
 *       dev.jseek.gguf.HfTokenizerMetadata} (tokenizer keys), {@link dev.jseek.gguf.GgufExporter} (HF directory to
 *       GGUF), {@link dev.jseek.gguf.GgufWeights} + {@link dev.jseek.gguf.GgufModel} (a GGUF file as a jseek model).</li>
 * </ul>
 *
 * <h2>llama.cpp conventions followed</h2>
 * Learned from llama.cpp's gguf-py ({@code constants.py}), its converter ({@code convert_hf_to_gguf.py},
 * {@code DeepseekV2Model}) and loader ({@code llama-model.cpp} / {@code models/deepseek2.cpp}); no code copied.
 * <ul>
 *   <li>GGUF v3, little-endian, alignment 32, offsets relative to the aligned data section; tensor dims innermost
 *       first (an HF [out, in] weight is ggml [in, out], same bytes); metadata types exactly as llama.cpp's loader
 *       checks them (UINT32 counts, FLOAT32 hyperparameters, BOOL {@code expert_weights_norm}).</li>
 *   <li>Tensor names and the routed experts of a layer stacked into {@code ffn_{gate,up,down}_exps} [n_expert, out,
 *       in]; router {@code ffn_gate_inp} and bias {@code exp_probs_b.bias} in F32, 1-D tensors in F32.</li>
 *   <li>MLA as current llama.cpp wants it: {@code attn_kv_b} split into {@code attn_k_b} [n_head, kv_lora_rank,
 *       qk_nope] (per-head transpose) and {@code attn_v_b} [n_head, v_head, kv_lora_rank], {@code head_count_kv} = 1,
 *       {@code key_length} = kv_lora_rank + rope, {@code value_length} = kv_lora_rank, {@code key_length_mla} /
 *       {@code value_length_mla} = the per-head sizes. Reading accepts the older layout too (unsplit {@code
 *       attn_kv_b}, per-head key/value_length, no *_mla keys).</li>
 *   <li>{@code expert_gating_func} 2 = sigmoid; {@code expert_weights_scale} = routed_scaling_factor; {@code
 *       expert_group_count}/{@code expert_group_used_count} = n_group/topk_group; YaRN as {@code rope.scaling.*} with
 *       {@code yarn_log_multiplier} = 0.1 * mscale_all_dim (the converter's 0.1x that the deepseek2 loader divides
 *       out again); no RoPE permutation of q/k (DeepSeek's RoPE is the interleaved "NORM" type in ggml).</li>
 *   <li>MTP is dropped by default like llama.cpp's converter; with {@code --mtp} it is written like llama.cpp's GLM-4.5
 *       / DeepSeek-V3.2 NextN layers: block_count includes it, {@code nextn_predict_layers}, {@code blk.L.nextn.*}.</li>
 *   <li>Tokenizer (optional): "gpt2" model, pre "deepseek-v3", tokens / token_type / merges from the HF tokenizer.json;
 *       without one, {@code tokenizer.ggml.model} = "none".</li>
 *   <li>Q8_0 as ggml's reference quantizer (roundf, float32 1/d, binary16 scale).</li>
 * </ul>
 *
 * <h2>Unsure, or not verified against llama.cpp itself</h2>
 * No llama.cpp binary is available here, so no file was loaded by llama.cpp; the files parse with
 * {@code @huggingface/gguf}. Open points: whether a given llama.cpp version runs the {@code --mtp} layout for
 * {@code deepseek2} (upstream's MTP support for it was being added; older builds would treat blk.L as a 62nd normal
 * layer, hence off by default); llama.cpp's converter falls back to F16 for Q8_0 tensors whose rows are not whole
 * blocks where jseek writes F32; whether llama.cpp needs {@code tokenizer.ggml.add_bos_token} and the special-token
 * ids (eot, fim) for DeepSeek-V3 chat (not written); the pre-tokenizer name "deepseek-v3" for a jseek-trained
 * tokenizer with different split regexes; {@code expert_weights_norm} is written even when false (llama.cpp's
 * converter omits it then); newer llama.cpp may fuse {@code ffn_gate_up_exps} (not written, not read).
 */
package dev.jseek.gguf;
