package dev.jseek.serve;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Set;

/**
 * The web chat at {@code GET /}: a static page (HTML, CSS, JavaScript from the jar's
 * {@code dev/jseek/serve/web/}, no build step, nothing loaded from elsewhere) that talks to this server's
 * {@code /v1/chat/completions} with streaming. Every other path no endpoint serves gets the 404 error JSON. The page
 * loads without the API key; the API calls it makes need it.
 */
final class WebHandler extends ApiHandler {
    private record Asset(String type, byte[] bytes) {}

    private final Map<String, Asset> assets;

    WebHandler(ServerOptions options) {
        super("/", Set.of("GET", "HEAD"), options);
        assets = Map.of(
                "/", load("index.html", "text/html; charset=utf-8"),
                "/index.html", load("index.html", "text/html; charset=utf-8"),
                "/chat.js", load("chat.js", "text/javascript; charset=utf-8"),
                "/chat.css", load("chat.css", "text/css; charset=utf-8"));
    }

    private static Asset load(String name, String type) {
        try (InputStream in = WebHandler.class.getResourceAsStream("web/" + name)) {
            if (in == null) throw new IllegalStateException("the web chat asset " + name + " is missing from the jar");
            return new Asset(type, in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override boolean matches(String p) { return assets.containsKey(p); }

    /**
     * The page itself needs no API key (a browser cannot send one for a page load, and the files hold nothing
     * private); the page sends the key the user types in its settings with every API call.
     */
    @Override boolean open() { return true; }

    @Override void serve(ApiCall call) throws IOException {
        Asset a = assets.get(call.path());
        call.header("Cache-Control", "no-cache");
        call.header("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'");
        call.header("X-Content-Type-Options", "nosniff");
        call.sendBytes(200, a.type(), call.method().equals("HEAD") ? new byte[0] : a.bytes());
    }
}
