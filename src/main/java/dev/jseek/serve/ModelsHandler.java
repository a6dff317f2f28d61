package dev.jseek.serve;

import java.io.IOException;
import java.util.Set;

/** {@code GET /v1/models} (the list with the one served model) and {@code GET /v1/models/{id}} (it, or 404). */
final class ModelsHandler extends ApiHandler {
    static final String PATH = "/v1/models";

    private final long created;

    ModelsHandler(ServerOptions options, long created) {
        super(Set.of("GET"), options);
        this.created = created;
    }

    @Override boolean matches(String path) { return path.equals(PATH) || path.startsWith(PATH + "/"); }

    @Override void serve(ApiCall call) throws IOException {
        String path = call.decodedPath();
        if (path.equals(PATH)) {
            call.sendJson(200, OpenAiJson.models(options.modelName(), created));
            return;
        }
        String id = path.substring(PATH.length() + 1);
        if (!id.equals(options.modelName()))
            throw new ApiError(404, "invalid_request_error", "model", "the model '" + id + "' does not exist; this server has '"
                    + options.modelName() + "'");
        call.sendJson(200, OpenAiJson.model(options.modelName(), created));
    }
}
