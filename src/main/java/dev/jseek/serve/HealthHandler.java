package dev.jseek.serve;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.IOException;
import java.util.Set;

/**
 * {@code GET /health} (and {@code HEAD}): 200 {@code {"status": "ok"}} while the server runs (the model is loaded
 * before it listens). It needs no key, is answered beyond the connection limit, and never waits for the model, so it
 * answers while generations run.
 */
final class HealthHandler extends ApiHandler {
    static final String PATH = "/health";

    HealthHandler(ServerOptions options) { super(Set.of("GET", "HEAD"), options); }

    @Override boolean matches(String path) { return path.equals(PATH); }

    @Override boolean open() { return true; }

    @Override void serve(ApiCall call) throws IOException {
        if (call.method().equals("HEAD")) call.sendHead(200, "application/json");
        else call.sendJson(200, JsonNodeFactory.instance.objectNode().put("status", "ok"));
    }
}
