package dev.jseek.jinja;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.tokenizer.ChatFormat;
import dev.jseek.tokenizer.ChatTemplate;
import dev.jseek.tokenizer.Message;
import dev.jseek.tokenizer.ToolCall;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A chat template comes from a model file, so a damaged one is user input: whatever the text, parsing and rendering
 * end in a result or a {@link JinjaException} (a message and a line), never another exception. The inputs are the
 * family's real template texts cut short, with a character deleted, duplicated or replaced at a random place (a
 * seeded generator: the same 6,600 variants every run).
 */
class JinjaMalformedTest {
    @Test void damagedTemplatesFailWithAJinjaExceptionOnly() {
        Map<String, Object> ctx = ChatTemplate.context(List.of(Message.system("S"), Message.user("Hi"),
                new Message("assistant", null, List.of(ToolCall.function("f", "{\"a\": 1}"))), Message.tool("42"),
                Message.assistant("<think>r</think>ok")), true, "<s>", "</s>", null);
        String specials = "{}%#-+()[]'\"|.,:=~!<>\\\n ";
        SplittableRandom r = new SplittableRandom(11);
        int parsed = 0, rendered = 0, refused = 0;
        for (ChatFormat f : ChatFormat.values()) {
            String src = f.template;
            for (int i = 0; i < 600; i++) {
                int at = r.nextInt(src.length());
                String t = switch (i % 4) {
                    case 0 -> src.substring(0, at);
                    case 1 -> src.substring(0, at) + src.substring(at + 1);
                    case 2 -> src.substring(0, at) + src.charAt(at) + src.substring(at);
                    default -> src.substring(0, at) + specials.charAt(r.nextInt(specials.length())) + src.substring(at + 1);
                };
                try {
                    JinjaTemplate jt = JinjaTemplate.parse(t);
                    parsed++;
                    jt.render(ctx);
                    rendered++;
                } catch (JinjaException e) {
                    refused++;
                    assertNotNull(e.getMessage());
                } catch (RuntimeException | StackOverflowError e) {
                    fail(f.label + " variant " + i + " (" + (i % 4) + " at " + at + ") threw " + e + " instead of a JinjaException:\n" + t, e);
                }
            }
        }
        System.out.printf("JinjaMalformedTest: %d variants parsed, %d rendered, %d refused with a JinjaException%n", parsed, rendered, refused);
        assertTrue(refused > 1000 && rendered > 1000, "parsed " + parsed + ", rendered " + rendered + ", refused " + refused);
    }
}
