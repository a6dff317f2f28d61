package dev.jseek.serve;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jseek.infer.Sampler;
import dev.jseek.tokenizer.ChatFormat;
import dev.jseek.tokenizer.ChatTemplate;
import dev.jseek.tokenizer.Message;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DeepSeek-V3.1's thinking switch through the API ({@code chat_template_kwargs.thinking}, as vLLM and SGLang take it):
 * the prompt is the template's rendering with the switch on (oracle: {@link ChatTemplate#encode} with thinking, then
 * {@code Generator} on a separately opened model), and the answer comes back split as DeepSeek's API returns it:
 * {@code reasoning_content} up to the first {@code </think>}, {@code content} after it, streamed or not. Off, the
 * answer is all content. A template without the switch (DeepSeek-V3's) refuses it with a 400, as do unknown keys.
 */
class ThinkingTest {
    @TempDir static Path tmp;
    static TestServer v31, v3;
    static final List<Message> MSGS = List.of(Message.user("hello world"));
    static final String BODY = "{\"messages\":[{\"role\":\"user\",\"content\":\"hello world\"}],\"max_tokens\":16,\"temperature\":0";

    @BeforeAll static void start() throws Exception {
        Path a = tmp.resolve("v31"), b = tmp.resolve("v3");
        TestServer.buildModel(a, 21, 256);
        Files.writeString(a.resolve("tokenizer_config.json"),
                TestServer.JSON.createObjectNode().put("chat_template", ChatFormat.DEEPSEEK_V3_1.template).toString());
        TestServer.buildModel(b, 21, 256);
        v31 = new TestServer(a, new SamplingParams.Defaults(16, 0f));
        v3 = new TestServer(b, new SamplingParams.Defaults(16, 0f));
        assertSame(ChatFormat.DEEPSEEK_V3_1, ChatTemplate.formatOf(v31.tokenizer));
    }

    @AfterAll static void stop() {
        if (v31 != null) v31.close();
        if (v3 != null) v3.close();
    }

    /** The oracle's text split at its first {@code </think>}: reasoning, content. */
    static String[] expected(boolean thinking) {
        String text = v31.oracle(ChatTemplate.encode(v31.tokenizer, MSGS, true, thinking), 16, Sampler.greedy()).text();
        if (!thinking) return new String[] {null, text};
        int end = text.indexOf("</think>");
        return end < 0 ? new String[] {text, ""} : new String[] {text.substring(0, end), text.substring(end + "</think>".length())};
    }

    @Test void thinkingOnSplitsTheAnswerIntoReasoningAndContent() throws Exception {
        String[] e = expected(true);
        assertFalse(e[0].isEmpty());
        JsonNode msg = TestServer.json(v31.post("/v1/chat/completions", BODY + ",\"chat_template_kwargs\":{\"thinking\":true}}"))
                .get("choices").get(0).get("message");
        assertEquals(e[0], msg.get("reasoning_content").textValue());
        assertEquals(e[1], msg.get("content").textValue());

        HttpResponse<String> r = v31.post("/v1/chat/completions", BODY + ",\"stream\":true,\"chat_template_kwargs\":{\"thinking\":true}}");
        StringBuilder reasoning = new StringBuilder(), content = new StringBuilder();
        for (JsonNode ev : TestServer.sseEvents(r.body())) {
            JsonNode d = ev.get("choices").get(0).get("delta");
            if (d.has("reasoning_content")) reasoning.append(d.get("reasoning_content").textValue());
            if (d.has("content")) content.append(d.get("content").textValue());
        }
        assertEquals(e[0], reasoning.toString());
        assertEquals(e[1], content.toString());
    }

    @Test void thinkingOffIsAllContent() throws Exception {
        String[] e = expected(false);
        for (String kw : new String[] {"", ",\"chat_template_kwargs\":{\"thinking\":false}", ",\"chat_template_kwargs\":{}"}) {
            JsonNode msg = TestServer.json(v31.post("/v1/chat/completions", BODY + kw + "}")).get("choices").get(0).get("message");
            assertEquals(e[1], msg.get("content").textValue(), kw);
            assertEquals("", msg.path("reasoning_content").asText(""), kw);
        }
    }

    @Test void whatCannotBeSwitchedIsRefused() throws Exception {
        HttpResponse<String> r = v3.post("/v1/chat/completions", BODY + ",\"chat_template_kwargs\":{\"thinking\":true}}");
        assertEquals(400, r.statusCode());
        JsonNode err = TestServer.json(r).get("error");
        assertEquals("chat_template_kwargs.thinking", err.get("param").textValue());
        assertEquals("chat_template_kwargs.thinking: the model's chat template (deepseek-v3) has no thinking switch; DeepSeek-V3.1's has one",
                err.get("message").textValue());
        // off is what V3's template does anyway
        assertEquals(200, v3.post("/v1/chat/completions", BODY + ",\"chat_template_kwargs\":{\"thinking\":false}}").statusCode());

        r = v31.post("/v1/chat/completions", BODY + ",\"chat_template_kwargs\":{\"enable_thinking\":true}}");
        assertEquals(400, r.statusCode());
        assertEquals("chat_template_kwargs.enable_thinking: jseek renders this model's chat template (deepseek-v3.1) itself and reads only "
                + "'thinking' (DeepSeek-V3.1's switch)",
                TestServer.json(r).get("error").get("message").textValue());
        r = v31.post("/v1/chat/completions", BODY + ",\"chat_template_kwargs\":{\"thinking\":\"yes\"}}");
        assertEquals(400, r.statusCode());
        assertEquals("chat_template_kwargs.thinking must be true or false, got string \"yes\"",
                TestServer.json(r).get("error").get("message").textValue());
        r = v31.post("/v1/chat/completions", BODY + ",\"chat_template_kwargs\":{\"thinking\":true},\"tools\":[{\"type\":\"function\","
                + "\"function\":{\"name\":\"f\"}}]}");
        assertEquals(400, r.statusCode());
        assertTrue(TestServer.json(r).get("error").get("message").textValue().contains("non-thinking mode only"));
    }
}
