package dev.jseek.serve;

import java.io.IOException;
import java.util.Set;

/** {@code GET /v1/models} (the list with the one served model) and {@code GET /v1/models/{id}} (it, or 404). */
final class ModelsHandler extends ApiHandler {
    private final long created;

    /** The models list of {@code options}' model, created now (the server's start). */
    ModelsHandler(ServerOptions options) {
        super("/v1/models", Set.of("GET"), options);
        created = System.currentTimeMillis() / 1000;
    }

    @Override boolean matches(String p) { return p.equals(path) || p.startsWith(path + "/"); }

    @Override void serve(ApiCall call) throws IOException {
        String p = call.decodedPath();
        if (p.equals(path)) {
            call.sendJson(200, OpenAiJson.models(options.modelName(), created));
            return;
        }
        String id = p.substring(path.length() + 1);
        if (!id.equals(options.modelName()))
            throw new ApiError(404, "invalid_request_error", "model", "the model '" + id + "' does not exist; this server has '"
                    + options.modelName() + "'");
        call.sendJson(200, OpenAiJson.model(options.modelName(), created));
    }
}
