package dev.jseek.serve;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jseek.infer.Sampler;
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
 * A model whose chat template is none of the DeepSeek family's is served through jseek's Jinja engine: the answer is
 * the oracle's on the prompt the engine renders; the template's own {@code raise_exception} is a 400 naming
 * {@code messages} with the template's message; tools and the thinking switch, which jseek cannot know for such a
 * template, are 400s naming their parameter.
 */
class JinjaTemplateServeTest {
    @TempDir static Path tmp;
    static TestServer server, reasoner;

    /** A reasoning model's template in R1's manner: earlier answers lose their reasoning, the answer opens {@code <think>}. */
    static final String REASONING_TEMPLATE = """
            {{- bos_token }}{% for m in messages %}{% if m.role == 'assistant' %}A: {{ m.content.split('</think>')[-1] }}
            {% else %}U: {{ m.content }}
            {% endif %}{% endfor %}{% if add_generation_prompt %}A: <think>
            {% endif %}""";

    static final String TEMPLATE = """
            {%- if messages[0]['role'] == 'assistant' %}{{ raise_exception('The conversation must not open with an assistant turn') }}{% endif %}
            {{- bos_token }}
            {%- for m in messages %}
            {{ m.role | upper }}: {{ m.content | trim }}
            {% endfor %}
            {%- if add_generation_prompt %}ASSISTANT:{% endif %}""";

    @BeforeAll static void start() throws Exception {
        Path dir = tmp.resolve("m");
        TestServer.buildModel(dir, 23, 256);
        Files.writeString(dir.resolve("tokenizer_config.json"), TestServer.JSON.createObjectNode().put("chat_template", TEMPLATE).toString());
        server = new TestServer(dir, new SamplingParams.Defaults(12, 0f));
        assertNull(ChatTemplate.formatOf(server.tokenizer));
        assertTrue(ChatTemplate.rendersWithJinja(server.tokenizer));
        assertFalse(ChatTemplate.splitsReasoning(server.tokenizer));
        Path r = tmp.resolve("r");
        TestServer.buildModel(r, 23, 256);
        Files.writeString(r.resolve("tokenizer_config.json"), TestServer.JSON.createObjectNode().put("chat_template", REASONING_TEMPLATE).toString());
        reasoner = new TestServer(r, new SamplingParams.Defaults(12, 0f));
        assertTrue(ChatTemplate.splitsReasoning(reasoner.tokenizer));
    }

    @AfterAll static void stop() {
        if (server != null) server.close();
        if (reasoner != null) reasoner.close();
    }

    /**
     * A template that handles {@code </think>} is a reasoning model's: its answers come back split as DeepSeek's API
     * returns R1's, the text up to the first {@code </think>} as reasoning_content (all of it when the answer stops
     * before one), the rest as content.
     */
    @Test void aReasoningTemplatesAnswersAreSplit() throws Exception {
        List<Message> msgs = List.of(Message.user("hello"), Message.assistant("<think>why</think>hi"), Message.user("again"));
        String prompt = ChatTemplate.render(reasoner.tokenizer, msgs, true);
        assertTrue(prompt.endsWith("U: hello\nA: hi\nU: again\nA: <think>\n"), prompt);
        String text = reasoner.oracle(ChatTemplate.encode(reasoner.tokenizer, msgs, true), 12, Sampler.greedy()).text();
        int end = text.indexOf("</think>");
        String reasoning = end < 0 ? text : text.substring(0, end), content = end < 0 ? "" : text.substring(end + "</think>".length());
        HttpResponse<String> r = reasoner.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hello\"},"
                + "{\"role\":\"assistant\",\"content\":\"<think>why</think>hi\"},{\"role\":\"user\",\"content\":\"again\"}],"
                + "\"max_tokens\":12,\"temperature\":0}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode msg = TestServer.json(r).get("choices").get(0).get("message");
        assertEquals(reasoning, msg.get("reasoning_content").textValue());
        assertEquals(content, msg.get("content").textValue());
    }

    @Test void chatsWithThePromptTheEngineRenders() throws Exception {
        List<Message> msgs = List.of(Message.system("  Be brief. "), Message.user("hello world"));
        String text = ChatTemplate.render(server.tokenizer, msgs, true);
        assertTrue(text.endsWith("SYSTEM: Be brief.\nUSER: hello world\nASSISTANT:"), text);
        String expected = server.oracle(ChatTemplate.encode(server.tokenizer, msgs, true), 12, Sampler.greedy()).text();
        HttpResponse<String> r = server.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"system\",\"content\":\"  Be brief. \"},"
                + "{\"role\":\"user\",\"content\":\"hello world\"}],\"max_tokens\":12,\"temperature\":0}");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(expected, TestServer.json(r).get("choices").get(0).get("message").get("content").textValue());
    }

    @Test void theTemplatesRefusalToolsAndThinkingAreClearErrors() throws Exception {
        HttpResponse<String> r = server.post("/v1/chat/completions",
                "{\"messages\":[{\"role\":\"assistant\",\"content\":\"hi\"},{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":4}");
        assertEquals(400, r.statusCode(), r.body());
        JsonNode err = TestServer.json(r).get("error");
        assertEquals("messages", err.get("param").textValue());
        assertTrue(err.get("message").textValue().endsWith("refuses this conversation: The conversation must not open with an assistant turn"),
                err.get("message").textValue());

        r = server.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":4,"
                + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]}");
        assertEquals(400, r.statusCode(), r.body());
        err = TestServer.json(r).get("error");
        assertEquals("tools", err.get("param").textValue());
        assertTrue(err.get("message").textValue().startsWith("the model's chat template is none of the DeepSeek family's"), err.get("message").textValue());

        r = server.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":4,"
                + "\"chat_template_kwargs\":{\"thinking\":true}}");
        assertEquals(400, r.statusCode(), r.body());
        assertEquals("chat_template_kwargs.thinking", TestServer.json(r).get("error").get("param").textValue());
    }
}
