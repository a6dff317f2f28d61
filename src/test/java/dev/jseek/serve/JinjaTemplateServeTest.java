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
    static TestServer server;

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
    }

    @AfterAll static void stop() {
        if (server != null) server.close();
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
