package dev.jseek.serve;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * An OpenAI-compatible HTTP server over one {@link ModelRunner}, on the JDK's {@code com.sun.net.httpserver}:
 * {@code GET /v1/models}, {@code GET /v1/models/{id}}, {@code POST /v1/chat/completions}, {@code POST /v1/completions},
 * {@code GET|HEAD /health}, {@code GET /metrics} (Prometheus text), the web chat at {@code GET /}; anything else
 * 404. Each exchange runs on its own virtual thread under a
 * {@link ConnectionGuard} (read and write deadlines, so stalled clients are dropped and never hold others up), at most
 * {@link ServerLimits#maxConnections} at once (503 beyond, {@code /health} exempt); generations are decoded together by the
 * runner's continuous-batching engine, at most {@link ServerLimits#maxQueued} waiting for a batch slot (429 beyond). Without an
 * API key only a loopback address may be bound (unless {@link ServerOptions#insecure}).
 */
public final class OpenAiServer implements AutoCloseable {
    private final HttpServer http;
    private final ConnectionGuard guard;
    private final ServerOptions options;

    private OpenAiServer(HttpServer http, ConnectionGuard guard, ServerOptions options) {
        this.http = http;
        this.guard = guard;
        this.options = options;
    }

    /**
     * Binds {@code options.host():options.port()} and starts serving {@code runner}. Refuses (IllegalArgumentException)
     * a non-loopback address without an API key unless the options say insecure.
     */
    public static OpenAiServer start(ModelRunner runner, ServerOptions options) throws IOException {
        if (options.apiKey() == null && !options.insecure() && !Loopback.isLoopbackHost(options.host()))
            throw new IllegalArgumentException("refusing to serve " + options.host() + " (not a loopback address) without an API key: "
                    + "anyone who can reach it could run generations; give --api-key KEY (or JSEEK_API_KEY), or --insecure to serve it open");
        HttpServer http = HttpServer.create(new InetSocketAddress(options.host(), options.port()), 64);
        Metrics metrics = new Metrics(runner::stats);
        ApiHandler[] hs = {new ChatCompletionsHandler(runner, options), new CompletionsHandler(runner, options), new ModelsHandler(options),
                new HealthHandler(runner, options), new MetricsHandler(options), new WebHandler(options)};
        for (ApiHandler h : hs) {
            h.metrics = metrics;
            http.createContext(h.path, h);
        }
        ConnectionGuard guard = new ConnectionGuard(options.limits());
        http.setExecutor(guard);
        http.start();
        return new OpenAiServer(http, guard, options);
    }

    /** The port listened on (the one picked when the options said 0). */
    public int port() { return http.getAddress().getPort(); }

    /** {@code http://host:port} (IPv6 hosts in brackets). */
    public String url() {
        String h = options.host();
        return "http://" + (h.contains(":") ? "[" + h + "]" : h) + ":" + port();
    }

    /** Stops listening; requests in progress get up to a second to finish. Close the runner after this. */
    @Override public void close() {
        http.stop(1);
        guard.close();
    }
}
