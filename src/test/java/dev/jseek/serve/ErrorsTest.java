package dev.jseek.serve;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
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
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad requests get OpenAI's error JSON ({@code {"error": {message, type, param, code}}}) with 400 naming the field
 * and the value, 404 for unknown paths, 405 for wrong methods; never a stack trace; one log line per request.
 */
class ErrorsTest {
    @TempDir static Path tmp;
    static TestServer s;

    @BeforeAll static void start() throws Exception {
        TestServer.buildModel(tmp, 3);
        s = new TestServer(tmp, new SamplingParams.Defaults(8, 0.6f));
    }

    @AfterAll static void stop() { if (s != null) s.close(); }

    static final String MSG = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";

    /** body, expected param (null: JSON null), a piece the message must contain. */
    record Case(String path, String body, String param, String mentions) {}

    static final List<Case> CASES = List.of(
            new Case("/v1/chat/completions", "{\"messages\": ", null, "not valid JSON"),
            new Case("/v1/chat/completions", "", null, "empty"),
            new Case("/v1/chat/completions", "[1, 2]", null, "JSON object"),
            new Case("/v1/chat/completions", "{}", "messages", "required"),
            new Case("/v1/chat/completions", "{\"messages\": \"hi\"}", "messages", "string \"hi\""),
            new Case("/v1/chat/completions", "{\"messages\": []}", "messages", "empty"),
            new Case("/v1/chat/completions", "{\"messages\": [\"hi\"]}", "messages[0]", "string \"hi\""),
            new Case("/v1/chat/completions", "{\"messages\": [{\"role\":\"bot\",\"content\":\"x\"}]}", "messages[0].role", "'bot'"),
            new Case("/v1/chat/completions", "{\"messages\": [{\"role\":\"user\",\"content\":\"x\"},{\"content\":\"x\"}]}", "messages[1].role", "required"),
            new Case("/v1/chat/completions", "{\"messages\": [{\"role\":7,\"content\":\"x\"}]}", "messages[0].role", "number 7"),
            new Case("/v1/chat/completions", "{\"messages\": [{\"role\":\"user\"}]}", "messages[0].content", "required"),
            new Case("/v1/chat/completions", "{\"messages\": [{\"role\":\"user\",\"content\":5}]}", "messages[0].content", "number 5"),
            new Case("/v1/chat/completions", "{\"messages\": [{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{}}]}]}",
                    "messages[0].content[0].type", "'image_url'"),
            new Case("/v1/chat/completions", "{\"messages\": [{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}",
                    "messages[0].content[0].text", "required"),
            new Case("/v1/chat/completions", "{" + MSG + ", \"max_tokens\": -5}", "max_tokens", "-5"),
            new Case("/v1/chat/completions", "{" + MSG + ", \"max_tokens\": 0}", "max_tokens", "0"),
            new Case("/v1/chat/completions", "{" + MSG + ", \"max_tokens\": \"10\"}", "max_tokens", "string \"10\""),
            new Case("/v1/chat/completions", "{" + MSG + ", \"max_tokens\": 1.5}", "max_tokens", "1.5"),
            new Case("/v1/chat/completions", "{" + MSG + ", \"max_completion_tokens\": -1}", "max_completion_tokens", "-1"),
            new Case("/v1/chat/completions", "{" + MSG + ", \"temperature\": -0.1}", "temperature", "-0.1"),
            new Case("/v1/chat/completions", "{" + MSG + ", \"temperature\": \"hot\"}", "temperature", "\"hot\""),
            new Case("/v1/chat/completions", "{" + MSG + ", \"top_p\": 0}", "top_p", "0"),
            new Case("/v1/chat/completions", "{" + MSG + ", \"top_p\": 1.5}", "top_p", "1.5"),
            new Case("/v1/chat/completions", "{" + MSG + ", \"n\": 17}", "n", "17"),
            new Case("/v1/chat/completions", "{" + MSG + ", \"stream\": \"yes\"}", "stream", "\"yes\""),
            new Case("/v1/chat/completions", "{" + MSG + ", \"stop\": 5}", "stop", "number 5"),
            new Case("/v1/chat/completions", "{" + MSG + ", \"stop\": [\"a\", 1]}", "stop", "stop[1]"),
            new Case("/v1/chat/completions", "{" + MSG + ", \"seed\": \"x\"}", "seed", "\"x\""),
            new Case("/v1/chat/completions", "{" + MSG + ", \"model\": 3}", "model", "number 3"),
            new Case("/v1/chat/completions", "{" + MSG + ", \"top_logprobs\": 3}", "top_logprobs", "needs logprobs"),
            new Case("/v1/chat/completions", "{" + MSG + ", \"logprobs\": true, \"top_logprobs\": 21}", "top_logprobs", "21"),
            new Case("/v1/completions", "{\"prompt\": \"a\", \"logprobs\": 6}", "logprobs", "6"),
            new Case("/v1/chat/completions", "{" + MSG + ", \"response_format\": {\"type\": \"json_object\"}}", "response_format", "json_object"),
            new Case("/v1/chat/completions", "{" + MSG + ", \"presence_penalty\": -2.5}", "presence_penalty", "-2.5"),
            new Case("/v1/chat/completions", "{" + MSG + ", \"tools\": [{\"type\":\"function\"}]}", "tools[0].function", "must be an object"),
            new Case("/v1/chat/completions", "{" + MSG + ", \"tool_choice\": \"required\"}", "tool_choice", "needs tools"),
            new Case("/v1/completions", "{\"prompt\": \"a\", \"tools\": []}", "tools", "chat"),
            new Case("/v1/completions", "{}", "prompt", "required"),
            new Case("/v1/completions", "{\"prompt\": 5}", "prompt", "number 5"),
            new Case("/v1/completions", "{\"prompt\": [1, -2]}", "prompt", "prompt[1]"),
            new Case("/v1/completions", "{\"prompt\": [\"a\", 3]}", "prompt", "prompt[1] must be a string"),
            new Case("/v1/completions", "{\"prompt\": [[1, 2], []]}", "prompt", "prompt[1] must be a non-empty array"),
            new Case("/v1/completions", "{\"prompt\": [[1, 2], [3, -1]]}", "prompt", "prompt[1][1]"),
            new Case("/v1/completions", "{\"prompt\": [true]}", "prompt", "array of token-id arrays"),
            new Case("/v1/completions", "{\"prompt\": \"x\", \"max_tokens\": -1}", "max_tokens", "-1"),
            new Case("/v1/completions", "{\"prompt\": \"x\", \"top_p\": -1}", "top_p", "-1"));

    @Test void badRequestsGet400NamingTheFieldAndValue() throws Exception {
        for (Case c : CASES) {
            HttpResponse<String> r = s.post(c.path(), c.body());
            String what = c.path() + " " + c.body() + " -> " + r.body();
            assertEquals(400, r.statusCode(), what);
            assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"), what);
            JsonNode e = errorOf(r, what);
            assertEquals("invalid_request_error", e.get("type").asText(), what);
            if (c.param() == null) assertTrue(e.get("param").isNull(), what);
            else assertEquals(c.param(), e.get("param").asText(), what);
            assertTrue(e.get("message").asText().contains(c.mentions()), what);
            if (c.param() != null) assertTrue(e.get("message").asText().contains(c.param().replaceAll("\\[\\d+\\].*", "")), what);
        }
        // one line per request (no other test of this class gets a 400)
        java.util.function.Predicate<String> is400 = l -> l.matches("serve: POST /v1/\\S+ 400 \\d+ ms");
        s.awaitLogLine(l -> s.logLines().stream().filter(is400).count() >= CASES.size());
        assertEquals(CASES.size(), s.logLines().stream().filter(is400).count(), String.join("\n", s.logLines()));
        assertTrue(s.logLines().stream().allMatch(l -> l.startsWith("serve: ")), String.join("\n", s.logLines()));
    }

    @Test void unknownPathsGet404AndWrongMethods405() throws Exception {
        for (String p : new String[] {"/index.htm", "/chat.jsx", "/v1", "/v1/chat", "/v1/chat/completions/x", "/v1/completionsx", "/v2/models", "/healthz"}) {
            HttpResponse<String> r = s.get(p);
            assertEquals(404, r.statusCode(), p);
            assertTrue(errorOf(r, p).get("message").asText().contains(p), r.body());
        }
        HttpResponse<String> m = s.get("/v1/models/other");
        assertEquals(404, m.statusCode());
        assertEquals("model", errorOf(m, "model").get("param").asText());
        assertTrue(errorOf(m, "model").get("message").asText().contains("'other'"));
        String[][] wrong = {{"GET", "/v1/chat/completions", "POST"}, {"PUT", "/v1/completions", "POST"},
                {"POST", "/v1/models", "GET"}, {"DELETE", "/health", "GET, HEAD"}, {"POST", "/", "GET, HEAD"}};
        for (String[] w : wrong) {
            HttpResponse<String> r = s.send(w[0], w[1], w[0].equals("GET") || w[0].equals("DELETE") ? null : "{}");
            assertEquals(405, r.statusCode(), w[0] + " " + w[1]);
            assertEquals(w[2], r.headers().firstValue("Allow").orElse(""));
            assertTrue(errorOf(r, w[1]).get("message").asText().contains(w[0]));
        }
        assertTrue(s.awaitLogLine(l -> l.matches("serve: DELETE /health 405 \\d+ ms")), String.join("\n", s.logLines()));
    }

    @Test void successfulRequestsLogTheirTokens() throws Exception {
        HttpResponse<String> r = s.post("/v1/chat/completions", "{" + MSG + ", \"max_tokens\": 3, \"temperature\": 0}");
        assertEquals(200, r.statusCode());
        JsonNode u = TestServer.json(r).get("usage");
        String expect = "serve: POST /v1/chat/completions 200 tokens " + u.get("prompt_tokens").asInt() + "+"
                + u.get("completion_tokens").asInt() + " ";
        assertTrue(s.awaitLogLine(l -> l.startsWith(expect) && l.substring(expect.length()).matches("\\d+ ms ttft \\d+ ms (stop|length)")),
                String.join("\n", s.logLines()));
    }

    /**
     * An unexpected exception in a handler: 500 server_error naming no Java class (issue 10 §7), an incident number
     * that finds the stack trace in the log, which alone has it.
     */
    @Test void internalErrorsShowNoStackTrace() throws Exception {
        ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
        PrintStream log = new PrintStream(logBytes, true, StandardCharsets.UTF_8);
        HttpServer http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        http.createContext("/boom", new ApiHandler(Set.of("GET"), log) {
            @Override boolean matches(String path) { return true; }

            @Override void serve(ApiCall call) { throw new IllegalStateException("kaput"); }
        });
        http.start();
        try {
            HttpResponse<String> r = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http.getAddress().getPort() + "/boom")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(500, r.statusCode());
            JsonNode e = errorOf(r, "boom");
            assertEquals("server_error", e.get("type").asText());
            assertTrue(e.get("message").asText().matches("internal error #\\d+ \\(details in the server log\\)"), r.body());
            assertFalse(r.body().contains("at dev.jseek") || r.body().contains("Exception") || r.body().contains("kaput"), r.body());
        } finally {
            http.stop(0);
        }
        String l = logBytes.toString(StandardCharsets.UTF_8);
        assertTrue(l.contains("at dev.jseek.serve.ErrorsTest"), l);
        assertTrue(l.contains("kaput"), l);
        assertTrue(l.contains("serve: GET /boom 500 "), l);
    }

    private static JsonNode errorOf(HttpResponse<String> r, String what) throws Exception {
        JsonNode j = TestServer.json(r);
        assertEquals(1, j.size(), what);
        JsonNode e = j.get("error");
        assertNotNull(e, what);
        assertTrue(e.has("message") && e.has("type") && e.has("param") && e.has("code"), what);
        assertFalse(r.body().contains("\tat ") || r.body().matches("(?s).*\\bat [a-z]+\\.[a-z.]+[A-Z]\\w*\\.\\w+\\(.*"), what);
        return e;
    }
}
