package dev.jseek.serve;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Set;

/** {@code GET /metrics}: {@link Metrics} in the Prometheus text format. */
final class MetricsHandler extends ApiHandler {
    /** Serves the {@link ApiHandler#metrics} every handler of the server counts into (set by {@link OpenAiServer}). */
    MetricsHandler(ServerOptions options) {
        super("/metrics", Set.of("GET"), options);
    }

    @Override void serve(ApiCall call) throws IOException {
        call.sendBytes(200, "text/plain; version=0.0.4; charset=utf-8", metrics.render().getBytes(StandardCharsets.UTF_8));
    }
}
