package dev.jseek.model;

/**
 * The paged MLA latent cache's memory: a pool of fixed-size blocks under a memory budget. A block holds
 * {@link #blockTokens} positions of every layer, [layers][blockTokens][kv_lora_rank + qk_rope_head_dim] floats (the
 * latent of report §2.1.2, 576 floats per token per layer for V3). A {@link KvCache} made by
 * {@link KvCache#paged} reads and writes its positions through a table of block ids, so a sequence's cache grows
 * block by block and blocks can be shared between sequences (a common prompt prefix) by reference counting.
 *
 * <p>Blocks are allocated lazily (the budget bounds the memory, it is not taken up front) and kept for reuse once
 * freed. Thread-safe: the engine's scheduler allocates and frees while request threads ask for the numbers.
 */
public final class BlockPool {
    /** Positions per block. */
    public final int blockTokens;
    public final int layers;
    /** Floats per position per layer: kv_lora_rank + qk_rope_head_dim. */
    public final int width;
    /** kv_lora_rank (the c_kv part of a latent row). */
    final int kvRank;
    /** Blocks the budget allows. */
    public final int capacity;
    private final float[][] blocks;
    private final int[] refs;
    private final int[] free;
    private int freeCount;

    /**
     * A pool of {@code capacityBlocks} blocks of {@code blockTokens} positions for {@code layers} layers of
     * {@code cfg}.
     */
    public BlockPool(ModelConfig cfg, int layers, int blockTokens, int capacityBlocks) {
        if (blockTokens < 1) throw new IllegalArgumentException("block size must be >= 1 token, got " + blockTokens);
        if (capacityBlocks < 1) throw new IllegalArgumentException("the latent cache pool needs at least one block, got " + capacityBlocks);
        this.blockTokens = blockTokens;
        this.layers = layers;
        this.kvRank = cfg.kvLoraRank();
        this.width = cfg.kvLoraRank() + cfg.qkRopeHeadDim();
        long floats = (long) layers * blockTokens * width;
        if (floats > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("a block of " + blockTokens + " tokens x " + layers + " layers x " + width
                    + " floats is too large; use a smaller block size");
        this.capacity = capacityBlocks;
        this.blocks = new float[capacityBlocks][];
        this.refs = new int[capacityBlocks];
        this.free = new int[capacityBlocks];
        for (int i = 0; i < capacityBlocks; i++) free[i] = capacityBlocks - 1 - i; // block 0 handed out first
        this.freeCount = capacityBlocks;
    }

    /** Bytes of one block (float32). */
    public long blockBytes() { return 4L * layers * blockTokens * width; }

    /** Bytes per token of cache (all layers). */
    public static long bytesPerToken(ModelConfig cfg, int layers) {
        return 4L * layers * (cfg.kvLoraRank() + cfg.qkRopeHeadDim());
    }

    /** Blocks that fit in {@code budgetBytes} (at least 1). */
    public static int blocksFor(ModelConfig cfg, int layers, int blockTokens, long budgetBytes) {
        long per = bytesPerToken(cfg, layers) * blockTokens;
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE - 8, budgetBytes / per));
    }

    /** Blocks needed for {@code tokens} positions. */
    public int blocksFor(int tokens) { return (tokens + blockTokens - 1) / blockTokens; }

    public synchronized int freeBlocks() { return freeCount; }

    public synchronized int usedBlocks() { return capacity - freeCount; }

    /** Takes a free block (reference count 1), or returns -1 when none is free. */
    public synchronized int allocate() {
        if (freeCount == 0) return -1;
        int id = free[--freeCount];
        refs[id] = 1;
        if (blocks[id] == null) blocks[id] = new float[layers * blockTokens * width];
        return id;
    }

    /** One more user of block {@code id} (a sequence sharing a cached prefix). */
    public synchronized void retain(int id) {
        if (refs[id] <= 0) throw new IllegalStateException("block " + id + " is free");
        refs[id]++;
    }

    /** One user fewer; the block is free again at zero. */
    public synchronized void release(int id) {
        if (refs[id] <= 0) throw new IllegalStateException("block " + id + " released twice");
        if (--refs[id] == 0) free[freeCount++] = id;
    }

    /** Users of block {@code id} (0 = free). */
    public synchronized int refCount(int id) { return refs[id]; }

    /** Drops the memory of the free blocks (they are allocated again when needed). */
    public synchronized void trim() {
        for (int i = 0; i < freeCount; i++) blocks[free[i]] = null;
    }

    /** Bytes of blocks allocated (in use or kept for reuse). */
    public synchronized long allocatedBytes() {
        long n = 0;
        for (float[] b : blocks) if (b != null) n++;
        return n * blockBytes();
    }

    /** The storage of block {@code id}: layer l's row s at (l * blockTokens + s) * width. */
    float[] block(int id) { return blocks[id]; }
}
