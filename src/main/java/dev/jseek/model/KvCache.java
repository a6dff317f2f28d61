package dev.jseek.model;

/**
 * The attention cache of a sequence, one entry per layer per position (docs/architecture.md §3.2, §3.3).
 * <ul>
 *   <li>{@link AttnMode#ABSORB}: the latent [c_kv_n (kv_lora_rank, after kv_a_layernorm) ; k_pe (qk_rope_head_dim,
 *       after RoPE)] — 576 floats per token per layer for V3.</li>
 *   <li>{@link AttnMode#NAIVE}: per head k = [k_nope ; k_pe] (qk_head_dim) and v (v_head_dim) — 40960 floats per token
 *       per layer for V3 (docs/architecture.md §3.3: use it for prefill/checking, not for long decodes).</li>
 * </ul>
 * Positions 0..capacity-1; a forward at startPos writes positions startPos..startPos+T-1 and attends to
 * 0..startPos+T-1, so a caller can rewind (speculative decoding) by calling again with a smaller startPos.
 * Memory is taken as positions arrive ({@link #ensure}: the arrays double, up to capacity), so a request that asks
 * for a long completion and stops early never holds the whole capacity.
 */
public final class KvCache {
    public final AttnMode mode;
    public final int capacity;
    final int latentWidth, keyWidth, valueWidth;
    private final float[][] latent, keys, values;
    /** Positions the arrays hold now (<= capacity). */
    private int held;

    /** Positions allocated at the first {@link #ensure} at least. */
    static final int MIN_HELD = 64;

    /** A cache for {@code layers} layers of {@code cfg} holding up to {@code capacity} positions. */
    public KvCache(ModelConfig cfg, int layers, int capacity, AttnMode mode) {
        if (capacity <= 0) throw new IllegalArgumentException("cache capacity must be > 0, got " + capacity);
        this.mode = mode;
        this.capacity = capacity;
        latentWidth = cfg.kvLoraRank() + cfg.qkRopeHeadDim();
        keyWidth = cfg.numAttentionHeads() * cfg.qkHeadDim();
        valueWidth = cfg.numAttentionHeads() * cfg.vHeadDim();
        latent = new float[mode == AttnMode.ABSORB ? layers : 0][];
        keys = new float[mode == AttnMode.NAIVE ? layers : 0][];
        values = new float[mode == AttnMode.NAIVE ? layers : 0][];
        size(latentWidth);
        size(keyWidth);
        size(valueWidth);
        for (int l = 0; l < latent.length; l++) latent[l] = new float[0];
        for (int l = 0; l < keys.length; l++) {
            keys[l] = new float[0];
            values[l] = new float[0];
        }
    }

    /**
     * Makes positions 0..positions-1 writable: grows the arrays (to at least twice what they held, at most capacity),
     * keeping what they hold. Positions beyond capacity are the caller's error (checked by the model's forward).
     */
    public void ensure(int positions) {
        if (positions <= held) return;
        int n = (int) Math.min(capacity, Math.max(positions, Math.max(MIN_HELD, 2L * held)));
        for (int l = 0; l < latent.length; l++) latent[l] = java.util.Arrays.copyOf(latent[l], n * latentWidth);
        for (int l = 0; l < keys.length; l++) {
            keys[l] = java.util.Arrays.copyOf(keys[l], n * keyWidth);
            values[l] = java.util.Arrays.copyOf(values[l], n * valueWidth);
        }
        held = n;
    }

    /** Positions the arrays hold now (grown by {@link #ensure}). */
    public int held() { return held; }

    private int size(int width) {
        long n = (long) capacity * width;
        if (n > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("cache capacity " + capacity + " x " + width + " floats per layer is too large for " + mode
                    + " mode (max " + (Integer.MAX_VALUE - 8) / width + " positions)");
        return (int) n;
    }

    public int layers() { return Math.max(latent.length, keys.length); }

    /** Bytes held now (float32). */
    public long bytes() { return bytesPerPosition() * held; }

    /** Bytes one position takes over all layers (float32). */
    public long bytesPerPosition() {
        long per = mode == AttnMode.ABSORB ? latentWidth : keyWidth + valueWidth;
        return 4L * per * layers();
    }

    /** ABSORB: layer l's latent rows [capacity, kv_lora_rank + qk_rope_head_dim]. */
    float[] latent(int l) { return latent[l]; }

    /** NAIVE: layer l's keys [capacity, heads, qk_head_dim]. */
    float[] keys(int l) { return keys[l]; }

    /** NAIVE: layer l's values [capacity, heads, v_head_dim]. */
    float[] values(int l) { return values[l]; }
}
