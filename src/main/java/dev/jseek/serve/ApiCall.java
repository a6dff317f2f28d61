package dev.jseek.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * One HTTP exchange as the handlers see it: the request body (bounded), a JSON answer or an SSE stream, and what the
 * request log line reports (status, prompt and completion tokens).
 */
final class ApiCall {
    /** Request bodies above this are refused with 413 before they are read whole. */
    static final int MAX_BODY = 16 << 20;

    private final HttpExchange ex;
    private int status;
    private SseWriter sse;
    private int promptTokens = -1, completionTokens = -1;
    private boolean clientGone;

    ApiCall(HttpExchange ex) { this.ex = ex; }

    String method() { return ex.getRequestMethod(); }

    /** The raw (still percent-encoded) request path: safe to log. */
    String path() { return ex.getRequestURI().getRawPath(); }

    /** The decoded request path. */
    String decodedPath() { return ex.getRequestURI().getPath(); }

    /** The HTTP status sent (0 before any). */
    int status() { return status; }

    int promptTokens() { return promptTokens; }

    int completionTokens() { return completionTokens; }

    void tokens(ModelRunner.Outcome r) {
        promptTokens = r.promptTokens();
        completionTokens = r.completionTokens();
        clientGone = r.clientGone();
    }

    /** The tokens of n choices: the prompt once, the completions summed; the first choice's timing. */
    void tokens(ModelRunner.Outcome[] rs) {
        tokens(rs[0]);
        for (int i = 1; i < rs.length; i++) {
            completionTokens += rs[i].completionTokens();
            clientGone |= rs[i].clientGone();
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
    private long[][] timings;

    /** The first choice's time to first token in ms (-1 when unknown). */
    long ttftMillis() { return ttftMillis; }

    /** Token arrival times of each choice (null when none). */
    long[][] timings() { return timings; }
    private String finish;

    /** Prompt tokens reused from the prefix cache (-1 when unknown). */
    int cachedTokens() { return cachedTokens; }

    /** The first choice's finish reason (null when none). */
    String finishReason() { return finish; }

    /** Whether the client went away during a stream (generation was stopped early). */
    boolean clientGone() { return clientGone; }

    /** The request body as a JSON object (400 when it is not one, 413 when it is larger than {@link #MAX_BODY}). */
    ObjectNode jsonBody() throws IOException {
        try (InputStream in = ex.getRequestBody()) {
            byte[] b = in.readNBytes(MAX_BODY + 1);
            if (b.length > MAX_BODY)
                throw new ApiError(413, "invalid_request_error", null, "the request body is larger than " + (MAX_BODY >> 20) + " MiB");
            return RequestFields.parseObject(b);
        }
    }

    void sendJson(int code, JsonNode body) throws IOException {
        byte[] b;
        try {
            b = RequestFields.JSON.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(code, b.length);
        status = code;
        try (OutputStream out = ex.getResponseBody()) {
            out.write(b);
        }
    }

    /** Sends a body of another content type (the web page, /metrics). */
    void sendBytes(int code, String contentType, byte[] b) throws IOException {
        ex.getResponseHeaders().set("Content-Type", contentType);
        ex.sendResponseHeaders(code, b.length == 0 ? -1 : b.length);
        status = code;
        try (OutputStream out = ex.getResponseBody()) {
            out.write(b);
        }
    }

    /** Starts a 200 Server-Sent Events response (chunked). */
    SseWriter startSse() throws IOException {
        ex.getResponseHeaders().set("Content-Type", SseWriter.CONTENT_TYPE);
        ex.getResponseHeaders().set("Cache-Control", "no-cache");
        ex.sendResponseHeaders(200, 0);
        status = 200;
        sse = new SseWriter(ex.getResponseBody());
        return sse;
    }

    void header(String name, String value) { ex.getResponseHeaders().set(name, value); }

    /**
     * Reports an error: the OpenAI error JSON with its status, or, when a stream has already begun, one SSE event
     * holding the error (the status line has been sent).
     */
    void fail(ApiError e) {
        if (e.retryAfterSeconds() >= 0 && sse == null && status == 0)
            ex.getResponseHeaders().set("Retry-After", Integer.toString(e.retryAfterSeconds()));
        try {
            if (sse != null) sse.event(OpenAiJson.error(e));
            else if (status == 0) sendJson(e.status(), OpenAiJson.error(e));
        } catch (IOException ignored) {
            // the client is gone; nothing left to tell it
        }
        if (sse == null && status == 0) status = e.status();
    }
}
