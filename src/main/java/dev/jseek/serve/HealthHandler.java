package dev.jseek.serve;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.IOException;
import java.util.Set;

/** {@code GET /health}: 200 {@code {"status": "ok"}} while the server runs (the model is loaded before it listens). */
final class HealthHandler extends ApiHandler {
    static final String PATH = "/health";

    HealthHandler(ServerOptions options) { super(Set.of("GET"), options.log()); }

    @Override boolean matches(String path) { return path.equals(PATH); }

    @Override void serve(ApiCall call) throws IOException {
        call.sendJson(200, JsonNodeFactory.instance.objectNode().put("status", "ok"));
    }
}
