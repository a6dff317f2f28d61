package dev.jseek.serve;

/**
 * What one client may take from {@link OpenAiServer}: time to send a request, time for each write of the answer,
 * requests in progress at once, and generations waiting for their turn. Every refusal names the limit and the number
 * that hit it. (The latent cache one request may reserve is the engine's: {@code EngineOptions.maxRequestBytes},
 * accounted by {@code infer/CacheBudget} together with the pool.)
 *
 * @param readTimeoutMs    a request's headers and body must arrive within this many milliseconds of its first byte,
 *                         else the connection is closed (slow or stalled clients)
 * @param writeTimeoutMs   one write of the answer (a JSON body, an SSE event) may block this long on a client that
 *                         does not read, else the connection is closed and its generation stops
 * @param maxConnections   requests being read or served at once (stalled ones included); beyond it, 503 with the
 *                         numbers ({@code /health} is always answered)
 * @param maxQueued        generation requests waiting for their turn; beyond it, 429 with the numbers
 * @param heartbeatAfterMs a non-streaming generation still running after this many milliseconds commits its 200 and
 *                         sends JSON whitespace between tokens, so that a client that went away is noticed within a
 *                         token or two (its generation stops); negative = never
 */
public record ServerLimits(long readTimeoutMs, long writeTimeoutMs, int maxConnections, int maxQueued,
                           long heartbeatAfterMs) {
    /** 10 s to send a request, 30 s per write, 64 requests in progress, 32 queued, heartbeat after 1 s. */
    public static final ServerLimits DEFAULTS = new ServerLimits(10_000, 30_000, 64, 32, 1_000);

    public ServerLimits {
        if (readTimeoutMs < 1) throw new IllegalArgumentException("the read timeout must be >= 1 ms, got " + readTimeoutMs);
        if (writeTimeoutMs < 1) throw new IllegalArgumentException("the write timeout must be >= 1 ms, got " + writeTimeoutMs);
        if (maxConnections < 1) throw new IllegalArgumentException("max connections must be >= 1, got " + maxConnections);
        if (maxQueued < 0) throw new IllegalArgumentException("max queued must be >= 0, got " + maxQueued);
    }

    public ServerLimits withReadTimeoutMs(long v) { return new ServerLimits(v, writeTimeoutMs, maxConnections, maxQueued, heartbeatAfterMs); }

    public ServerLimits withWriteTimeoutMs(long v) { return new ServerLimits(readTimeoutMs, v, maxConnections, maxQueued, heartbeatAfterMs); }

    public ServerLimits withMaxConnections(int v) { return new ServerLimits(readTimeoutMs, writeTimeoutMs, v, maxQueued, heartbeatAfterMs); }

    public ServerLimits withMaxQueued(int v) { return new ServerLimits(readTimeoutMs, writeTimeoutMs, maxConnections, v, heartbeatAfterMs); }

    public ServerLimits withHeartbeatAfterMs(long v) { return new ServerLimits(readTimeoutMs, writeTimeoutMs, maxConnections, maxQueued, v); }

}
