package dev.jseek.serve;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who may use the server (issue 10 §2): with a key, every endpoint but /health wants {@code Authorization: Bearer
 * KEY} (401 otherwise); without one, a non-loopback address is refused unless insecure; a loopback server answers
 * only Host names of this machine (DNS rebinding) and, without a key, no foreign Origin; POST bodies must be
 * application/json (a cross-site form or text/plain post is not).
 */
@Timeout(120)
class AuthTest {
    @TempDir static Path tmp;
    static TestServer open, keyed;
    static final String KEY = "sk-test-0123456789";
    static final String BODY = "{\"prompt\": \"the model\", \"max_tokens\": 2}";

    @BeforeAll static void start() throws Exception {
        TestServer.buildModel(tmp, 7);
        open = new TestServer(tmp, new SamplingParams.Defaults(2, 0f));
        keyed = new TestServer(tmp, new SamplingParams.Defaults(2, 0f), o -> o.withApiKey(KEY));
    }

    @AfterAll static void stop() {
        if (open != null) open.close();
        if (keyed != null) keyed.close();
    }

    static HttpResponse<String> post(TestServer s, String path, String body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(s.url(path))).timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) b.headers(headers);
        return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static String message(HttpResponse<String> r) throws Exception { return TestServer.json(r).get("error").get("message").asText(); }

    @Test void theKeyIsRequiredWhenSet() throws Exception {
        HttpResponse<String> none = post(keyed, "/v1/completions", BODY, "Content-Type", "application/json");
        assertEquals(401, none.statusCode(), none.body());
        assertEquals("Bearer", none.headers().firstValue("WWW-Authenticate").orElse(""));
        assertTrue(message(none).contains("Authorization: Bearer"), none.body());
        HttpResponse<String> wrong = post(keyed, "/v1/completions", BODY, "Content-Type", "application/json", "Authorization", "Bearer sk-nope");
        assertEquals(401, wrong.statusCode(), wrong.body());
        HttpResponse<String> right = post(keyed, "/v1/completions", BODY, "Content-Type", "application/json", "Authorization", "Bearer " + KEY);
        assertEquals(200, right.statusCode(), right.body());
        assertEquals(401, keyed.get("/v1/models").statusCode());
        assertEquals(200, keyed.get("/health").statusCode());
        assertEquals(200, keyed.get("/").statusCode(), "the web chat page loads without the key (its API calls send it)");
        assertEquals(401, keyed.get("/metrics").statusCode());
        // with a key, a page elsewhere may call it (it must know the key)
        assertEquals(200, post(keyed, "/v1/completions", BODY, "Content-Type", "application/json", "Authorization", "Bearer " + KEY,
                "Origin", "https://app.example").statusCode());
    }

    @Test void aNonLoopbackAddressNeedsAKeyOrInsecure() throws Exception {
        PrintStream log = new PrintStream(new ByteArrayOutputStream());
        ServerOptions o = new ServerOptions("0.0.0.0", 0, "m", new SamplingParams.Defaults(2, 0f), log);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OpenAiServer.start(open.runner, o));
        assertTrue(e.getMessage().contains("0.0.0.0") && e.getMessage().contains("--api-key") && e.getMessage().contains("--insecure"), e.getMessage());
        try (OpenAiServer s = OpenAiServer.start(open.runner, o.withApiKey(KEY))) {
            assertTrue(s.port() > 0);
        }
        try (OpenAiServer s = OpenAiServer.start(open.runner, o.withInsecure(true))) {
            assertTrue(s.port() > 0);
        }
        for (String h : new String[] {"127.0.0.1", "localhost", "::1", "127.5.6.7"}) assertTrue(Loopback.isLoopback(h), h);
        for (String h : new String[] {"0.0.0.0", "10.1.2.3", "example.com.invalid"}) assertFalse(Loopback.isLoopback(h), h);
    }

    @Test void aLoopbackServerAnswersOnlyItsOwnHostNames() throws Exception {
        int port = open.server.port();
        String req = "GET /v1/models HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n";
        for (String h : new String[] {"127.0.0.1:" + port, "localhost:" + port, "localhost", "[::1]:" + port}) {
            String r = open.raw(req.formatted(h), 10_000);
            assertTrue(r.startsWith("HTTP/1.1 200"), h + " -> " + r);
        }
        for (String h : new String[] {"attacker.example:" + port, "attacker.example", "127.0.0.1.nip.io:" + port, "localhost:80x"}) {
            String r = open.raw(req.formatted(h), 10_000);
            assertTrue(r.startsWith("HTTP/1.1 403"), h + " -> " + r);
            assertTrue(r.contains("loopback"), r);
        }
    }

    @Test void foreignOriginsAndNonJsonBodiesAreRefused() throws Exception {
        HttpResponse<String> foreign = post(open, "/v1/completions", BODY, "Content-Type", "application/json", "Origin", "https://evil.example");
        assertEquals(403, foreign.statusCode(), foreign.body());
        assertTrue(message(foreign).contains("https://evil.example"), foreign.body());
        assertEquals(200, post(open, "/v1/completions", BODY, "Content-Type", "application/json", "Origin", "http://localhost:3000").statusCode());
        for (String ct : new String[] {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"}) {
            HttpResponse<String> r = post(open, "/v1/completions", BODY, "Content-Type", ct);
            assertEquals(415, r.statusCode(), ct + " -> " + r.body());
            assertTrue(message(r).contains("application/json"), r.body());
        }
        HttpResponse<String> none = post(open, "/v1/completions", BODY);
        assertEquals(415, none.statusCode(), none.body());
        assertEquals(200, post(open, "/v1/completions", BODY, "Content-Type", "application/json; charset=utf-8").statusCode());
    }
}
