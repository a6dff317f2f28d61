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
 * @param speculative  MTP speculative decoding: each decode step drafts a token per sequence with the model's MTP
 *                     module and verifies it in the batch forward (the same tokens; the model needs an MTP module,
 *                     whose latent cache then takes one more layer in every block)
 * @param maxRequestBytes latent cache one request may reserve (its prompt plus its maximum of new tokens, in whole
 *                     blocks); Long.MAX_VALUE = only the pool bounds it
 * @param prefillTokens prompt tokens one engine step prefills at most, as chunks of several sequences stacked in one
 *                     forward (at least one chunk; {@link #DEFAULT_PREFILL_TOKENS}); 0: one chunk of one sequence per
 *                     step, the engine before stacked prefill (kept for comparison)
 */
public record EngineOptions(long cacheBytes, int blockTokens, int prefillChunk, int maxBatch, int maxQueue,
                            boolean prefixCache, boolean speculative, long maxRequestBytes, int prefillTokens) {
    /**
     * The default of {@link #prefillTokens}: system property {@code jseek.engine.prefillTokens}, default 512 (8
     * chunks of 64; 0 = the engine before stacked prefill).
     */
    public static final int DEFAULT_PREFILL_TOKENS = Integer.getInteger("jseek.engine.prefillTokens", 512);

    /** Without speculative decoding and per-request limit, the default prefill tokens per step. */
    public EngineOptions(long cacheBytes, int blockTokens, int prefillChunk, int maxBatch, int maxQueue, boolean prefixCache) {
        this(cacheBytes, blockTokens, prefillChunk, maxBatch, maxQueue, prefixCache, false, Long.MAX_VALUE, DEFAULT_PREFILL_TOKENS);
    }

    public EngineOptions {
        if (maxRequestBytes < 1) throw new IllegalArgumentException("the per-request cache limit must be > 0 bytes, got " + maxRequestBytes);
        if (blockTokens < 1) throw new IllegalArgumentException("block size must be >= 1 token, got " + blockTokens);
        if (prefillChunk < blockTokens || prefillChunk % blockTokens != 0)
            throw new IllegalArgumentException("the prefill chunk (" + prefillChunk + " tokens) must be a multiple of the block size ("
                    + blockTokens + " tokens)");
        if (maxBatch < 1) throw new IllegalArgumentException("max batch must be >= 1, got " + maxBatch);
        if (maxQueue < 0) throw new IllegalArgumentException("max queue must be >= 0, got " + maxQueue);
        if (cacheBytes < 1) throw new IllegalArgumentException("the cache budget must be > 0 bytes, got " + cacheBytes);
        if (prefillTokens < 0) throw new IllegalArgumentException("prefill tokens per step must be >= 0, got " + prefillTokens
                + " (jseek.engine.prefillTokens)");
    }

    /** Defaults: {@link #defaultCacheBytes()}, 16-token blocks, 64-token prefill chunks, 16 sequences, 64 waiting. */
    public static EngineOptions defaults() {
        return new EngineOptions(defaultCacheBytes(), 16, 64, 16, 64, true);
    }

    public EngineOptions withCacheBytes(long b) { return new EngineOptions(b, blockTokens, prefillChunk, maxBatch, maxQueue, prefixCache, speculative, maxRequestBytes, prefillTokens); }

    public EngineOptions withMaxBatch(int n) { return new EngineOptions(cacheBytes, blockTokens, prefillChunk, n, maxQueue, prefixCache, speculative, maxRequestBytes, prefillTokens); }

    public EngineOptions withMaxQueue(int n) { return new EngineOptions(cacheBytes, blockTokens, prefillChunk, maxBatch, n, prefixCache, speculative, maxRequestBytes, prefillTokens); }

    public EngineOptions withPrefixCache(boolean on) { return new EngineOptions(cacheBytes, blockTokens, prefillChunk, maxBatch, maxQueue, on, speculative, maxRequestBytes, prefillTokens); }

    public EngineOptions withBlocks(int blockTokens, int prefillChunk) {
        return new EngineOptions(cacheBytes, blockTokens, prefillChunk, maxBatch, maxQueue, prefixCache, speculative, maxRequestBytes, prefillTokens);
    }

    public EngineOptions withSpeculative(boolean on) {
        return new EngineOptions(cacheBytes, blockTokens, prefillChunk, maxBatch, maxQueue, prefixCache, on, maxRequestBytes, prefillTokens);
    }

    public EngineOptions withMaxRequestBytes(long b) {
        return new EngineOptions(cacheBytes, blockTokens, prefillChunk, maxBatch, maxQueue, prefixCache, speculative, b, prefillTokens);
    }

    public EngineOptions withPrefillTokens(int n) {
        return new EngineOptions(cacheBytes, blockTokens, prefillChunk, maxBatch, maxQueue, prefixCache, speculative, maxRequestBytes, n);
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
