package dev.jseek.serve;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An OpenAI-compatible HTTP server over one {@link ModelRunner}, on the JDK's {@code com.sun.net.httpserver}:
 * {@code GET /v1/models}, {@code GET /v1/models/{id}}, {@code POST /v1/chat/completions}, {@code POST /v1/completions},
 * {@code GET /health}; anything else 404. Connections are handled by a small pool of platform threads; generations
 * run one at a time in arrival order (the runner's fair lock), so further requests wait their turn.
 */
public final class OpenAiServer implements AutoCloseable {
    /** Handler threads: requests read, validated and queued concurrently; beyond this they wait for a thread. */
    static final int THREADS = 16;

    private final HttpServer http;
    private final ExecutorService pool;
    private final ServerOptions options;

    private OpenAiServer(HttpServer http, ExecutorService pool, ServerOptions options) {
        this.http = http;
        this.pool = pool;
        this.options = options;
    }

    /** Binds {@code options.host():options.port()} and starts serving {@code runner}. */
    public static OpenAiServer start(ModelRunner runner, ServerOptions options) throws IOException {
        HttpServer http = HttpServer.create(new InetSocketAddress(options.host(), options.port()), 64);
        long created = System.currentTimeMillis() / 1000;
        Metrics metrics = new Metrics(runner::stats);
        ApiHandler[] hs = {new ChatCompletionsHandler(runner, options), new CompletionsHandler(runner, options),
                new ModelsHandler(options, created), new HealthHandler(options), new MetricsHandler(metrics, options),
                new WebHandler(options)};
        String[] paths = {ChatCompletionsHandler.PATH, CompletionsHandler.PATH, ModelsHandler.PATH, HealthHandler.PATH,
                MetricsHandler.PATH, "/"};
        for (int i = 0; i < hs.length; i++) {
            hs[i].metrics = metrics;
            http.createContext(paths[i], hs[i]);
        }
        AtomicInteger n = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(THREADS, r -> {
            Thread t = new Thread(r, "jseek-serve-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        http.setExecutor(pool);
        http.start();
        return new OpenAiServer(http, pool, options);
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
        pool.shutdownNow();
    }
}
