package dev.jseek.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The DeepSeek-V3 chat template: the rendered examples of docs/architecture.md §7.8, and fixtures rendered from the real template
 * with jinja2 (tools/gen-chat-fixtures.py) covering tool calls and the template's quirks.
 */
class ChatTemplateTest {

    @Test void specF8Examples() {
        assertEquals("<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜>",
                ChatTemplate.render(List.of(Message.user("Hi")), true));
        assertEquals("<｜begin▁of▁sentence｜>You are helpful.<｜User｜>Hi<｜Assistant｜>",
                ChatTemplate.render(List.of(Message.system("You are helpful."), Message.user("Hi")), true));
        assertEquals("<｜begin▁of▁sentence｜>A\n\nB<｜User｜>Hi<｜Assistant｜>Yo<｜end▁of▁sentence｜><｜User｜>Q<｜Assistant｜>",
                ChatTemplate.render(List.of(Message.system("A"), Message.system("B"), Message.user("Hi"),
                        Message.assistant("Yo"), Message.user("Q")), true));
    }

    @Test void specF8ToolQuirks() {
        ToolCall w = ToolCall.function("get_weather", "{\"city\": \"Paris\"}");
        String call = "<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜>";
        // quirk 1: a single call gets no <｜tool▁calls▁end｜><｜end▁of▁sentence｜>
        assertEquals("<｜begin▁of▁sentence｜><｜User｜>q<｜Assistant｜><｜tool▁calls▁begin｜>" + call
                        + "<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>22C<｜tool▁output▁end｜><｜tool▁outputs▁end｜>",
                ChatTemplate.render(List.of(Message.user("q"), Message.toolCalls(w), Message.tool("22C")), true));
        // quirk 2: flags never reset: a second tool turn starts with "\n<｜tool▁call▁begin｜>", outputs never reopen
        String second = ChatTemplate.render(List.of(Message.user("q"), Message.toolCalls(w), Message.tool("a"),
                Message.assistant("ok"), Message.user("again"), Message.toolCalls(w), Message.tool("b")), false);
        assertEquals("<｜begin▁of▁sentence｜><｜User｜>q<｜Assistant｜><｜tool▁calls▁begin｜>" + call
                + "<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>a<｜tool▁output▁end｜><｜tool▁outputs▁end｜>ok<｜end▁of▁sentence｜>"
                + "<｜User｜>again\n" + call + "<｜tool▁calls▁end｜><｜end▁of▁sentence｜>"
                + "\n<｜tool▁output▁begin｜>b<｜tool▁output▁end｜><｜tool▁outputs▁end｜>", second);
    }

    @Test void matchesJinja2RenderingOfTheRealTemplate() throws Exception {
        JsonNode root;
        try (InputStream in = getClass().getResourceAsStream("chat-template-fixtures.json")) {
            root = new ObjectMapper().readTree(in);
        }
        int n = 0;
        for (JsonNode c : root.get("cases")) {
            List<Message> msgs = new ArrayList<>();
            for (JsonNode m : c.get("messages")) {
                List<ToolCall> calls = new ArrayList<>();
                for (JsonNode t : m.path("tool_calls")) {
                    calls.add(new ToolCall(t.get("type").asText(), t.get("function").get("name").asText(),
                            t.get("function").get("arguments").asText()));
                }
                JsonNode content = m.get("content");
                msgs.add(new Message(m.get("role").asText(), content == null || content.isNull() ? null : content.asText(), calls));
            }
            assertEquals(c.get("expected").asText(), ChatTemplate.render(msgs, c.get("add_generation_prompt").asBoolean()),
                    c.get("name").asText() + " gen=" + c.get("add_generation_prompt"));
            n++;
        }
        assertEquals(32, n);
    }

    @Test void encodedPromptStartsWithExactlyOneBos() throws Exception {
        Tokenizer t = TestData.deepseekV3Tokenizer();
        int[] ids = ChatTemplate.encode(t, List.of(Message.system("S"), Message.user("Hi")), true);
        assertEquals(0, ids[0]);
        assertEquals(1, java.util.Arrays.stream(ids).filter(i -> i == 0).count());
        assertEquals(128803, ids[ids.length - 3]); // <｜User｜>, "Hi", <｜Assistant｜>
        assertEquals(128804, ids[ids.length - 1]);
        assertEquals("<｜begin▁of▁sentence｜>S<｜User｜>Hi<｜Assistant｜>", t.decode(ids));
    }

    @Test void missingContentIsAnError() {
        assertThrows(IllegalArgumentException.class, () -> ChatTemplate.render(List.of(new Message("user", null, null)), true));
        assertThrows(IllegalArgumentException.class, () -> ChatTemplate.render(List.of(new Message("system", null, null)), true));
    }
}
