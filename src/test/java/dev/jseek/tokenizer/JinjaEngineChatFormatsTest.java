package dev.jseek.tokenizer;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.jinja.JinjaException;
import dev.jseek.jinja.JinjaTemplate;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * jseek's Jinja engine against jseek's hand-written renderers ({@link ChatFormat}, themselves byte-equal to Python's
 * jinja2 and {@code @huggingface/jinja} in {@link ChatTemplateJinjaTest}): every release template text, rendered by
 * {@link JinjaTemplate} with the messages as transformers passes them ({@link ChatTemplate#context}), must give the
 * same text over every conversation of {@link ChatTemplateJinjaTest#conversations()}, with and without the generation
 * prompt and the thinking switch; where the renderer refuses a conversation, the engine must fail too.
 */
class JinjaEngineChatFormatsTest {
    @Test void everyKnownTemplateRendersAsItsHandWrittenRenderer() {
        int equal = 0, bothFail = 0;
        List<List<Message>> convs = ChatTemplateJinjaTest.conversations();
        for (ChatFormat f : ChatFormat.values()) {
            JinjaTemplate t = JinjaTemplate.parse(f.template);
            for (Boolean think : f.hasThinkingSwitch() ? new Boolean[] {null, false, true} : new Boolean[] {null}) {
                for (int i = 0; i < convs.size(); i++) {
                    for (boolean gen : new boolean[] {true, false}) {
                        String name = f.label + " conversation #" + i + " gen=" + gen + (think == null ? "" : " thinking=" + think);
                        String expected;
                        try {
                            expected = think == null ? f.render(convs.get(i), gen) : f.render(convs.get(i), gen, think);
                        } catch (IllegalArgumentException e) {
                            expected = null;
                        }
                        String ours;
                        try {
                            ours = t.render(ChatTemplate.context(convs.get(i), gen, SpecialTokens.BOS, SpecialTokens.EOS, think));
                        } catch (JinjaException e) {
                            assertNull(expected, name + ": the engine failed (" + e.getMessage() + ") where the renderer gives " + expected);
                            bothFail++;
                            continue;
                        }
                        assertEquals(expected, ours, name);
                        equal++;
                    }
                }
            }
        }
        System.out.println("JinjaEngineChatFormatsTest: " + equal + " renderings equal, " + bothFail + " refused by both");
        assertTrue(equal >= 300, "only " + equal + " renderings compared");
    }
}
