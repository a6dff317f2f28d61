package dev.jseek.model;

/**
 * Scratch arrays reused across forward calls: one growable float[] (and int[]) per {@link Buf} slot. A model owns one
 * workspace; each block uses its own slots, so nested calls (a block calling the MoE calling an expert) never share
 * a slot. Arrays only grow, and a returned array may hold stale values and be longer than asked for. Not thread-safe.
 */
public final class Workspace {
    /** The scratch slots; the comment says who uses each and its shape. */
    public enum Buf {
        ROPE_COS, ROPE_SIN,            // DeepSeekV3/Mtp: [T, rope/2]
        BLOCK_X, BLOCK_Y,              // Block: normalized input and sub-layer output, [T, dim]
        MLA_Q, MLA_KVA, MLA_CKV, MLA_KV, MLA_QABS, MLA_SCORES, MLA_OLAT, MLA_OHEADS, MLA_WHEAD,
        MLA_LAT,                       // Mla: a paged cache's latent rows gathered for attention [len, kv_lora_rank + rope]
        MLA_JOBS,                      // Mla: Gemm.linearMany job table of kv_a and q_a
        MLA_PARTIAL,                   // Mla: attendQuery's per-key vector partial scores, per pool participant
        MLP_GATE, MLP_UP,              // Mlp: [m, inter]
        MOE_XE, MOE_YE, MOE_SHARED, MOE_W, MOE_IDX, MOE_ORDER, MOE_COUNT,
        MOE_G, MOE_JOBS,               // Moe decode: gate|up outputs of all selected experts [2, rows, inter]; Gemm.linearMany job table
        MOE_SEG,                       // Moe.forwardStacked, block-typed experts: the segment of each row
        GATE_LOGITS,
        MTP_CAT, MTP_H, MTP_EMB,
        HIDDEN,                        // DeepSeekV3: the residual stream [T, dim]
        STEP_HIDDEN, STEP_LOGITS,      // DeepSeekV3.decodeStep/decodeBatch: post-norm hidden [M, dim] and logits [M, vocab], reused
        STACK_X, STACK_Y, STACK_COS, STACK_SIN // Block.forwardStacked: one segment's rows [T, dim] and RoPE rows [T, rope/2]
    }

    private final float[][] floats = new float[Buf.values().length][];
    private final int[][] ints = new int[Buf.values().length][];
    private dev.jseek.tensor.Matrix[] matrices = new dev.jseek.tensor.Matrix[0];

    /** A float array of length >= n for slot b (contents undefined). */
    public float[] f(Buf b, int n) {
        float[] a = floats[b.ordinal()];
        if (a == null || a.length < n) floats[b.ordinal()] = a = new float[grow(a == null ? 0 : a.length, n)];
        return a;
    }

    /** A Matrix array of length >= n (contents undefined), for batches of products. */
    public dev.jseek.tensor.Matrix[] matrices(int n) {
        if (matrices.length < n) matrices = new dev.jseek.tensor.Matrix[grow(matrices.length, n)];
        return matrices;
    }

    /** An int array of length >= n for slot b (contents undefined). */
    public int[] i(Buf b, int n) {
        int[] a = ints[b.ordinal()];
        if (a == null || a.length < n) ints[b.ordinal()] = a = new int[grow(a == null ? 0 : a.length, n)];
        return a;
    }

    private static int grow(int old, int n) {
        if (n < 0) throw new IllegalArgumentException("negative scratch size " + n);
        long g = Math.max(n, Math.min(Integer.MAX_VALUE - 8, old + (long) (old >> 1)));
        return (int) g;
    }

    /** Drops every scratch array (e.g. after a large prefill, to give the memory back). */
    public void clear() {
        java.util.Arrays.fill(floats, null);
        java.util.Arrays.fill(ints, null);
    }
}
