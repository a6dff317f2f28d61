package dev.jseek.serve;

/**
 * A request the server refuses, as OpenAI reports it: an HTTP status and the body
 * {@code {"error": {"message", "type", "param", "code"}}} (see {@link OpenAiJson#error}). The message names the
 * field and the value it got; no stack trace ever reaches the client.
 */
public final class ApiError extends RuntimeException {
    private final int status;
    private final String type;
    private final String param;
    private int retryAfterSeconds = -1;

    public ApiError(int status, String type, String param, String message) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
    }

    /** 400 invalid_request_error about {@code param} (a JSON path such as {@code messages[1].role}). */
    public static ApiError invalid(String param, String message) {
        return new ApiError(400, "invalid_request_error", param, message);
    }

    public static ApiError notFound(String message) { return new ApiError(404, "invalid_request_error", null, message); }

    /** Adds a Retry-After header (seconds) to the answer; returns this. */
    public ApiError retryAfter(int seconds) {
        this.retryAfterSeconds = seconds;
        return this;
    }

    /** Retry-After seconds, or -1 for none. */
    public int retryAfterSeconds() { return retryAfterSeconds; }

    public int status() { return status; }

    public String type() { return type; }

    /** The offending field, or null. */
    public String param() { return param; }
}
