package dev.jseek.serve;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Set;

/** {@code GET /metrics}: {@link Metrics} in the Prometheus text format. */
final class MetricsHandler extends ApiHandler {
    static final String PATH = "/metrics";

    private final Metrics metrics;

    MetricsHandler(Metrics metrics, ServerOptions options) {
        super(Set.of("GET"), options);
        this.metrics = metrics;
    }

    @Override boolean matches(String path) { return path.equals(PATH); }

    @Override void serve(ApiCall call) throws IOException {
        call.sendBytes(200, "text/plain; version=0.0.4; charset=utf-8", metrics.render().getBytes(StandardCharsets.UTF_8));
    }
}
