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
 * {@code messages} with the template's message; tools, whose call syntax jseek cannot know for such a template, are a
 * 400 naming their parameter; {@code chat_template_kwargs} are the template's variables (the names jseek sets itself
 * are a 400).
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
        server = withTemplate("m", TEMPLATE);
        assertNull(ChatTemplate.formatOf(server.tokenizer));
        assertTrue(ChatTemplate.rendersWithJinja(server.tokenizer));
        assertFalse(ChatTemplate.splitsReasoning(server.tokenizer));
        reasoner = withTemplate("r", REASONING_TEMPLATE);
        assertTrue(ChatTemplate.splitsReasoning(reasoner.tokenizer));
    }

    /** A server of the test model (seed 23, 256 positions) in tmp/name whose tokenizer_config.json carries {@code template}. */
    static TestServer withTemplate(String name, String template) throws Exception {
        Path dir = tmp.resolve(name);
        TestServer.buildModel(dir, 23, 256);
        Files.writeString(dir.resolve("tokenizer_config.json"), TestServer.JSON.createObjectNode().put("chat_template", template).toString());
        return new TestServer(dir, new SamplingParams.Defaults(12, 0f));
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

    @Test void theTemplatesRefusalToolsAndReservedKwargsAreClearErrors() throws Exception {
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
                + "\"chat_template_kwargs\":{\"bos_token\":\"<s>\"}}");
        assertEquals(400, r.statusCode(), r.body());
        err = TestServer.json(r).get("error");
        assertEquals("chat_template_kwargs.bos_token", err.get("param").textValue());
        assertEquals("chat_template_kwargs.bos_token: jseek sets 'bos_token' itself", err.get("message").textValue());
    }

    /**
     * {@code chat_template_kwargs} reach a Jinja template as variables (as transformers' apply_chat_template(**kwargs)
     * and llama-server pass them): JSON objects, arrays, numbers, strings, booleans and null as the template sees
     * them, {@code thinking} included (it is only a variable to such a template). The answer is the oracle's on the
     * prompt rendered with them.
     */
    @Test void templateKwargsAreTheTemplatesVariables() throws Exception {
        String template = """
                {{- bos_token }}{% if persona %}[{{ persona.name | upper }} x{{ persona.level * 2 }} {{ tags | join('/') }} {{ ratio }}{{ ' none' if nothing is none }}]
                {% endif %}{% for m in messages %}{{ m.role }}: {{ m.content }}
                {% endfor %}{% if add_generation_prompt %}assistant:{% if thinking %} <think>{% endif %}{% endif %}""";
        try (TestServer kw = withTemplate("kw", template)) {
            List<Message> msgs = List.of(Message.user("hello"));
            java.util.Map<String, Object> vars = new java.util.LinkedHashMap<>();
            vars.put("persona", java.util.Map.of("name", "ada", "level", 21L));
            vars.put("tags", List.of("a", "b"));
            vars.put("ratio", 0.5);
            vars.put("nothing", null);
            vars.put("thinking", true);
            String text = ChatTemplate.render(kw.tokenizer, msgs, true, vars);
            assertEquals("<｜begin▁of▁sentence｜>[ADA x42 a/b 0.5 none]\nuser: hello\nassistant: <think>", text.replace(kw.tokenizer.tokenString(kw.tokenizer.bosId()), "<｜begin▁of▁sentence｜>"));
            assertEquals("<｜begin▁of▁sentence｜>user: hello\nassistant:", ChatTemplate.render(kw.tokenizer, msgs, true)
                    .replace(kw.tokenizer.tokenString(kw.tokenizer.bosId()), "<｜begin▁of▁sentence｜>"), "without kwargs the variables are undefined");
            String expected = kw.oracle(ChatTemplate.encode(kw.tokenizer, msgs, true, vars), 12, Sampler.greedy()).text();
            HttpResponse<String> r = kw.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}],"
                    + "\"max_tokens\":12,\"temperature\":0,\"chat_template_kwargs\":{\"persona\":{\"name\":\"ada\",\"level\":21},"
                    + "\"tags\":[\"a\",\"b\"],\"ratio\":0.5,\"nothing\":null,\"thinking\":true}}");
            assertEquals(200, r.statusCode(), r.body());
            JsonNode msg = TestServer.json(r).get("choices").get(0).get("message");
            assertEquals(expected, msg.get("content").textValue());
            assertEquals(ChatTemplate.encode(kw.tokenizer, msgs, true, vars).length, TestServer.json(r).get("usage").get("prompt_tokens").asInt());

            // serve --chat-template-kwargs: defaults under each request's own
            java.util.Map<String, Object> defaults = java.util.Map.of("persona", java.util.Map.of("name", "bob", "level", 1L),
                    "tags", List.of("z", "w", "v"), "ratio", 2.0);
            kw.runner.templateDefaults(defaults);
            java.util.Map<String, Object> over = new java.util.LinkedHashMap<>(defaults);
            over.put("tags", List.of("q"));
            String plain = "{\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}],\"max_tokens\":2,\"temperature\":0";
            int withDefaults = TestServer.json(kw.post("/v1/chat/completions", plain + "}")).get("usage").get("prompt_tokens").asInt();
            int overridden = TestServer.json(kw.post("/v1/chat/completions", plain + ",\"chat_template_kwargs\":{\"tags\":[\"q\"]}}"))
                    .get("usage").get("prompt_tokens").asInt();
            assertEquals(ChatTemplate.encode(kw.tokenizer, msgs, true, defaults).length, withDefaults);
            assertEquals(ChatTemplate.encode(kw.tokenizer, msgs, true, over).length, overridden);
            assertNotEquals(withDefaults, overridden);
            assertNotEquals(ChatTemplate.encode(kw.tokenizer, msgs, true).length, withDefaults);
        }
    }
}
