package dev.jseek.tokenizer;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Encoding parity with Hugging Face tokenizers (the Rust library via DJL) on the real DeepSeek-V3 tokenizer.json:
 * English, JDK Java sources, Chinese/Japanese, digits, emoji, whitespace runs, punctuation + newlines, added tokens
 * inside text, random Unicode, ill-formed UTF-8 and random token soup. Zero differing ids allowed.
 */
class HfParityTest {
    static Tokenizer ours;
    static HfOracle hf;
    static long idsCompared;

    @BeforeAll static void load() throws Exception {
        ours = TestData.deepseekV3Tokenizer();
        hf = new HfOracle(TestData.deepseekV3());
    }

    @AfterAll static void close() {
        if (hf != null) hf.close();
        System.out.println("HfParityTest: ids compared: " + idsCompared);
    }

    static void check(String what, List<String> texts) {
        long t0 = System.nanoTime();
        int[][] expected = hf.encodeBatch(texts);
        long t1 = System.nanoTime();
        for (int i = 0; i < texts.size(); i++) {
            int[] got = ours.encode(texts.get(i));
            if (!Arrays.equals(expected[i], got)) {
                String t = texts.get(i);
                int k = 0;
                while (k < Math.min(got.length, expected[i].length) && got[k] == expected[i][k]) k++;
                assertEquals(Arrays.toString(Arrays.copyOfRange(expected[i], k, Math.min(expected[i].length, k + 8))),
                        Arrays.toString(Arrays.copyOfRange(got, k, Math.min(got.length, k + 8))),
                        what + " #" + i + ": ids differ at token " + k + " of text starting "
                                + escape(t.substring(0, Math.min(t.length(), 200))));
            }
            idsCompared += got.length;
        }
        long chars = 0;
        for (String t : texts) chars += t.length();
        System.out.printf("%s: %d texts, %.2f M chars, hf %.2f s, jseek+compare %.2f s%n", what, texts.size(), chars / 1e6,
                (t1 - t0) / 1e9, (System.nanoTime() - t1) / 1e9);
    }

    static String escape(String s) { return s.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t"); }

    /** Whole files and each line separately. */
    static List<String> withLines(List<String> docs, int maxLines) {
        List<String> out = new ArrayList<>(docs);
        int n = 0;
        for (String d : docs) {
            for (String line : d.split("\n")) {
                if (n++ >= maxLines) return out;
                out.add(line);
            }
        }
        return out;
    }

    @Test void english() throws Exception { check("english", withLines(ParityCorpus.english(5), 1500)); }

    /** 300 JDK files: 12 whole, and a 4 KB window of each of the 300 (CI budget; the bench encodes 50 MB). */
    @Test void javaSourcesFromJdk() throws Exception {
        List<String> texts = new ArrayList<>(ParityCorpus.jdkSources(12));
        texts.addAll(ParityCorpus.jdkWindows(300, 4000, 9));
        check("jdk", texts);
    }

    @Test void chineseAndJapanese() { check("cjk", ParityCorpus.cjk(ours, 300, 1)); }

    @Test void digitsOfEveryLength() { check("digits", ParityCorpus.digits()); }

    @Test void emoji() { check("emoji", ParityCorpus.emoji(2)); }

    @Test void whitespaceRuns() { check("whitespace", ParityCorpus.whitespace(3)); }

    @Test void punctuationFollowedByNewlines() { check("punct+newline", ParityCorpus.punctuationNewlines(4)); }

    @Test void addedTokensInsideText() { check("added tokens", ParityCorpus.addedTokensInText(5)); }

    @Test void randomUnicode() { check("random unicode", ParityCorpus.randomUnicode(2000, 6)); }

    @Test void tokenSoup() { check("token soup", ParityCorpus.tokenSoup(ours, 1500, 7)); }

    @Test void edgeCases() {
        check("edge", List.of("", " ", "\n", "a", "é", "中", "😀", "\u0000", "\u0000\u0001 x", "  ", "\t\t\t", "\r\n\r\n",
                "<｜begin▁of▁sentence｜>", "<｜begin▁of▁sentence｜><｜begin▁of▁sentence｜>", "x".repeat(5000),
                " ".repeat(3000) + "y", "a b".repeat(2000), "\uFFFD\uFFFD", "\uFEFFbom", "a\u200Db\u200Cc", "e\u0301\u0301"));
    }

    /** Ill-formed UTF-8: our encode(bytes) equals HF's encoding of the lossily decoded string. */
    @Test void invalidUtf8Bytes() {
        List<byte[]> inputs = ParityCorpus.invalidUtf8(500, 8);
        List<String> lossy = new ArrayList<>();
        for (byte[] b : inputs) lossy.add(Utf8.decodeLossy(b));
        int[][] expected = hf.encodeBatch(lossy);
        for (int i = 0; i < inputs.size(); i++) {
            int[] got = ours.encode(inputs.get(i), false);
            assertEquals(Arrays.toString(expected[i]), Arrays.toString(got), "invalid utf-8 #" + i);
            idsCompared += got.length;
        }
    }

    /** BOS per docs/architecture.md §7.8: encode(text, true) = [0] + encode(text). */
    @Test void bosIsPrepended() {
        int[] plain = ours.encode("Hello");
        int[] withBos = ours.encode("Hello", true);
        assertEquals(0, ours.bosId());
        assertEquals(0, withBos[0]);
        assertEquals(Arrays.toString(plain), Arrays.toString(Arrays.copyOfRange(withBos, 1, withBos.length)));
    }
}
