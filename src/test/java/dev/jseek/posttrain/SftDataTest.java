package dev.jseek.posttrain;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.data.DataFormatException;
import dev.jseek.tokenizer.Message;
import dev.jseek.tokenizer.Tokenizer;
import dev.jseek.train.TokenBatch;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Chat JSONL errors name file, line and field; SFT batches (padding, packing) put each example's targets in place; resume. */
class SftDataTest {
    @TempDir Path tmp;

    String error(String line) throws Exception {
        Path f = tmp.resolve("bad.jsonl");
        Files.writeString(f, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"yo\"}]}\n\n" + line + "\n");
        DataFormatException e = assertThrows(DataFormatException.class, () -> ChatJsonl.read(f));
        assertTrue(e.getMessage().startsWith(f + ":3: "), e.getMessage());
        return e.getMessage().substring((f + ":3: ").length());
    }

    @Test
    void malformedLinesNameFileLineAndField() throws Exception {
        assertTrue(error("{\"messages\": [").startsWith("not valid JSON"));
        assertEquals("expected a JSON object {\"messages\": [...]}, got an array", error("[1]"));
        assertEquals("field messages is missing (expected an array of {role, content})", error("{\"msgs\": []}"));
        assertEquals("messages: expected an array, got a string", error("{\"messages\": \"hi\"}"));
        assertEquals("messages[1].role: expected one of system, user, assistant, tool, got \"bot\"",
                error("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"bot\",\"content\":\"b\"}]}"));
        assertEquals("messages[0].role: missing", error("{\"messages\":[{\"content\":\"a\"}]}"));
        assertEquals("messages[1].content: expected a string, got a number 5",
                error("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":5}]}"));
        assertEquals("messages[0].content: missing (a user message needs a string content)", error("{\"messages\":[{\"role\":\"user\"}]}"));
        assertEquals("messages: no assistant message (nothing to train on)", error("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}"));
        assertEquals("messages[1].tool_calls[0].function.name: expected a string, got nothing",
                error("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{}}]}]}"));
        Path none = tmp.resolve("none.jsonl");
        assertEquals(none + ": no such file", assertThrows(DataFormatException.class, () -> ChatJsonl.read(none)).getMessage());
        // valid tool calls: arguments as a string or an object
        List<Message> m = ChatJsonl.parse("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":null,"
                + "\"tool_calls\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":{\"x\":1}}}]}]}", tmp, 1);
        assertNull(m.get(1).content());
        assertEquals("{\"x\":1}", m.get(1).toolCalls().getFirst().arguments());
    }

    static SftExample ex(int id, int len, int promptLen) {
        int[] t = new int[len];
        boolean[] a = new boolean[len];
        for (int i = 0; i < len; i++) { t[i] = id * 100 + i; a[i] = i >= promptLen; }
        return new SftExample(t, a);
    }

    @Test
    void paddedAndPackedBatches() {
        List<SftExample> exs = List.of(ex(1, 5, 2), ex(2, 3, 1), ex(3, 7, 4), ex(4, 4, 3));
        SftBatchSource pad = new SftBatchSource(exs, 2, 8, 2, 99, false, 5);
        Set<Integer> seen = new HashSet<>();
        for (int b = 0; b < 2; b++) {
            TokenBatch tb = pad.next();
            int T = tb.seqLen();
            int longest = 0;
            for (int r = 0; r < 2; r++) {
                int id = tb.inputs()[r * T] / 100;
                assertTrue(seen.add(id), "each example once per epoch");
                SftExample e = exs.get(id - 1);
                longest = Math.max(longest, e.length());
                for (int i = 0; i < T; i++) {
                    assertEquals(i < e.length() ? e.tokens()[i] : 99, tb.inputs()[r * T + i]);
                    assertEquals(i < e.length() - 1 ? e.target(i) : -1, tb.targets()[r * T + i]);
                }
            }
            assertEquals(Math.max(longest - 1, 2), T, "padded to the longest row of the micro-batch");
        }
        assertEquals(4, seen.size());
        // packing: rows of up to seqLen + 1 = 9 tokens; an example's last token predicts nothing (the next one's BOS)
        SftBatchSource pack = new SftBatchSource(exs, 1, 8, 2, 99, true, 5);
        int total = 0;
        for (int b = 0; b < 4; b++) {
            TokenBatch tb = pack.next();
            int T = tb.seqLen();
            List<Integer> ids = new ArrayList<>();
            for (int i = 0; i < T; i++) {
                int v = tb.inputs()[i];
                if (v == 99) continue;
                int id = v / 100, pos = v % 100;
                SftExample e = exs.get(id - 1);
                if (pos == 0) ids.add(id);
                assertEquals(pos + 1 < e.length() ? e.target(pos) : -1, tb.targets()[i]);
            }
            int len = 0;
            for (int id : ids) len += exs.get(id - 1).length();
            assertTrue(len <= 9 || ids.size() == 1, "packed " + ids);
            total += ids.size();
        }
        assertTrue(total > 4, "packing fits more than one example per row: " + total);
    }

    @Test
    void resumeContinuesWithTheSameBatches() {
        List<SftExample> exs = new ArrayList<>();
        for (int i = 1; i <= 7; i++) exs.add(ex(i, 3 + i % 4, 1));
        SftBatchSource a = new SftBatchSource(exs, 2, 8, 2, 0, false, 9);
        for (int i = 0; i < 5; i++) a.next(); // into the second epoch
        byte[] st = a.saveState();
        List<TokenBatch> rest = new ArrayList<>();
        for (int i = 0; i < 6; i++) rest.add(a.next());
        SftBatchSource b = new SftBatchSource(exs, 2, 8, 2, 0, false, 9);
        b.restoreState(st);
        for (TokenBatch tb : rest) {
            TokenBatch x = b.next();
            assertArrayEquals(tb.inputs(), x.inputs());
            assertArrayEquals(tb.targets(), x.targets());
        }
        assertNotEquals(java.util.Arrays.toString(SftBatchSource.permutation(7, 9, 0)), java.util.Arrays.toString(SftBatchSource.permutation(7, 9, 1)));
        SftBatchSource other = new SftBatchSource(exs.subList(0, 6), 2, 8, 2, 0, false, 9);
        assertTrue(assertThrows(RuntimeException.class, () -> other.restoreState(st)).getMessage().contains("7 SFT examples"));
    }

    @Test
    void datasetDropsConversationsWithNothingLeftToTrain() throws Exception {
        Tokenizer t = Fixtures.tokenizer(tmp, 274);
        Path f = tmp.resolve("c.jsonl");
        Files.writeString(f, "{\"messages\":[{\"role\":\"user\",\"content\":\"" + "long prompt ".repeat(10) + "\"},{\"role\":\"assistant\",\"content\":\"x\"}]}\n"
                + "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"a long answer\"}]}\n");
        SftDataset ds = SftDataset.load(f, new SftEncoder(t), 20);
        // the first is cut to 20 tokens, all prompt: dropped; the second (byte level) is BOS <｜User｜> h i <｜Assistant｜>
        // + 13 bytes + EOS = 19 tokens, 14 of them the assistant's
        assertEquals(new SftDataset.Stats(2, 1, 1, 19, 14), ds.stats());
    }
}
