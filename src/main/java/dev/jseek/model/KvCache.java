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
 *
 * <p>Two layouts of the ABSORB latent: contiguous (one array per layer, {@link #KvCache(ModelConfig, int, int,
 * AttnMode)}), or paged ({@link #paged}): fixed-size blocks from a {@link BlockPool} named by a block table, so
 * that the batch engine can budget memory block by block and share the blocks of a common prompt prefix. Attention
 * reads a paged cache through a contiguous gathered copy of the rows it needs ({@link #latentRows}), so both
 * layouts give bitwise the same results.
 *
 * <p>A contiguous cache takes memory as positions arrive ({@link #ensure}: the arrays double, up to capacity), so a
 * request that asks for a long completion and stops early never holds the whole capacity; a paged cache holds the
 * blocks its owner gave it.
 */
public final class KvCache {
    public final AttnMode mode;
    /** Positions this cache can hold (paged: blocks in the table x block size). */
    public final int capacity;
    final int latentWidth, keyWidth, valueWidth, kvRank;
    private final float[][] latent, keys, values;
    /** Paged layout: the pool, and the storage of the table's blocks in position order (null when contiguous). */
    private final BlockPool pool;
    private final float[][] pages;
    private final int[] blockIds;
    /** Paged layout: this cache's layer 0 is the pool's layer {@code layer0}; position p lives in slot p + shift. */
    private final int layer0, shift;
    /** Positions the arrays hold now (<= capacity). */
    private int held;

    /** Positions allocated at the first {@link #ensure} at least. */
    static final int MIN_HELD = 64;

    /** A cache for {@code layers} layers of {@code cfg} holding up to {@code capacity} positions. */
    public KvCache(ModelConfig cfg, int layers, int capacity, AttnMode mode) {
        if (capacity <= 0) throw new IllegalArgumentException("cache capacity must be > 0, got " + capacity);
        this.mode = mode;
        this.capacity = capacity;
        this.pool = null;
        this.pages = null;
        this.blockIds = null;
        this.layer0 = 0;
        this.shift = 0;
        kvRank = cfg.kvLoraRank();
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

    private KvCache(BlockPool pool, int[] blockIds, int layer0, int layers, int shift) {
        this.mode = AttnMode.ABSORB;
        this.pool = pool;
        this.blockIds = blockIds.clone();
        this.layer0 = layer0;
        this.shift = shift;
        this.capacity = Math.multiplyExact(blockIds.length, pool.blockTokens) - shift;
        this.kvRank = pool.kvRank;
        this.latentWidth = pool.width;
        this.keyWidth = 0;
        this.valueWidth = 0;
        this.latent = new float[layers][];
        this.keys = new float[0][];
        this.values = new float[0][];
        this.pages = new float[blockIds.length][];
        for (int i = 0; i < blockIds.length; i++) pages[i] = pool.block(blockIds[i]);
        this.held = capacity;
    }

    /**
     * An ABSORB cache over blocks of {@code pool}: position p lives in block {@code blockIds[p / blockTokens]}. The
     * caller owns the blocks (allocates, shares and releases them); the cache only reads and writes them.
     */
    public static KvCache paged(BlockPool pool, int[] blockIds) {
        return paged(pool, blockIds, 0, pool.layers, 0);
    }

    /**
     * A view of layers {@code layer0 .. layer0+layers-1} of the blocks {@code blockIds} of {@code pool} as a
     * {@code layers}-layer ABSORB cache whose position p lives in slot p + {@code shift} of the block table (capacity:
     * the table's slots less the shift). The batch engine keeps the MTP module's cache in the pool's last layer with
     * shift 1: the MTP row of position p depends on token p + 1, so it belongs with that token's block (a prompt
     * chunk's blocks then hold exactly the rows that are a function of the tokens up to the chunk's end).
     */
    public static KvCache paged(BlockPool pool, int[] blockIds, int layer0, int layers, int shift) {
        if (blockIds.length == 0) throw new IllegalArgumentException("a paged cache needs at least one block");
        if (layer0 < 0 || layers < 1 || layer0 + layers > pool.layers)
            throw new IllegalArgumentException("layers " + layer0 + ".." + (layer0 + layers - 1) + " outside the pool's " + pool.layers);
        if (shift < 0 || shift >= (long) blockIds.length * pool.blockTokens)
            throw new IllegalArgumentException("slot shift " + shift + " leaves no position in " + blockIds.length + " blocks");
        return new KvCache(pool, blockIds, layer0, layers, shift);
    }

    /** Whether this cache is paged ({@link #paged}). */
    public boolean isPaged() { return pool != null; }

    /** The block ids of a paged cache, in position order. */
    public int[] blockIds() { return blockIds == null ? new int[0] : blockIds.clone(); }

    /** ABSORB: writes layer l's latent row at {@code pos}: c_kv_n from ckv[ckvOff..+kv_lora_rank), k_pe from kpe[kpeOff..+rope). */
    void writeLatent(int l, int pos, float[] ckv, int ckvOff, float[] kpe, int kpeOff) {
        int rope = latentWidth - kvRank;
        float[] dst;
        int off;
        if (pool == null) {
            dst = latent[l];
            off = pos * latentWidth;
        } else {
            int bt = pool.blockTokens, slot = pos + shift;
            dst = pages[slot / bt];
            off = ((layer0 + l) * bt + slot % bt) * latentWidth;
        }
        System.arraycopy(ckv, ckvOff, dst, off, kvRank);
        System.arraycopy(kpe, kpeOff, dst, off + kvRank, rope);
    }

    /** ABSORB: the array that holds layer l's latent row {@code pos} (rows of kv_lora_rank + rope floats); see {@link #latentOffset}. */
    float[] latentArray(int l, int pos) { return pool == null ? latent[l] : pages[(pos + shift) / pool.blockTokens]; }

    /** ABSORB: where layer l's latent row {@code pos} starts in {@link #latentArray}. */
    int latentOffset(int l, int pos) {
        if (pool == null) return pos * latentWidth;
        int bt = pool.blockTokens, slot = pos + shift;
        return ((layer0 + l) * bt + slot % bt) * latentWidth;
    }

    /** ABSORB: how many rows from {@code pos} on lie one after another in the same {@link #latentArray}. */
    int latentRun(int pos) { return pool == null ? Integer.MAX_VALUE : pool.blockTokens - (pos + shift) % pool.blockTokens; }

    /**
     * ABSORB: layer l's latent rows 0..end-1 as one row-major [end, width] array: the layer's own array when
     * contiguous, else gathered from the blocks into {@code scratch} (at least end x width floats).
     */
    float[] latentRows(int l, int end, float[] scratch) {
        if (pool == null) return latent[l];
        int bt = pool.blockTokens, w = latentWidth, layer = layer0 + l;
        for (int p0 = 0; p0 < end; ) {
            int slot = p0 + shift, b = slot / bt, s0 = slot % bt, n = Math.min(bt - s0, end - p0);
            System.arraycopy(pages[b], (layer * bt + s0) * w, scratch, p0 * w, n * w);
            p0 += n;
        }
        return scratch;
    }
    /**
     * Makes positions 0..positions-1 writable: grows the arrays (to at least twice what they held, at most capacity),
     * keeping what they hold. Positions beyond capacity are the caller's error (checked by the model's forward).
     */
    public void ensure(int positions) {
        if (positions <= held || pool != null) return;
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

    /** Bytes held now (float32; paged: the bytes of its blocks). */
    public long bytes() { return bytesPerPosition() * held; }

    /** Bytes one position takes over all layers (float32). */
    public long bytesPerPosition() {
        long per = mode == AttnMode.ABSORB ? latentWidth : keyWidth + valueWidth;
        return 4L * per * layers();
    }

    /** ABSORB, contiguous: layer l's latent rows [capacity, kv_lora_rank + qk_rope_head_dim]. */
    float[] latent(int l) {
        if (pool != null) throw new IllegalStateException("a paged cache has no contiguous latent array");
        return latent[l];
    }

    /** NAIVE: layer l's keys [capacity, heads, qk_head_dim]. */
    float[] keys(int l) { return keys[l]; }

    /** NAIVE: layer l's values [capacity, heads, v_head_dim]. */
    float[] values(int l) { return values[l]; }
}
