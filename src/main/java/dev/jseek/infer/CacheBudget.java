package dev.jseek.infer;

import dev.jseek.model.BlockPool;

/**
 * The latent cache accounting of the {@link BatchEngine}, one for every limit: a request reserves whole blocks of
 * the pool for its prompt plus its maximum of new tokens (clamped to the context), each block
 * {@link BlockPool#blockBytes} bytes (every main layer, and the MTP layer with speculative decoding). The most one
 * request may reserve is the smaller of the pool ({@link EngineOptions#cacheBytes}, {@code --kv-cache-mb}) and the
 * per-request limit ({@link EngineOptions#maxRequestBytes}, {@code --max-cache-mib}), both in whole blocks. A request
 * over it is refused at once ({@link BatchEngine.CacheTooSmallException}, naming the numbers: the prompt when even
 * the prompt and one new token do not fit, else max_tokens with the largest that fits); a request within it waits
 * for free blocks when running sequences hold them.
 */
public final class CacheBudget {
    private final BlockPool pool;
    private final long maxRequestBytes;
    private final int context;

    CacheBudget(BlockPool pool, long maxRequestBytes, int context) {
        this.pool = pool;
        this.maxRequestBytes = maxRequestBytes;
        this.context = context;
    }

    /** Bytes one position takes in the pool (all its layers, float32). */
    public long bytesPerToken() { return pool.blockBytes() / pool.blockTokens; }

    /** Blocks one request may reserve at most. */
    public int maxRequestBlocks() { return (int) Math.min(pool.capacity, maxRequestBytes / pool.blockBytes()); }

    /** Positions one request may reserve at most. */
    public long maxRequestTokens() { return (long) maxRequestBlocks() * pool.blockTokens; }

    /** Positions a request reserves: its prompt plus its maximum of new tokens, at most the context. */
    public int positions(int promptTokens, int maxNewTokens) {
        return (int) Math.min(context, (long) promptTokens + Math.max(1, maxNewTokens));
    }

    /** Blocks a request of {@code promptTokens} + up to {@code maxNewTokens} reserves. */
    public int blocks(int promptTokens, int maxNewTokens) { return pool.blocksFor(positions(promptTokens, maxNewTokens)); }

    /**
     * Refuses a request that can never be admitted: {@link BatchEngine.CacheTooSmallException} with param "prompt"
     * when the prompt and one new token need more than {@link #maxRequestBlocks}, "max_tokens" when the prompt fits
     * but not with {@code maxNewTokens} more.
     */
    public void check(int promptTokens, int maxNewTokens) {
        int max = maxRequestBlocks();
        int need = blocks(promptTokens, maxNewTokens);
        if (need <= max) return;
        long fitPositions = maxRequestTokens();
        String limits = limits();
        if (pool.blocksFor(promptTokens + 1) > max)
            throw new BatchEngine.CacheTooSmallException("prompt", "the prompt is " + promptTokens + " tokens, and with one new token it needs "
                    + pool.blocksFor(promptTokens + 1) + " blocks of the latent cache; " + limits + ": a prompt of at most "
                    + Math.max(0, fitPositions - 1) + " tokens fits (raise " + binding() + ")");
        int positions = positions(promptTokens, maxNewTokens);
        throw new BatchEngine.CacheTooSmallException("max_tokens", "this request could need " + need + " blocks of the latent cache ("
                + promptTokens + " prompt + " + (positions - promptTokens) + " completion tokens, " + mib((long) need * pool.blockBytes())
                + "); " + limits + ": ask for max_tokens <= " + (fitPositions - promptTokens) + " (or raise " + binding() + ")");
    }

    /** "a request may reserve M blocks of T tokens (X MiB at B bytes per token): the pool ..., the limit per request ...". */
    private String limits() {
        long blockBytes = pool.blockBytes();
        return "a request may reserve " + maxRequestBlocks() + " blocks of " + pool.blockTokens + " tokens ("
                + mib(maxRequestBlocks() * blockBytes) + " at " + bytesPerToken() + " bytes per token): the pool holds "
                + pool.capacity + " blocks (" + mib(pool.capacity * blockBytes) + ", --kv-cache-mb)"
                + (maxRequestBytes == Long.MAX_VALUE ? "" : " and the per-request limit is " + mib(maxRequestBytes) + " (--max-cache-mib)");
    }

    /** The limit that binds. */
    private String binding() {
        return maxRequestBytes / pool.blockBytes() < pool.capacity ? "--max-cache-mib" : "--kv-cache-mb";
    }

    static String mib(long bytes) { return String.format("%.1f MiB", bytes / 1048576.0); }
}
