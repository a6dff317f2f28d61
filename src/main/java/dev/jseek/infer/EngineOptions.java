package dev.jseek.infer;

/**
 * How the {@link BatchEngine} schedules and what memory it may use.
 *
 * @param cacheBytes   the latent cache pool's budget in bytes (see {@link #defaultCacheBytes})
 * @param blockTokens  positions per cache block
 * @param prefillChunk prompt tokens per prefill forward (a multiple of blockTokens): long prompts are prefilled a
 *                     chunk at a time between decode steps; also the prefix cache's granularity
 * @param maxBatch     sequences decoded together at most (more wait in the queue); a decode forward takes at most
 *                     {@link dev.jseek.kernels.Gemm#GEMV_MAX_M} rows, larger batches take several
 * @param maxQueue     requests waiting for admission at most; past it {@link BatchEngine#submit} refuses
 *                     ({@link BatchEngine.QueueFullException})
 * @param prefixCache  whether prompt prefixes are reused across requests
 */
public record EngineOptions(long cacheBytes, int blockTokens, int prefillChunk, int maxBatch, int maxQueue,
                            boolean prefixCache) {
    public EngineOptions {
        if (blockTokens < 1) throw new IllegalArgumentException("block size must be >= 1 token, got " + blockTokens);
        if (prefillChunk < blockTokens || prefillChunk % blockTokens != 0)
            throw new IllegalArgumentException("the prefill chunk (" + prefillChunk + " tokens) must be a multiple of the block size ("
                    + blockTokens + " tokens)");
        if (maxBatch < 1) throw new IllegalArgumentException("max batch must be >= 1, got " + maxBatch);
        if (maxQueue < 0) throw new IllegalArgumentException("max queue must be >= 0, got " + maxQueue);
        if (cacheBytes < 1) throw new IllegalArgumentException("the cache budget must be > 0 bytes, got " + cacheBytes);
    }

    /** Defaults: {@link #defaultCacheBytes()}, 16-token blocks, 64-token prefill chunks, 16 sequences, 64 waiting. */
    public static EngineOptions defaults() {
        return new EngineOptions(defaultCacheBytes(), 16, 64, 16, 64, true);
    }

    public EngineOptions withCacheBytes(long b) { return new EngineOptions(b, blockTokens, prefillChunk, maxBatch, maxQueue, prefixCache); }

    public EngineOptions withMaxBatch(int n) { return new EngineOptions(cacheBytes, blockTokens, prefillChunk, n, maxQueue, prefixCache); }

    public EngineOptions withMaxQueue(int n) { return new EngineOptions(cacheBytes, blockTokens, prefillChunk, maxBatch, n, prefixCache); }

    public EngineOptions withPrefixCache(boolean on) { return new EngineOptions(cacheBytes, blockTokens, prefillChunk, maxBatch, maxQueue, on); }

    public EngineOptions withBlocks(int blockTokens, int prefillChunk) {
        return new EngineOptions(cacheBytes, blockTokens, prefillChunk, maxBatch, maxQueue, prefixCache);
    }

    /**
     * Half of the Java heap still available now (max heap - used), at least 16 MiB: the default budget once the
     * model is loaded (its mmapped weights are outside the heap; activations and scratch need the other half).
     */
    public static long defaultCacheBytes() {
        Runtime rt = Runtime.getRuntime();
        long avail = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
        return Math.max(16L << 20, avail / 2);
    }
}
