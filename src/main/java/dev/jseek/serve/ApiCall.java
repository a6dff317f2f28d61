package dev.jseek.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * One HTTP exchange as the handlers see it: the request body (bounded, and read within
 * {@link ServerLimits#readTimeoutMs}), a JSON answer or an SSE stream (each write within
 * {@link ServerLimits#writeTimeoutMs}), the {@link Cancellation} a generation polls, and what the request log line
 * reports (status, prompt and completion tokens).
 */
final class ApiCall {
    /** Request bodies above this are refused with 413 before they are read whole. */
    static final int MAX_BODY = 16 << 20;

    private final HttpExchange ex;
    private final ConnectionGuard.Slot slot;
    private final ServerLimits limits;
    private final long startNanos = System.nanoTime();
    private int status;
    private SseWriter sse;
    private OutputStream committed;
    private int promptTokens = -1, completionTokens = -1;
    private boolean clientGone;
    private String goneWhy;

    ApiCall(HttpExchange ex) { this(ex, ServerLimits.DEFAULTS); }

    ApiCall(HttpExchange ex, ServerLimits limits) {
        this.ex = ex;
        this.slot = ConnectionGuard.current();
        this.limits = limits;
    }

    String method() { return ex.getRequestMethod(); }

    /** The raw (still percent-encoded) request path: safe to log. */
    String path() { return ex.getRequestURI().getRawPath(); }

    /** The decoded request path. */
    String decodedPath() { return ex.getRequestURI().getPath(); }

    /** A request header (the first value), or null. */
    String requestHeader(String name) { return ex.getRequestHeaders().getFirst(name); }

    /** The HTTP status sent (0 before any). */
    int status() { return status; }

    int promptTokens() { return promptTokens; }

    int completionTokens() { return completionTokens; }

    void tokens(ModelRunner.Outcome r) {
        promptTokens = r.promptTokens();
        completionTokens = r.completionTokens();
        if (r.clientGone()) gone("the client went away");
    }

    /** The tokens of n choices: the prompt once, the completions summed; the first choice's timing. */
    void tokens(ModelRunner.Outcome[] rs) { tokens(rs, rs.length); }

    /** As {@link #tokens(ModelRunner.Outcome[])} for several prompts' choices, {@code perPrompt} to a prompt (each prompt once). */
    void tokens(ModelRunner.Outcome[] rs, int perPrompt) {
        tokens(rs[0]);
        promptTokens = OpenAiJson.promptTokens(rs, perPrompt);
        for (int i = 1; i < rs.length; i++) {
            completionTokens += rs[i].completionTokens();
            if (rs[i].clientGone()) gone("the client went away");
        }
        if (rs[0].completion() != null) {
            cachedTokens = rs[0].completion().cachedPromptTokens();
            finish = rs[0].finishReason();
            long[] t = rs[0].completion().tokenNanos();
            if (t.length > 0) ttftMillis = t[0] / 1_000_000;
        }
        timings = new long[rs.length][];
        for (int i = 0; i < rs.length; i++) timings[i] = rs[i].completion() == null ? null : rs[i].completion().tokenNanos();
    }

    private int cachedTokens = -1;
    private long ttftMillis = -1;
    private String finish;
    private long[][] timings;

    /** Prompt tokens reused from the prefix cache (-1 when unknown). */
    int cachedTokens() { return cachedTokens; }

    /** The first choice's time to first token in ms (-1 when unknown). */
    long ttftMillis() { return ttftMillis; }

    /** The first choice's finish reason (null when none). */
    String finishReason() { return finish; }

    /** Token arrival times of each choice (null when none). */
    long[][] timings() { return timings; }

    /** Whether the client went away (or was too slow) before the answer was complete. */
    boolean clientGone() { return clientGone; }

    /** Why the client is counted gone (for the log), or null. */
    String goneWhy() { return goneWhy; }

    void gone(String why) {
        if (!clientGone) goneWhy = why;
        clientGone = true;
    }

    /** The request is read (or has no body): the read deadline no longer applies. */
    void requestRead() throws ClientGoneException {
        if (slot != null && slot.disarm())
            throw new ClientGoneException("the request was not received within " + limits.readTimeoutMs() + " ms");
    }

    /** The request body as a JSON object (400 when it is not one, 413 when it is larger than {@link #MAX_BODY}). */
    ObjectNode jsonBody() throws IOException {
        byte[] b;
        try (InputStream in = ex.getRequestBody()) {
            b = in.readNBytes(MAX_BODY + 1);
        } catch (IOException e) {
            requestRead();
            throw new ClientGoneException("the client went away while sending its request (" + e.getClass().getSimpleName() + ")");
        }
        requestRead();
        if (b.length > MAX_BODY)
            throw new ApiError(413, "invalid_request_error", null, "the request body is larger than " + (MAX_BODY >> 20) + " MiB");
        return RequestFields.parseObject(b);
    }

    /**
     * Writes {@code b} and flushes within the write deadline; with {@code close}, then closes the stream within the
     * read deadline (closing drains what the client still sends of its body).
     */
    private void write(OutputStream out, byte[] b, boolean close) throws IOException {
        if (slot != null) slot.arm(limits.writeTimeoutMs());
        IOException failed = null;
        try {
            out.write(b);
            out.flush();
        } catch (IOException e) {
            failed = e;
        }
        boolean late = slot != null && slot.disarm();
        if (failed == null && close) {
            if (slot != null) slot.arm(limits.readTimeoutMs());
            try {
                out.close();
            } catch (IOException e) {
                failed = e;
            }
            if (slot != null) slot.disarm();
        }
        if (failed != null) throw new ClientGoneException(late
                ? "the client did not read the answer within " + limits.writeTimeoutMs() + " ms"
                : "the client went away (" + failed.getClass().getSimpleName() + ")");
    }

    void sendJson(int code, JsonNode body) throws IOException {
        byte[] b;
        try {
            b = RequestFields.JSON.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        if (committed != null) { // a heartbeat already sent 200 and whitespace: the body follows
            write(committed, b, true);
            return;
        }
        ex.getResponseHeaders().set("Content-Type", "application/json");
        if (slot != null) slot.arm(limits.writeTimeoutMs());
        try {
            ex.sendResponseHeaders(code, b.length);
        } finally {
            if (slot != null) slot.disarm();
        }
        status = code;
        write(ex.getResponseBody(), b, true);
    }

    /** Answers a HEAD request: status and content type, no body. */
    void sendHead(int code, String contentType) throws IOException {
        ex.getResponseHeaders().set("Content-Type", contentType);
        ex.sendResponseHeaders(code, -1);
        status = code;
    }

    /** Sends a body of another content type (the web page, /metrics); HEAD gets the headers only. */
    void sendBytes(int code, String contentType, byte[] b) throws IOException {
        if (method().equals("HEAD")) {
            sendHead(code, contentType);
            return;
        }
        ex.getResponseHeaders().set("Content-Type", contentType);
        if (slot != null) slot.arm(limits.writeTimeoutMs());
        try {
            ex.sendResponseHeaders(code, b.length == 0 ? -1 : b.length);
        } finally {
            if (slot != null) slot.disarm();
        }
        status = code;
        write(ex.getResponseBody(), b, true);
    }

    /** Starts a 200 Server-Sent Events response (chunked). */
    SseWriter startSse() throws IOException {
        ex.getResponseHeaders().set("Content-Type", SseWriter.CONTENT_TYPE);
        ex.getResponseHeaders().set("Cache-Control", "no-cache");
        ex.sendResponseHeaders(200, 0);
        status = 200;
        sse = new SseWriter(ex.getResponseBody(), slot, limits.writeTimeoutMs());
        return sse;
    }

    /**
     * The cancellation hook of this request's generation. Streaming: the stream broke. Otherwise, once the request
     * has run for {@link ServerLimits#heartbeatAfterMs}, a 200 with a chunked JSON body is committed and a poll writes
     * one space (JSON allows leading whitespace), at most every 5 ms; a failed write means the client is gone.
     */
    Cancellation cancellation() {
        return () -> {
            if (clientGone) return true;
            if (sse != null) {
                if (sse.broken()) gone("the client went away");
                return clientGone;
            }
            long after = limits.heartbeatAfterMs(), now = System.nanoTime();
            if (after < 0 || (committed == null && now - startNanos < after * 1_000_000L)) return false;
            if (committed != null && now - lastBeat < HEARTBEAT_GAP_NS) return false;
            lastBeat = now;
            try {
                if (committed == null) {
                    ex.getResponseHeaders().set("Content-Type", "application/json");
                    ex.sendResponseHeaders(200, 0);
                    status = 200;
                    committed = ex.getResponseBody();
                }
                write(committed, SPACE, false);
            } catch (IOException e) {
                gone(e.getMessage());
            }
            return clientGone;
        };
    }

    private static final byte[] SPACE = {' '};
    /** At most one heartbeat byte per this many nanoseconds (a fast model need not make a syscall per token). */
    private static final long HEARTBEAT_GAP_NS = 5_000_000L;
    private long lastBeat;

    void header(String name, String value) { ex.getResponseHeaders().set(name, value); }

    /**
     * Reports an error: the OpenAI error JSON with its status; when a stream has already begun, one SSE event holding
     * the error and then {@code [DONE]} (the status line has been sent); after a heartbeat, the error JSON as the body.
     */
    void fail(ApiError e) {
        if (e.retryAfterSeconds() >= 0 && sse == null && status == 0)
            ex.getResponseHeaders().set("Retry-After", Integer.toString(e.retryAfterSeconds()));
        try {
            if (sse != null) {
                sse.event(OpenAiJson.error(e));
                sse.done();
            } else if (status == 0 || committed != null) {
                sendJson(e.status(), OpenAiJson.error(e));
            }
        } catch (IOException ignored) {
            // the client is gone; nothing left to tell it
        }
        if (sse == null && status == 0) status = e.status();
    }
}
