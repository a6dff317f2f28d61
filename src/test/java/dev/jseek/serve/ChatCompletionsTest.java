package dev.jseek.serve;

import dev.jseek.api.StopOracle;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jseek.infer.Sampler;
import dev.jseek.tokenizer.ChatTemplate;
import dev.jseek.tokenizer.Message;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /v1/chat/completions} against the oracle: {@link ChatTemplate#encode} + {@link dev.jseek.infer.Generator}
 * + {@link dev.jseek.tokenizer.Tokenizer#decode} run directly on the same messages, max_tokens and sampler.
 */
class ChatCompletionsTest {
    @TempDir static Path tmp;
    static TestServer s;

    @BeforeAll static void start() throws Exception {
        TestServer.buildModel(tmp, 11);
        s = new TestServer(tmp, new SamplingParams.Defaults(12, 0.6f));
    }

    @AfterAll static void stop() { if (s != null) s.close(); }

    static final String HELLO = "{\"model\":\"whatever\",\"messages\":[{\"role\":\"system\",\"content\":\"You answer.\"},"
            + "{\"role\":\"user\",\"content\":\"hello world\"}]";
    static final List<Message> HELLO_MSGS = List.of(Message.system("You answer."), Message.user("hello world"));

    @Test void greedyTextAndUsageEqualTheOracle() throws Exception {
        HttpResponse<String> r = s.post("/v1/chat/completions", HELLO + ",\"max_tokens\":20,\"temperature\":0}");
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
        JsonNode j = TestServer.json(r);
        TestServer.Expected e = s.oracle(ChatTemplate.encode(s.tokenizer, HELLO_MSGS, true), 20, Sampler.greedy());
        assertTrue(j.get("id").asText().startsWith("chatcmpl-"));
        assertEquals("chat.completion", j.get("object").asText());
        assertEquals("tiny-test", j.get("model").asText());
        assertTrue(Math.abs(j.get("created").asLong() - System.currentTimeMillis() / 1000) < 60);
        JsonNode c = j.get("choices");
        assertEquals(1, c.size());
        assertEquals(0, c.get(0).get("index").asInt());
        assertEquals("assistant", c.get(0).get("message").get("role").asText());
        assertEquals(e.text(), c.get(0).get("message").get("content").asText());
        assertEquals(e.finishReason(), c.get(0).get("finish_reason").asText());
        assertEquals("length", e.finishReason(), "this fixture's greedy answer runs to max_tokens");
        assertEquals(20, e.tokens().length);
        JsonNode u = j.get("usage");
        assertEquals(e.prompt().length, u.get("prompt_tokens").asInt());
        assertEquals(20, u.get("completion_tokens").asInt());
        assertEquals(e.prompt().length + 20, u.get("total_tokens").asInt());
        // the text is not trivial: several distinct tokens
        assertTrue(java.util.Arrays.stream(e.tokens()).distinct().count() >= 5, java.util.Arrays.toString(e.tokens()));
    }

    @Test void contentPartsAreJoinedAndDeveloperIsSystem() throws Exception {
        String body = "{\"messages\":[{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"You answer.\"}]},"
                + "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hello\"},{\"type\":\"text\",\"text\":\"world\"}]},"
                + "{\"role\":\"assistant\",\"content\":\"the cache\"},{\"role\":\"user\",\"content\":\"next one\"}],"
                + "\"max_completion_tokens\":9,\"temperature\":0}";
        JsonNode j = TestServer.json(s.post("/v1/chat/completions", body));
        List<Message> msgs = List.of(Message.system("You answer."), Message.user("hello\nworld"), Message.assistant("the cache"),
                Message.user("next one"));
        TestServer.Expected e = s.oracle(ChatTemplate.encode(s.tokenizer, msgs, true), 9, Sampler.greedy());
        assertEquals(e.text(), j.get("choices").get(0).get("message").get("content").asText());
        assertEquals(e.prompt().length, j.get("usage").get("prompt_tokens").asInt());
        assertEquals(e.tokens().length, j.get("usage").get("completion_tokens").asInt());
    }

    @Test void streamingDeltasConcatenateToTheContentWithExactFraming() throws Exception {
        String base = HELLO + ",\"max_tokens\":20,\"temperature\":0";
        String whole = TestServer.json(s.post("/v1/chat/completions", base + "}")).get("choices").get(0).get("message").get("content").asText();
        HttpResponse<String> r = s.post("/v1/chat/completions", base + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
        assertEquals(200, r.statusCode());
        assertEquals("text/event-stream; charset=utf-8", r.headers().firstValue("Content-Type").orElse(""));
        List<JsonNode> ev = TestServer.sseEvents(r.body());
        assertTrue(ev.size() >= 4, r.body());
        String id = ev.get(0).get("id").asText();
        assertTrue(id.startsWith("chatcmpl-"));
        // first: role; middle: content; then an empty delta with finish_reason; then usage
        JsonNode first = ev.get(0).get("choices").get(0);
        assertEquals("assistant", first.get("delta").get("role").asText());
        assertEquals("", first.get("delta").get("content").asText());
        assertTrue(first.get("finish_reason").isNull());
        StringBuilder sb = new StringBuilder();
        for (int i = 1; i < ev.size() - 2; i++) {
            JsonNode e = ev.get(i);
            assertEquals(id, e.get("id").asText());
            assertEquals("chat.completion.chunk", e.get("object").asText());
            JsonNode ch = e.get("choices").get(0);
            assertFalse(ch.get("delta").has("role"));
            assertTrue(ch.get("finish_reason").isNull());
            String d = ch.get("delta").get("content").asText();
            assertFalse(d.isEmpty(), "no empty content deltas");
            sb.append(d);
        }
        assertEquals(whole, sb.toString());
        JsonNode last = ev.get(ev.size() - 2).get("choices").get(0);
        assertEquals(0, last.get("delta").size());
        assertEquals("length", last.get("finish_reason").asText());
        JsonNode usage = ev.get(ev.size() - 1);
        assertEquals(0, usage.get("choices").size());
        assertEquals(20, usage.get("usage").get("completion_tokens").asInt());
        // without include_usage there is no usage chunk
        List<JsonNode> plain = TestServer.sseEvents(s.post("/v1/chat/completions", base + ",\"stream\":true}").body());
        assertEquals("length", plain.get(plain.size() - 1).get("choices").get(0).get("finish_reason").asText());
    }

    @Test void stopStringsCutTheTextAndFinishWithStop() throws Exception {
        int[] prompt = ChatTemplate.encode(s.tokenizer, HELLO_MSGS, true);
        TestServer.Expected free = s.oracle(prompt, 30, Sampler.greedy());
        String text = free.text();
        String stop = StopOracle.pickAsciiStop(text);
        assertNotNull(stop, "no ASCII stretch to stop at in: " + text);
        List<String> stops = List.of("zzz-never", stop);
        StopOracle.Cut cut = StopOracle.cut(s.tokenizer, free.tokens(), stops);
        assertTrue(cut.text().length() < text.length());
        String body = HELLO + ",\"max_tokens\":30,\"temperature\":0,\"stop\":[\"zzz-never\"," + TestServer.JSON.writeValueAsString(stop) + "]";
        JsonNode j = TestServer.json(s.post("/v1/chat/completions", body + "}"));
        JsonNode c = j.get("choices").get(0);
        assertEquals(cut.text(), c.get("message").get("content").asText());
        assertFalse(c.get("message").get("content").asText().contains(stop));
        assertEquals("stop", c.get("finish_reason").asText());
        assertEquals(cut.tokens(), j.get("usage").get("completion_tokens").asInt());
        // streamed: the same cut, no piece of the stop string leaks
        List<JsonNode> ev = TestServer.sseEvents(s.post("/v1/chat/completions", body + ",\"stream\":true}").body());
        StringBuilder sb = new StringBuilder();
        for (int i = 1; i < ev.size() - 1; i++) sb.append(ev.get(i).get("choices").get(0).get("delta").get("content").asText());
        assertEquals(cut.text(), sb.toString());
        assertEquals("stop", ev.get(ev.size() - 1).get("choices").get(0).get("finish_reason").asText());
        // a single string, never occurring: the whole text, "length"
        JsonNode n = TestServer.json(s.post("/v1/chat/completions", HELLO + ",\"max_tokens\":30,\"temperature\":0,\"stop\":\"zzz-never\"}"));
        assertEquals(text, n.get("choices").get(0).get("message").get("content").asText());
        assertEquals("length", n.get("choices").get(0).get("finish_reason").asText());
    }

    @Test void seededSamplingIsReproducibleAndMatchesTheOracle() throws Exception {
        int[] prompt = ChatTemplate.encode(s.tokenizer, HELLO_MSGS, true);
        String body = HELLO + ",\"max_tokens\":16,\"temperature\":0.9,\"top_p\":0.95,\"seed\":";
        String a = content(s.post("/v1/chat/completions", body + "42}"));
        String b = content(s.post("/v1/chat/completions", body + "42}"));
        String c = content(s.post("/v1/chat/completions", body + "43}"));
        assertEquals(a, b);
        assertNotEquals(a, c);
        assertEquals(s.oracle(prompt, 16, new Sampler(0.9f, 0, 0.95f, 42)).text(), a);
        assertNotEquals(s.oracle(prompt, 16, Sampler.greedy()).text(), a);
        // no temperature in the request: the server's default (0.6 here)
        String d = content(s.post("/v1/chat/completions", HELLO + ",\"max_tokens\":16,\"seed\":5}"));
        assertEquals(s.oracle(prompt, 16, new Sampler(0.6f, 0, 1f, 5)).text(), d);
        // no max_tokens: the server's default (12 here)
        JsonNode j = TestServer.json(s.post("/v1/chat/completions", HELLO + ",\"temperature\":0}"));
        assertEquals(s.oracle(prompt, 12, Sampler.greedy()).tokens().length, j.get("usage").get("completion_tokens").asInt());
    }

    @Test void maxTokensIsClampedToTheContext() throws Exception {
        int[] prompt = ChatTemplate.encode(s.tokenizer, HELLO_MSGS, true);
        int room = TestServer.CONTEXT - prompt.length;
        JsonNode j = TestServer.json(s.post("/v1/chat/completions", HELLO + ",\"max_tokens\":1000,\"temperature\":0}"));
        TestServer.Expected e = s.oracle(prompt, room, Sampler.greedy());
        assertEquals(e.text(), j.get("choices").get(0).get("message").get("content").asText());
        assertEquals(e.tokens().length, j.get("usage").get("completion_tokens").asInt());
        assertEquals(TestServer.CONTEXT, j.get("usage").get("total_tokens").asInt());
        assertEquals("length", j.get("choices").get(0).get("finish_reason").asText());
    }

    @Test void concurrentRequestsAreServedOneAtATimeEachWithItsOwnCache() throws Exception {
        String body = HELLO + ",\"max_tokens\":15,\"temperature\":0}";
        String expected = s.oracle(ChatTemplate.encode(s.tokenizer, HELLO_MSGS, true), 15, Sampler.greedy()).text();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<String>> fs = new ArrayList<>();
            for (int i = 0; i < 4; i++) fs.add(pool.submit(() -> content(s.post("/v1/chat/completions", body))));
            for (Future<String> f : fs) assertEquals(expected, f.get());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test void modelsAndHealth() throws Exception {
        JsonNode m = TestServer.json(s.get("/v1/models"));
        assertEquals("list", m.get("object").asText());
        assertEquals(1, m.get("data").size());
        assertEquals("tiny-test", m.get("data").get(0).get("id").asText());
        assertEquals("model", m.get("data").get(0).get("object").asText());
        JsonNode one = TestServer.json(s.get("/v1/models/tiny-test"));
        assertEquals("tiny-test", one.get("id").asText());
        HttpResponse<String> h = s.get("/health");
        assertEquals(200, h.statusCode());
        assertEquals("ok", TestServer.json(h).get("status").asText());
    }

    static String content(HttpResponse<String> r) throws Exception {
        assertEquals(200, r.statusCode(), r.body());
        return TestServer.json(r).get("choices").get(0).get("message").get("content").asText();
    }
}
