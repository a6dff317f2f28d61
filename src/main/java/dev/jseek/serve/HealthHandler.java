package dev.jseek.serve;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.IOException;
import java.util.Set;

/**
 * {@code GET /health} (and {@code HEAD}): 200 {@code {"status": "ok"}} while the server runs (the model is loaded
 * before it listens); 503 {@code {"status": "error", "error": ...}} once the model's files changed on disk. It needs no key, is answered beyond the connection limit, and never waits for the model, so it
 * answers while generations run.
 */
final class HealthHandler extends ApiHandler {
    private final ModelRunner runner;

    HealthHandler(ModelRunner runner, ServerOptions options) {
        super("/health", Set.of("GET", "HEAD"), options);
        this.runner = runner;
    }

    @Override boolean open() { return true; }

    @Override void serve(ApiCall call) throws IOException {
        String failure = runner.failure();
        int code = failure == null ? 200 : 503;
        if (call.method().equals("HEAD")) call.sendHead(code, "application/json");
        else if (failure == null) call.sendJson(200, JsonNodeFactory.instance.objectNode().put("status", "ok"));
        else call.sendJson(503, JsonNodeFactory.instance.objectNode().put("status", "error").put("error", failure));
    }
}
