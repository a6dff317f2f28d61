package dev.jseek.serve;

import static org.junit.jupiter.api.Assertions.*;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a request may ask for (issue 10 §6, §7, §11): the latent cache a request may reserve is bounded (400 naming
 * the numbers and the max_tokens that fits, which is then admitted); a top_p that is 0 as a float is a 400, not a 500 naming a Java class; a stream
 * that fails still ends with {@code [DONE]}; trailing content and duplicate keys in a body are refused; HEAD /health
 * answers; a prompt too long for the context whatever it tokenizes to is refused before it is tokenized.
 */
@Timeout(120)
class LimitsTest {
    @TempDir static Path tmp;
    static TestServer s;
    static long perToken;

    @BeforeAll static void start() throws Exception {
        TestServer.buildModel(tmp, 9);
        s = new TestServer(tmp, new SamplingParams.Defaults(4, 0f), o -> o);
        perToken = s.runner.cacheBytesPerToken();
        s.close();
        // 20 tokens' worth per request: one whole 16-token block
        s = new TestServer(tmp, new SamplingParams.Defaults(4, 0f),
                dev.jseek.infer.EngineOptions.defaults().withCacheBytes(64L << 20).withMaxRequestBytes(20 * perToken));
    }

    @AfterAll static void stop() { if (s != null) s.close(); }

    static String message(HttpResponse<String> r) throws Exception { return TestServer.json(r).get("error").get("message").asText(); }

    @Test void aRequestsCacheIsBounded() throws Exception {
        int prompt = s.runner.completionPrompt("hello world").length;
        HttpResponse<String> r = s.post("/v1/completions", "{\"prompt\": \"hello world\", \"max_tokens\": 40}");
        assertEquals(400, r.statusCode(), r.body());
        assertEquals("max_tokens", TestServer.json(r).get("error").get("param").asText());
        String m = message(r);
        assertTrue(m.contains(prompt + " prompt + 40 completion tokens") && m.contains(perToken + " bytes per token"), m);
        assertTrue(m.contains("ask for max_tokens <= " + (16 - prompt)) && m.contains("--max-cache-mib"), m);
        assertEquals(200, s.post("/v1/completions", "{\"prompt\": \"hello world\", \"max_tokens\": " + (16 - prompt) + "}").statusCode());
        assertEquals(400, s.post("/v1/completions", "{\"prompt\": \"hello world\", \"max_tokens\": " + (17 - prompt) + "}").statusCode());
    }

    @Test void tinyTopPIsA400() throws Exception {
        for (String stream : new String[] {"false", "true"}) {
            HttpResponse<String> r = s.post("/v1/completions", "{\"prompt\": \"hi\", \"top_p\": 1e-50, \"stream\": " + stream + "}");
            assertEquals(400, r.statusCode(), r.body());
            assertEquals("top_p", TestServer.json(r).get("error").get("param").asText());
            assertTrue(message(r).contains("1.0E-50"), r.body());
        }
        assertEquals(400, s.post("/v1/completions", "{\"prompt\": \"hi\", \"temperature\": 1e300}").statusCode());
    }

    /** A stream whose handler fails after the first event: an error event without a Java class name, then [DONE]. */
    @Test void aFailedStreamEndsWithDone() throws Exception {
        PrintStream log = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        HttpServer http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        http.createContext("/boom", new ApiHandler(Set.of("GET"), log) {
            @Override boolean matches(String path) { return true; }

            @Override void serve(ApiCall call) throws java.io.IOException {
                SseWriter sse = call.startSse();
                sse.event(TestServer.JSON.createObjectNode().put("n", 1));
                throw new IllegalStateException("kaput");
            }
        });
        http.start();
        try {
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + http.getAddress().getPort() + "/boom")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
            var events = TestServer.sseEvents(r.body()); // ends with [DONE], or throws
            assertEquals(2, events.size(), r.body());
            assertTrue(events.get(1).get("error").get("message").asText().startsWith("internal error #"), r.body());
            assertFalse(r.body().contains("Exception") || r.body().contains("kaput"), r.body());
        } finally {
            http.stop(0);
        }
    }

    @Test void bodiesAreStrictJson() throws Exception {
        HttpResponse<String> trailing = s.post("/v1/completions", "{\"prompt\": \"hi\"} {\"prompt\": \"other\"}");
        assertEquals(400, trailing.statusCode(), trailing.body());
        assertTrue(message(trailing).contains("not valid JSON"), trailing.body());
        HttpResponse<String> garbage = s.post("/v1/completions", "{\"prompt\": \"hi\"}xyz");
        assertEquals(400, garbage.statusCode(), garbage.body());
        HttpResponse<String> dup = s.post("/v1/completions", "{\"prompt\": \"hi\", \"max_tokens\": 2, \"max_tokens\": 100000}");
        assertEquals(400, dup.statusCode(), dup.body());
        assertTrue(message(dup).contains("max_tokens"), dup.body());
    }

    @Test void headHealthAnswers() throws Exception {
        HttpResponse<String> r = s.send("HEAD", "/health", null);
        assertEquals(200, r.statusCode());
        assertEquals("", r.body());
    }

    @Test void anOverlongPromptIsRefusedBeforeTokenizing() throws Exception {
        String big = "the model ".repeat(300_000); // 3 MB; the context is 64 tokens
        long t0 = System.nanoTime();
        HttpResponse<String> r = s.post("/v1/completions", "{\"prompt\": \"" + big + "\"}");
        assertEquals(400, r.statusCode(), r.body().substring(0, 200));
        assertTrue(message(r).contains("3000000 characters, at least"), message(r));
        HttpResponse<String> chat = s.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"" + big + "\"}]}");
        assertEquals(400, chat.statusCode());
        assertTrue(message(chat).contains("characters, at least"), message(chat));
        // the prompt of exactly the longest-token bound is tokenized and gets the token-count message
        HttpResponse<String> near = s.post("/v1/completions", "{\"prompt\": \"" + "the model ".repeat(10) + "\"}");
        assertNotEquals(500, near.statusCode());
    }
}
