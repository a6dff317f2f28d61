package dev.jseek.serve;

import java.util.Set;

/** Every path no endpoint serves: 404 with the OpenAI error JSON listing the endpoints. */
final class NotFoundHandler extends ApiHandler {
    NotFoundHandler(ServerOptions options) { super(Set.of(), options); }

    @Override boolean matches(String path) { return false; }

    @Override void serve(ApiCall call) { throw new IllegalStateException("unreachable"); }
}
