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
 * @param requestTimeout a generation's deadline from the start of its request (queueing included); null = none.
 *                  A request that hits it ends with finish_reason "length" and what it has so far.
 */
public record ServerOptions(String host, int port, String modelName, SamplingParams.Defaults defaults, PrintStream log,
                            Duration requestTimeout) {
    public ServerOptions(String host, int port, String modelName, SamplingParams.Defaults defaults, PrintStream log) {
        this(host, port, modelName, defaults, log, null);
    }

    /** The deadline of a generation starting now ({@link System#nanoTime()}), 0 = none. */
    public long deadlineNanos() {
        if (requestTimeout == null) return 0;
        long d = System.nanoTime() + requestTimeout.toNanos();
        return d == 0 ? 1 : d;
    }

    public ServerOptions {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be in 0..65535, got " + port);
        if (modelName == null || modelName.isBlank()) throw new IllegalArgumentException("the model name is empty");
        if (defaults.maxTokens() < 1) throw new IllegalArgumentException("the default max tokens must be >= 1, got " + defaults.maxTokens());
        if (!(defaults.temperature() >= 0)) throw new IllegalArgumentException("the default temperature must be >= 0, got " + defaults.temperature());
    }
}
