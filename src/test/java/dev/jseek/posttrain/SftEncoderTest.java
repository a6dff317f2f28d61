package dev.jseek.posttrain;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.tokenizer.ChatTemplate;
import dev.jseek.tokenizer.Message;
import dev.jseek.tokenizer.Tokenizer;
import dev.jseek.tokenizer.ToolCall;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SFT mask (docs/architecture.md §7.5, §7.8): token by token, exactly the tokens an assistant produced are trained. Oracle: the
 * inference view of each assistant turn — the conversation up to it rendered with the generation prompt must be
 * the tokens before the trained run, and the run must decode to the turn's text as docs/architecture.md §7.8 writes it (content +
 * {@code <｜end▁of▁sentence｜>}; tool calls spelled out from docs/architecture.md §7.8) — plus the whole sequence equal to the
 * template's encoding of the conversation.
 */
class SftEncoderTest {
    static final String EOS = "<｜end▁of▁sentence｜>";
    @TempDir static Path tmp;
    static Tokenizer bpe, bytes;

    @BeforeAll
    static void tokenizers() throws Exception {
        bpe = Fixtures.tokenizer(tmp, 420);
        bytes = Fixtures.tokenizer(tmp, 274);
    }

    /** Runs of consecutive trained tokens: [start, end) pairs. */
    static List<int[]> runs(boolean[] a) {
        List<int[]> r = new ArrayList<>();
        for (int i = 0; i < a.length; i++) {
            if (!a[i]) continue;
            int j = i;
            while (j < a.length && a[j]) j++;
            r.add(new int[] {i, j});
            i = j;
        }
        return r;
    }

    /**
     * Checks an example against the oracle. {@code produced} = the text each assistant turn produces, in order
     * (written by hand from docs/architecture.md §7.8); {@code prompts} = for each, the messages before it (its prompt).
     */
    static void check(Tokenizer t, List<Message> conv, List<String> produced, List<List<Message>> prompts) {
        SftExample e = new SftEncoder(t).encode(conv);
        int[] ids = e.tokens();
        assertArrayEquals(ChatTemplate.encode(t, conv, false), ids, "the tokens are the template's encoding of the conversation");
        List<int[]> runs = runs(e.assistant());
        assertEquals(produced.size(), runs.size(), "one trained run per assistant turn: " + Arrays.toString(e.assistant()));
        for (int k = 0; k < runs.size(); k++) {
            int[] r = runs.get(k);
            assertEquals(produced.get(k), t.decode(Arrays.copyOfRange(ids, r[0], r[1])), "run " + k + " decodes to the produced text");
            boolean laterToolCalls = produced.get(k).startsWith("\n<｜tool▁call▁begin｜>");
            // a later tool-calling turn: the template renders no <｜Assistant｜> for it; its prompt is the text before
            int[] prompt = ChatTemplate.encode(t, prompts.get(k), !laterToolCalls);
            assertArrayEquals(prompt, Arrays.copyOfRange(ids, 0, r[0]), "tokens before run " + k + " are its prompt");
            for (int i = 0; i + 1 < ids.length; i++) assertEquals(e.assistant()[i + 1] ? ids[i + 1] : -1, e.target(i));
        }
    }

    @Test
    void singleAndMultiTurn() {
        for (Tokenizer t : List.of(bpe, bytes)) {
            List<Message> c1 = List.of(Message.user("What is 3+4?"), Message.assistant("The answer is 7."));
            check(t, c1, List.of("The answer is 7." + EOS), List.of(c1.subList(0, 1)));
            List<Message> c2 = List.of(Message.system("You are helpful."), Message.user("Hello there!"), Message.assistant("Hi, how are you?"),
                    Message.user("Fine, thanks. Ünïcödé 😀 中文?"), Message.assistant("Gut! 😀 7+7 = 14\n"), Message.system("Be brief."));
            List<Message> sys = List.of(c2.get(0), c2.get(5));
            check(t, c2, List.of("Hi, how are you?" + EOS, "Gut! 😀 7+7 = 14\n" + EOS),
                    List.of(concat(sys, c2.subList(1, 2)), concat(sys, c2.subList(1, 4))));
            // an empty assistant reply trains only its end of sentence
            List<Message> c3 = List.of(Message.user("?"), Message.assistant(""));
            check(t, c3, List.of(EOS), List.of(c3.subList(0, 1)));
        }
    }

    @Test
    void toolCallsAndOutputs() {
        ToolCall a = ToolCall.function("add", "{\"a\": 3, \"b\": 4}"), b = ToolCall.function("mul", "{\"a\": 2}");
        List<Message> conv = List.of(Message.user("Compute 3+4 then double it!"), Message.toolCalls(a), Message.tool("7"),
                Message.assistant("It is 7."), Message.user("And the product"), Message.toolCalls(a, b), Message.tool("14"), Message.tool("2"),
                Message.assistant("14 and 2."));
        // docs/architecture.md §7.8: the first call of the conversation opens with <｜tool▁calls▁begin｜> (after the prompt's <｜Assistant｜>);
        // a single call gets no closing pair; later calls start with "\n" and close with calls-end + EOS; after tool
        // output the reply follows <｜tool▁outputs▁end｜> (the prompt) and ends with EOS.
        String call1 = "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>add\n```json\n{\"a\": 3, \"b\": 4}\n```<｜tool▁call▁end｜>";
        String call2 = "\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>add\n```json\n{\"a\": 3, \"b\": 4}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>" + EOS
                + "\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>mul\n```json\n{\"a\": 2}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>" + EOS;
        for (Tokenizer t : List.of(bpe, bytes))
            check(t, conv, List.of(call1, "It is 7." + EOS, call2, "14 and 2." + EOS),
                    List.of(conv.subList(0, 1), conv.subList(0, 3), conv.subList(0, 5), conv.subList(0, 8)));
    }

    @Test
    void aTokenThatStartsInThePromptIsNotTrained() {
        // the quirk of docs/architecture.md §7.8: a second tool-calling turn starts with "\n" straight after the user's text, and the
        // pre-tokenizer's punctuation+newline piece merges "?" with it; that token starts in the prompt: untrained
        ToolCall a = ToolCall.function("add", "{}");
        List<Message> conv = List.of(Message.user("Go"), Message.toolCalls(a), Message.user("Again?"), Message.toolCalls(a));
        for (Tokenizer t : List.of(bpe, bytes)) {
            SftExample e = new SftEncoder(t).encode(conv);
            int[] ids = e.tokens();
            List<int[]> runs = runs(e.assistant());
            assertEquals(2, runs.size());
            String produced = "\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>add\n```json\n{}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>" + EOS;
            String last = t.decode(new int[] {ids[runs.get(1)[0] - 1]}), before = t.decode(Arrays.copyOfRange(ids, 0, runs.get(1)[0]));
            String run = t.decode(Arrays.copyOfRange(ids, runs.get(1)[0], runs.get(1)[1]));
            if (last.equals("?\n")) { // merged: the newline went with the prompt's token
                assertTrue(before.endsWith("Again?\n"), before);
                assertEquals(produced.substring(1), run);
            } else { // bytes: "?" and "\n" are separate tokens, the newline is trained
                assertEquals("?", last);
                assertEquals(produced, run);
            }
            if (t == bpe) assertEquals("?\n", last, "the BPE tokenizer has the merged token");
        }
    }

    @Test
    void truncationKeepsTheMaskOfThePrefix() {
        SftExample e = new SftEncoder(bpe).encode(List.of(Message.user("What is 3+4?"), Message.assistant("The answer is 7.")));
        SftExample t = e.truncate(e.length() - 3);
        assertArrayEquals(Arrays.copyOf(e.tokens(), e.length() - 3), t.tokens());
        assertEquals(e.trainedTargets(e.length()) - 3, t.trainedTargets(t.length()));
    }

    static List<Message> concat(List<Message> a, List<Message> b) {
        List<Message> r = new ArrayList<>(a);
        r.addAll(b);
        return r;
    }
}
