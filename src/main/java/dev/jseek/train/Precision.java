package dev.jseek.train;

/**
 * GEMM precision of the Linear layers that the FP8 framework covers (report §3.3): {@link #FP32} runs every
 * Linear in F32 ({@code Gemm.sgemm}); {@link #BF16} runs the three GEMMs of the same Linears that FP8 covers
 * with both operands rounded to bfloat16 and FP32 accumulation ({@link Bf16Linear}; the report's baseline for FP8);
 * {@link #FP8} runs the three GEMMs (Fprop, Dgrad, Wgrad) of every attention
 * projection (q_a, q_b or q, kv_a, kv_b, o) and every FFN projection (dense, shared and routed experts: gate, up,
 * down) in E4M3 with fine-grained scales and FP32 promotion ({@link dev.jseek.fp8.Fp8Linear}). Kept in F32 in all
 * modes, as the report keeps them in BF16/FP32: embedding, lm_head, the MoE router, the MTP eh_proj, norms and the
 * attention core. Master weights, gradients and optimizer state are not affected.
 */
public enum Precision { FP32, BF16, FP8 }
