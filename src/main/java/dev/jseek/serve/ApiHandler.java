package dev.jseek.serve;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The common frame of every endpoint, in this order: exact path match (else 404), allowed methods (else 405 with an
 * Allow header), the Host and Origin of a loopback server (else 403: DNS rebinding and cross-site pages), the
 * connection limit (else 503 with the numbers; {@code /health} is exempt), the API key (else 401), a JSON content
 * type on POST (else 415). Errors become OpenAI error JSON ({@link ApiError}); anything unexpected becomes a 500
 * whose message names no Java class and gives a number to find the stack trace by in the server log; a client that
 * went away or was too slow ({@link ClientGoneException}) is one log line. One log line per request: method, path,
 * status, prompt + completion tokens, milliseconds.
 */
abstract class ApiHandler implements HttpHandler {
    private static final AtomicLong INCIDENTS = new AtomicLong();

    private final Set<String> methods;
    private final PrintStream log;
    /** The server's options (null for a handler made with only a log); the API handlers read theirs here. */
    final ServerOptions options;
    /** Where requests are counted (set by {@link OpenAiServer}; null in handlers built alone). */
    volatile Metrics metrics;

    /** The endpoint's path: the server's context for it, and what {@link #matches} accepts unless a handler says more (null: built alone). */
    final String path;

    /** A handler with no key, no Host check and default limits (under a plain HttpServer; it says what it {@link #matches}). */
    ApiHandler(Set<String> methods, PrintStream log) {
        this.methods = new java.util.TreeSet<>(methods);
        this.log = log;
        this.options = null;
        this.path = null;
    }

    ApiHandler(String path, Set<String> methods, ServerOptions options) {
        this.methods = new java.util.TreeSet<>(methods);
        this.log = options.log();
        this.options = options;
        this.path = path;
    }

    /** Whether this handler serves {@code p} (the context matches by prefix; an endpoint wants its exact path unless it overrides this). */
    boolean matches(String p) { return p.equals(path); }

    /** Answers a request whose path and method are right. */
    abstract void serve(ApiCall call) throws IOException, InterruptedException;

    /** Whether this endpoint answers without a key and beyond the connection limit ({@code /health}). */
    boolean open() { return false; }

    ServerLimits limits() { return options == null ? ServerLimits.DEFAULTS : options.limits(); }

    @Override public final void handle(HttpExchange ex) {
        long t0 = System.nanoTime();
        ApiCall call = new ApiCall(ex, limits());
        try {
            if (!matches(call.path())) throw ApiError.notFound("no such endpoint: " + call.path()
                    + " (this server has GET /v1/models, POST /v1/chat/completions, POST /v1/completions, GET /health, GET /metrics, and the web chat at GET /)");
            if (!methods.contains(call.method())) {
                call.header("Allow", String.join(", ", methods));
                throw new ApiError(405, "invalid_request_error", null,
                        call.method() + " is not allowed on " + call.path() + "; use " + String.join(" or ", methods));
            }
            if (options != null) admit(call);
            if (!call.method().equals("POST")) call.requestRead();
            serve(call);
        } catch (ApiError e) {
            call.fail(e);
        } catch (ClientGoneException e) {
            call.gone(e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            call.fail(new ApiError(503, "server_error", null, "the server is shutting down"));
        } catch (OutOfMemoryError e) {
            call.fail(new ApiError(503, "server_error", null, "the server ran out of memory for this request; "
                    + "try a shorter prompt or a smaller max_tokens, or start the server with more heap (JSEEK_JAVA_OPTS=-Xmx...)"));
        } catch (Throwable t) {
            long n = INCIDENTS.incrementAndGet();
            synchronized (log) {
                log.println("serve: internal error #" + n + " on " + call.method() + " " + call.path() + ":");
                t.printStackTrace(log);
            }
            call.fail(new ApiError(500, "server_error", null, "internal error #" + n + " (details in the server log)"));
        } finally {
            // closing drains what is left of the body and ends the answer: under a deadline too
            ConnectionGuard.Slot slot = ConnectionGuard.current();
            if (slot != null) slot.arm(limits().readTimeoutMs());
            ex.close();
            if (slot != null) slot.disarm();
            StringBuilder line = new StringBuilder("serve: ").append(call.method()).append(' ').append(call.path())
                    .append(' ').append(call.status());
            if (call.promptTokens() >= 0)
                line.append(" tokens ").append(call.promptTokens()).append('+').append(call.completionTokens());
            line.append(' ').append((System.nanoTime() - t0) / 1_000_000).append(" ms");
            if (call.clientGone()) line.append(" (client went away").append(call.goneWhy() == null
                    || call.goneWhy().equals("the client went away") ? "" : ": " + call.goneWhy()).append(')');
            if (call.ttftMillis() >= 0) line.append(" ttft ").append(call.ttftMillis()).append(" ms");
            if (call.cachedTokens() > 0) line.append(" cached ").append(call.cachedTokens());
            if (call.finishReason() != null) line.append(' ').append(call.finishReason());
            log.println(dev.jseek.io.Printable.escape(line.toString()));
            Metrics m = metrics;
            if (m != null) {
                m.request(endpointLabel(call.path()), call.status(), call.promptTokens(), call.completionTokens());
                if (call.timings() != null) for (long[] t : call.timings()) m.tokenTimes(t);
            }
        }
    }

    /** The endpoint label of a path for /metrics: a known endpoint, else "other" (no unbounded label values). */
    private static String endpointLabel(String path) {
        return switch (path) {
            case "/v1/chat/completions", "/v1/completions", "/v1/models", "/health", "/metrics", "/" -> path;
            default -> path.startsWith("/v1/models/") ? "/v1/models/{id}" : "other";
        };
    }

    /**
     * Refuses (429, with the numbers) a generation when {@link ServerLimits#maxQueued} requests already wait for their
     * turn, and (400) one that needs more latent cache than a request may reserve ({@link ModelRunner#checkCacheBudget}).
     */
    void admitGeneration(ModelRunner runner, int[][] prompts, SamplingParams p, String promptParam) {
        ServerLimits l = limits();
        runner.checkModelFiles();
        int waiting = runner.waiting();
        if (runner.busy() && waiting + (long) prompts.length * p.n() > l.maxQueued())
            throw new ApiError(429, "rate_limit_error", null, "the server is busy: " + waiting
                    + " generation requests are waiting (limit " + l.maxQueued() + ") for a batch slot; retry later").retryAfter(1);
        for (int[] prompt : prompts) runner.checkCacheBudget(prompt.length, p.maxTokens(), promptParam);
    }

    /** Host/Origin, connection limit, key, content type. */
    private void admit(ApiCall call) {
        boolean loopback = Loopback.isLoopbackHost(options.host());
        if (loopback) {
            String host = call.requestHeader("Host");
            if (host == null || !Loopback.isLoopbackAuthority(host))
                throw new ApiError(403, "invalid_request_error", null, "Host " + (host == null ? "is missing" : "'" + host + "'")
                        + ": this server listens on a loopback address and answers only Host localhost, 127.0.0.1 or [::1]");
            String origin = call.requestHeader("Origin");
            if (origin != null && options.apiKey() == null && !Loopback.isLoopbackOrigin(origin))
                throw new ApiError(403, "invalid_request_error", null, "Origin '" + origin
                        + "' is not this machine; requests from web pages elsewhere need the server started with --api-key");
        }
        ConnectionGuard.Slot slot = ConnectionGuard.current();
        if (!open() && slot != null) {
            int n = slot.guard().inFlight(), max = options.limits().maxConnections();
            if (n > max) {
                call.header("Retry-After", "1");
                throw new ApiError(503, "server_error", null, "the server is busy: " + n + " requests in progress (limit "
                        + max + "); retry later");
            }
        }
        if (options.apiKey() != null && !open()) {
            String auth = call.requestHeader("Authorization");
            String want = "Bearer " + options.apiKey();
            if (auth == null || !MessageDigest.isEqual(auth.getBytes(StandardCharsets.UTF_8), want.getBytes(StandardCharsets.UTF_8))) {
                call.header("WWW-Authenticate", "Bearer");
                throw new ApiError(401, "invalid_request_error", null, auth == null
                        ? "this server needs an API key: send the header Authorization: Bearer <key>"
                        : "the API key in the Authorization header is not this server's");
            }
        }
        if (call.method().equals("POST")) {
            String ct = call.requestHeader("Content-Type");
            String base = ct == null ? null : ct.split(";", 2)[0].trim();
            if (base == null || !base.equalsIgnoreCase("application/json"))
                throw new ApiError(415, "invalid_request_error", null, "the Content-Type must be application/json, got "
                        + (ct == null ? "none" : "'" + ct + "'"));
        }
    }
}
