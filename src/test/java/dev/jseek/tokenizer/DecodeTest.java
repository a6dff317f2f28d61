package dev.jseek.tokenizer;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Decoding: round trips, parity with HF's decode (ByteLevel decoder + from_utf8_lossy) on random ids including
 * ill-formed byte sequences and special tokens with and without skipping, and the streaming decoder.
 */
class DecodeTest {
    static Tokenizer t;
    static HfOracle hf;

    @BeforeAll static void load() throws Exception {
        t = TestData.deepseekV3Tokenizer();
        hf = new HfOracle(TestData.deepseekV3());
    }

    @AfterAll static void close() { if (hf != null) hf.close(); }

    @Test void roundTripsOnCorpus() throws Exception {
        List<String> texts = new ArrayList<>(ParityCorpus.jdkSources(20));
        texts.addAll(ParityCorpus.cjk(t, 50, 21));
        texts.addAll(ParityCorpus.emoji(22));
        texts.addAll(ParityCorpus.whitespace(23));
        texts.addAll(ParityCorpus.addedTokensInText(24));
        texts.addAll(ParityCorpus.randomUnicode(500, 25));
        for (String s : texts) assertEquals(s, t.decode(t.encode(s)));
    }

    /** Random ids: byte tokens (often ill-formed UTF-8 together), merged tokens, added and special tokens. */
    static int[] randomIds(Random r) {
        int n = 1 + r.nextInt(25);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = switch (r.nextInt(4)) {
                case 0 -> 3 + r.nextInt(256);                 // single byte symbols
                case 1 -> r.nextInt(128_000);                 // any model token
                case 2 -> 128_000 + r.nextInt(815);           // added tokens (placeholders, fim, chat, tool)
                default -> r.nextInt(3);                      // BOS / EOS / pad
            };
        }
        return ids;
    }

    @Test void decodeMatchesHfOnRandomIds() {
        Random r = new Random(31);
        for (int k = 0; k < 3000; k++) {
            int[] ids = randomIds(r);
            assertEquals(hf.decode(ids, false), t.decode(ids, false), "ids " + java.util.Arrays.toString(ids));
            assertEquals(hf.decode(ids, true), t.decode(ids, true), "skip special, ids " + java.util.Arrays.toString(ids));
        }
    }

    @Test void skipSpecialRemovesOnlySpecialFlaggedTokens() {
        int[] ids = {t.bosId(), t.tokenId(SpecialTokens.USER), t.tokenId("Hi"), t.tokenId(SpecialTokens.ASSISTANT),
                t.tokenId(SpecialTokens.EOT), t.eosId()};
        assertEquals("<｜User｜>Hi<｜Assistant｜>", t.decode(ids, true));
        assertEquals("<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜><|EOT|><｜end▁of▁sentence｜>", t.decode(ids, false));
    }

    /**
     * Lossy UTF-8 decoding equals HF's (ids 3..258 are the byte symbols). (The JDK's own decoder is not used: it
     * replaces some ill-formed sequences, e.g. encoded surrogates, with fewer U+FFFD than the maximal-subpart rule.)
     */
    @Test void lossyUtf8MatchesHf() {
        for (byte[] b : ParityCorpus.invalidUtf8(1000, 32)) {
            int[] ids = new int[b.length];
            for (int i = 0; i < b.length; i++) ids[i] = t.tokenId(String.valueOf(ByteLevel.byteToChar(b[i] & 0xFF)));
            String ours = Utf8.decodeLossy(b);
            assertEquals(hf.decode(ids, false), ours);
            assertEquals(ours, t.decode(ids));
        }
    }

    @Test void streamingDecoderEmitsWholeCharactersAndMatchesDecode() {
        Random r = new Random(33);
        List<int[]> cases = new ArrayList<>();
        for (String s : ParityCorpus.emoji(34)) cases.add(t.encode(s));
        for (String s : ParityCorpus.cjk(t, 30, 35)) cases.add(t.encode(s));
        for (int k = 0; k < 2000; k++) cases.add(randomIds(r));
        for (int[] ids : cases) {
            for (boolean skip : new boolean[] {false, true}) {
                StreamingDecoder d = t.streamingDecoder(skip);
                StringBuilder all = new StringBuilder();
                for (int id : ids) {
                    String piece = d.next(id);
                    assertWholeCharacters(piece);
                    all.append(piece);
                }
                String tail = d.flush();
                assertTrue(tail.isEmpty() || tail.equals("\uFFFD"));
                all.append(tail);
                assertEquals(t.decode(ids, skip), all.toString(), java.util.Arrays.toString(ids));
            }
        }
    }

    @Test void streamingDecoderHoldsBackSplitCharacter() {
        // "😀" is F0 9F 98 80: feed its bytes as four byte tokens
        byte[] b = "😀".getBytes(StandardCharsets.UTF_8);
        StreamingDecoder d = t.streamingDecoder(false);
        for (int i = 0; i < 3; i++) {
            assertEquals("", d.next(t.tokenId(String.valueOf(ByteLevel.byteToChar(b[i] & 0xFF)))));
            assertEquals(i + 1, d.pendingBytes());
        }
        assertEquals("😀", d.next(t.tokenId(String.valueOf(ByteLevel.byteToChar(b[3] & 0xFF)))));
        assertEquals("", d.flush());
    }

    static void assertWholeCharacters(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c)) {
                assertTrue(i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1)), "split surrogate pair");
                i++;
            } else {
                assertTrue(!Character.isLowSurrogate(c), "lone low surrogate");
            }
        }
    }
}
