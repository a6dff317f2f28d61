package dev.jseek.serve;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.PrintStream;
import java.util.Set;

/**
 * The common frame of every endpoint: exact path match (else 404), allowed methods (else 405 with an Allow header),
 * errors turned into OpenAI error JSON ({@link ApiError}; anything unexpected becomes a 500 whose message names the
 * exception, its stack trace going to the server log only), and one log line per request: method, path, status,
 * prompt + completion tokens, milliseconds.
 */
abstract class ApiHandler implements HttpHandler {
    private final Set<String> methods;
    private final PrintStream log;
    /** Where requests are counted (set by {@link OpenAiServer}; null in handlers built alone). */
    volatile Metrics metrics;

    ApiHandler(Set<String> methods, PrintStream log) {
        this.methods = methods;
        this.log = log;
    }

    /** The endpoint label of a path for /metrics: a known endpoint, else "other" (no unbounded label values). */
    private static String endpointLabel(String path) {
        return switch (path) {
            case "/v1/chat/completions", "/v1/completions", "/v1/models", "/health", "/metrics", "/" -> path;
            default -> path.startsWith("/v1/models/") ? "/v1/models/{id}" : "other";
        };
    }

    /** Whether this handler serves {@code path} (the context matches by prefix; the endpoint wants more). */
    abstract boolean matches(String path);

    /** Answers a request whose path and method are right. */
    abstract void serve(ApiCall call) throws IOException, InterruptedException;

    @Override public final void handle(HttpExchange ex) {
        long t0 = System.nanoTime();
        ApiCall call = new ApiCall(ex);
        try {
            if (!matches(call.path())) throw ApiError.notFound("no such endpoint: " + call.path()
                    + " (this server has GET /v1/models, POST /v1/chat/completions, POST /v1/completions, GET /health, GET /metrics, and the web chat at GET /)");
            if (!methods.contains(call.method())) {
                call.header("Allow", String.join(", ", new java.util.TreeSet<>(methods)));
                throw new ApiError(405, "invalid_request_error", null,
                        call.method() + " is not allowed on " + call.path() + "; use " + String.join(" or ", new java.util.TreeSet<>(methods)));
            }
            serve(call);
        } catch (ApiError e) {
            call.fail(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            call.fail(new ApiError(503, "server_error", null, "the server is shutting down"));
        } catch (Throwable t) {
            synchronized (log) {
                log.println("serve: internal error on " + call.method() + " " + call.path() + ":");
                t.printStackTrace(log);
            }
            call.fail(new ApiError(500, "server_error", null, "internal error: " + t.getClass().getSimpleName()
                    + (t.getMessage() == null ? "" : ": " + t.getMessage())));
        } finally {
            ex.close();
            StringBuilder line = new StringBuilder("serve: ").append(call.method()).append(' ').append(call.path())
                    .append(' ').append(call.status());
            if (call.promptTokens() >= 0)
                line.append(" tokens ").append(call.promptTokens()).append('+').append(call.completionTokens());
            line.append(' ').append((System.nanoTime() - t0) / 1_000_000).append(" ms");
            if (call.ttftMillis() >= 0) line.append(" ttft ").append(call.ttftMillis()).append(" ms");
            if (call.cachedTokens() > 0) line.append(" cached ").append(call.cachedTokens());
            if (call.finishReason() != null) line.append(' ').append(call.finishReason());
            if (call.clientGone()) line.append(" (client went away)");
            log.println(line);
            Metrics m = metrics;
            if (m != null) {
                m.request(call.path().length() > 64 ? "other" : endpointLabel(call.path()), call.status(),
                        call.promptTokens(), call.completionTokens());
                if (call.timings() != null) for (long[] t : call.timings()) m.tokenTimes(t);
            }
        }
    }
}
