package dev.jseek.gguf;

/**
 * The weight types of a {@code jseek export --type}: one type for every weight, or llama.cpp's mixes. Which tensor
 * gets which type follows llama.cpp's {@code llama_tensor_get_type} (src/llama-quant.cpp) for the {@code deepseek2}
 * architecture without an importance matrix, as far as the types jseek implements reach:
 * <ul>
 *   <li>{@link #Q4_K_M} (llama_ftype 15): Q4_K by default; {@code output.weight} Q6_K; every {@code ffn_down*} tensor
 *       ({@code ffn_down}, {@code ffn_down_exps}, {@code ffn_down_shexp}) of layer i Q6_K when
 *       {@link #useMoreBits}(i, block_count) (layers i < n/8, i >= 7n/8, and (i - n/8) % 3 == 2). llama.cpp's bump of
 *       {@code attn_v.weight} does not apply: deepseek2 has no such tensor ({@code attn_k_b}/{@code attn_v_b} do
 *       not match its name test), nor does the {@code attn_output} rule (only for 8 experts).</li>
 *   <li>{@link #Q6_K} (18): Q6_K everywhere, {@code output.weight} included.</li>
 *   <li>{@link #Q8_0} (7), {@link #BF16} (32), {@link #F16} (1), {@link #F32} (0): one type.</li>
 * </ul>
 * Always F32, as llama.cpp's converter and quantizer keep them: 1-D tensors (norms, the router bias) and the router
 * {@code ffn_gate_inp}. A K-quant needs rows (ggml dim 0) that are whole 256-blocks: where they are not (deepseek2's
 * {@code attn_k_b}, rows of qk_nope_head_dim = 128), llama.cpp falls back to Q5_0 (for Q4_K) or Q8_0 (for Q6_K);
 * jseek, which has no Q5_0, uses Q8_0 for both ({@link #fallback}); rows that are not whole 32-blocks stay F32.
 */
public enum QuantMix {
    F32(GgmlType.F32, 0), F16(GgmlType.F16, 1), BF16(GgmlType.BF16, 32), Q8_0(GgmlType.Q8_0, 7), Q6_K(GgmlType.Q6_K, 18),
    Q4_K_M(GgmlType.Q4_K, 15);

    /** The default weight type. */
    public final GgmlType base;
    /** llama.cpp's {@code general.file_type} (enum llama_ftype). */
    public final int fileType;

    QuantMix(GgmlType base, int fileType) {
        this.base = base;
        this.fileType = fileType;
    }

    /** The mix of an all-{@code t} export (F32, F16, BF16, Q8_0, Q6_K), or null. */
    public static QuantMix of(GgmlType t) {
        for (QuantMix m : values()) if (m != Q4_K_M && m.base == t) return m;
        return null;
    }

    /** llama.cpp's use_more_bits: the first and last eighth of the layers, and every third one in between. */
    static boolean useMoreBits(int layer, int layers) {
        return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
    }

    /**
     * The type for weight {@code gguf} (a GGUF tensor name, "blk.L.*" for layer tensors) of a model with
     * {@code layers} blocks (block_count), before the row-length {@link #fallback}.
     */
    public GgmlType typeFor(String gguf, int layers) {
        if (gguf.equals("output.weight")) return this == Q4_K_M ? GgmlType.Q6_K : base;
        if (this == Q4_K_M && gguf.contains("ffn_down") && gguf.startsWith("blk.")) {
            int layer = Integer.parseInt(gguf.substring(4, gguf.indexOf('.', 4)));
            if (useMoreBits(layer, layers)) return GgmlType.Q6_K;
        }
        return base;
    }

    /** {@code t} when rows of {@code rowLength} are whole blocks of it, else Q8_0 when they are whole 32-blocks, else F32. */
    public static GgmlType fallback(GgmlType t, long rowLength) {
        if (rowLength % t.blockSize == 0) return t;
        return rowLength % GgmlType.Q8_0.blockSize == 0 ? GgmlType.Q8_0 : GgmlType.F32;
    }

    /** The --type spelling. */
    public String cliName() { return name().toLowerCase(); }
}
