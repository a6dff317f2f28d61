package dev.jseek.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Pre-tokenizer parity, code point by code point: every code point of the BMP and a large sample of the other
 * planes, in a dozen contexts that exercise each alternative of the split regexes, is pre-tokenized by jseek and by
 * HF tokenizers; the piece boundaries must be identical. HF's pieces are read from a probe tokenizer with the same
 * pre-tokenizer and a WordLevel model that maps every piece to [UNK] (one token per piece, offsets = the piece).
 */
class PreTokenizerParityTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir Path tmp;

    /** Contexts around code point c (as a string); joined by CJK separators, which stage 2 isolates. */
    static final String[] CONTEXTS = {"a%sb", " %sb", " %s ", "%s%s.", ".%sx", "%s\n", " %s\n", "1%s2", "\t%sa",
            "%s%s%s%s", "x%s y", "%s  \n", "'%s", "%sA", "%s\r\n\r\n", "%s 9", "Z%s%s"};

    /**
     * Code points to probe. With -Djseek.tokenizer.fullSweep=true: every BMP code point, and every supplementary one
     * that is not unassigned / private use / other letter plus every 61st of those. By default (the 2-core CI
     * budget): every code point below U+0250, every BMP mark, number, punctuation, symbol, separator, control and
     * format char, every 29th other BMP code point; every 3rd supplementary mark/number/punctuation/symbol and every
     * 997th other one.
     */
    static List<Integer> codePointsToProbe() {
        boolean full = Boolean.getBoolean("jseek.tokenizer.fullSweep");
        List<Integer> cps = new ArrayList<>();
        for (int c = 0; c < 0x10000; c++) {
            if (Character.isSurrogate((char) c)) continue;
            int t = Character.getType(c);
            boolean bulk = Character.isLetter(c) || t == Character.UNASSIGNED || t == Character.PRIVATE_USE;
            if (full || c < 0x250 || !bulk || c % 29 == 0) cps.add(c);
        }
        for (int c = 0x10000; c < 0x110000; c++) {
            int t = Character.getType(c);
            boolean bulk = t == Character.UNASSIGNED || t == Character.PRIVATE_USE || t == Character.OTHER_LETTER;
            boolean letter = Character.isLetter(c) || bulk || t == Character.CONTROL || t == Character.FORMAT;
            if (full ? (!bulk || c % 61 == 0) : (letter ? c % 997 == 0 : c % 3 == 0)) cps.add(c);
        }
        return cps;
    }

    static String probeText(List<Integer> cps, int from, int to, String sep) {
        StringBuilder sb = new StringBuilder();
        for (int i = from; i < to; i++) {
            String c = Character.toString(cps.get(i));
            for (String ctx : CONTEXTS) sb.append(ctx.replace("%s", c)).append(sep);
        }
        return sb.toString();
    }

    /** Writes a probe tokenizer.json: the given pre_tokenizer, no normalizer, a WordLevel model with only [UNK]. */
    Path probe(JsonNode preTokenizer, String name) throws Exception {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        root.putArray("added_tokens");
        root.putNull("normalizer");
        root.set("pre_tokenizer", preTokenizer);
        root.putNull("post_processor");
        root.putNull("decoder");
        ObjectNode model = root.putObject("model");
        model.put("type", "WordLevel");
        model.putObject("vocab").put("[UNK]", 0);
        model.put("unk_token", "[UNK]");
        Path p = tmp.resolve(name + ".json");
        Files.writeString(p, JSON.writeValueAsString(root));
        return p;
    }

    /** Our pieces as code point spans. */
    static long[] ourSpans(Tokenizer t, String text) {
        List<Long> out = new ArrayList<>();
        int[] cur = new int[2]; // utf-16 index, code point index (pieces arrive in order)
        Tokenizer.SpanSink toCp = (a, b) -> {
            int ca = cur[1] + text.codePointCount(cur[0], a);
            int cb = ca + text.codePointCount(a, b);
            cur[0] = b;
            cur[1] = cb;
            out.add(((long) ca << 32) | cb);
        };
        t.preTokenizeSpans(text, toCp);
        long[] r = new long[out.size()];
        for (int i = 0; i < r.length; i++) r[i] = out.get(i);
        return r;
    }

    long oursNs, hfNs;

    void compare(Tokenizer ours, HfOracle hf, List<Integer> cps, String sep) {
        int block = 400;
        int checked = 0;
        for (int from = 0; from < cps.size(); from += block) {
            int to = Math.min(cps.size(), from + block);
            String text = probeText(cps, from, to, sep);
            long t0 = System.nanoTime();
            long[] a = ourSpans(ours, text);
            long t1 = System.nanoTime();
            long[] b = hf.spans(text);
            oursNs += t1 - t0;
            hfNs += System.nanoTime() - t1;
            if (!java.util.Arrays.equals(a, b)) {
                // narrow down to the first differing code point for the message
                for (int i = from; i < to; i++) {
                    String one = probeText(cps, i, i + 1, sep);
                    if (!java.util.Arrays.equals(ourSpans(ours, one), hf.spans(one))) {
                        assertEquals(pieces(one, hf.spans(one)), pieces(one, ourSpans(ours, one)),
                                "pre-tokenizer differs for U+" + Integer.toHexString(cps.get(i)));
                    }
                }
                assertEquals(java.util.Arrays.toString(b), java.util.Arrays.toString(a), "spans differ in block at " + from);
            }
            checked += to - from;
        }
        assertEquals(cps.size(), checked);
        System.out.printf("%d code points: jseek %.1f s, hf %.1f s%n", checked, oursNs / 1e9, hfNs / 1e9);
    }

    static List<String> pieces(String text, long[] spans) {
        List<String> out = new ArrayList<>();
        for (long s : spans) {
            int a = text.offsetByCodePoints(0, (int) (s >>> 32)), b = text.offsetByCodePoints(0, (int) s);
            out.add(text.substring(a, b).replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t"));
        }
        return out;
    }

    @Test void deepseekV3PreTokenizerMatchesHfCodePointByCodePoint() throws Exception {
        Path real = TestData.deepseekV3();
        Tokenizer ours = Tokenizer.load(real);
        JsonNode pre = JSON.readTree(real.toFile()).get("pre_tokenizer");
        try (HfOracle hf = new HfOracle(probe(pre, "ds3probe"))) {
            List<Integer> cps = codePointsToProbe();
            compare(ours, hf, cps, "一");
        }
    }
}
