package dev.jseek.serve;

import java.io.PrintStream;
import java.time.Duration;

/**
 * How {@link OpenAiServer} listens and answers.
 *
 * @param host      address to bind (127.0.0.1: this machine only)
 * @param port      TCP port; 0 picks a free one
 * @param modelName the model id clients see in {@code /v1/models} and every response
 * @param defaults  max_tokens and temperature of requests that give none
 * @param log       where the one-line-per-request log goes (stderr in the CLI)
 * @param limits    timeouts and per-request limits
 * @param apiKey    the key every request but {@code /health} must bring as {@code Authorization: Bearer KEY}; null =
 *                  none (then only a loopback address may be bound, unless {@code insecure})
 * @param insecure  allow binding a non-loopback address without a key
 * @param generationTimeout a generation's deadline from the start of its request (queueing included); null = none.
 *                  A request that hits it ends with finish_reason "length" and what it has so far.
 */
public record ServerOptions(String host, int port, String modelName, SamplingParams.Defaults defaults, PrintStream log,
                            ServerLimits limits, String apiKey, boolean insecure, Duration generationTimeout) {
    public ServerOptions {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be in 0..65535, got " + port);
        if (modelName == null || modelName.isBlank()) throw new IllegalArgumentException("the model name is empty");
        if (defaults.maxTokens() < 1) throw new IllegalArgumentException("the default max tokens must be >= 1, got " + defaults.maxTokens());
        if (!(defaults.temperature() >= 0)) throw new IllegalArgumentException("the default temperature must be >= 0, got " + defaults.temperature());
        if (limits == null) limits = ServerLimits.DEFAULTS;
        if (apiKey != null && apiKey.isEmpty()) throw new IllegalArgumentException("the API key is empty");
        if (apiKey != null && !apiKey.chars().allMatch(c -> c > 0x20 && c < 0x7f))
            throw new IllegalArgumentException("the API key must be printable ASCII without spaces");
    }

    /** Loopback only, no key, default limits. */
    public ServerOptions(String host, int port, String modelName, SamplingParams.Defaults defaults, PrintStream log) {
        this(host, port, modelName, defaults, log, ServerLimits.DEFAULTS, null, false, null);
    }

    /** The deadline of a generation starting now ({@link System#nanoTime()}), 0 = none. */
    public long deadlineNanos() {
        if (generationTimeout == null) return 0;
        long d = System.nanoTime() + generationTimeout.toNanos();
        return d == 0 ? 1 : d;
    }

    public ServerOptions withGenerationTimeout(Duration t) { return new ServerOptions(host, port, modelName, defaults, log, limits, apiKey, insecure, t); }

    public ServerOptions withLimits(ServerLimits l) { return new ServerOptions(host, port, modelName, defaults, log, l, apiKey, insecure, generationTimeout); }

    public ServerOptions withApiKey(String key) { return new ServerOptions(host, port, modelName, defaults, log, limits, key, insecure, generationTimeout); }

    public ServerOptions withInsecure(boolean v) { return new ServerOptions(host, port, modelName, defaults, log, limits, apiKey, v, generationTimeout); }
}
