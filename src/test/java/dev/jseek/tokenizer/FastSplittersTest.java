package dev.jseek.tokenizer;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/**
 * The hand-written DeepSeek-V3 splitters, and kimi-k2's ({@link KimiK2Split}), against their slow twin, the same
 * regexes on java.util.regex: identical pieces on the whole parity corpus and on the code point probe text.
 */
class FastSplittersTest {
    static Tokenizer fast, unfused, slow;

    @BeforeAll static void load() throws Exception {
        fast = TestData.deepseekV3Tokenizer();
        unfused = fast.withPreTokenizer(fast.preTokenizer().unfused());
        slow = fast.withRegexOnly();
    }

    static void same(String what, List<String> texts) {
        for (int i = 0; i < texts.size(); i++) {
            String t = Utf8.replaceLoneSurrogates(texts.get(i));
            List<String> expected = slow.preTokenize(t);
            assertEquals(expected, fast.preTokenize(t), what + " #" + i + " (fused)");
            assertEquals(expected, unfused.preTokenize(t), what + " #" + i + " (separate stages)");
        }
    }

    @Test void fastPathIsUsedForDeepSeekV3() {
        assertEquals(1, fast.preTokenizer().stages.length);
        assertInstanceOf(PreTokenizer.FusedDs3.class, fast.preTokenizer().stages[0]);
        assertEquals(3, unfused.preTokenizer().stages.length);
        for (PreTokenizer.Stage s : unfused.preTokenizer().stages) assertInstanceOf(PreTokenizer.FastSplit.class, s);
        assertEquals(3, slow.preTokenizer().stages.length);
        for (PreTokenizer.Stage s : slow.preTokenizer().stages) assertInstanceOf(PreTokenizer.RegexSplit.class, s);
    }

    @Test void sameAsRegexOnCorpus() throws Exception {
        same("jdk", ParityCorpus.jdkSources(60));
        same("english", ParityCorpus.english(3));
        same("cjk", ParityCorpus.cjk(fast, 100, 11));
        same("digits", ParityCorpus.digits());
        same("emoji", ParityCorpus.emoji(12));
        same("whitespace", ParityCorpus.whitespace(13));
        same("punct", ParityCorpus.punctuationNewlines(14));
        same("unicode", ParityCorpus.randomUnicode(3000, 15));
        same("soup", ParityCorpus.tokenSoup(fast, 1000, 16));
    }

    static List<String> pieces(PreTokenizer p, String text) {
        List<String> out = new ArrayList<>();
        p.split(p.newState(), text, 0, text.length(), (s, a, b) -> out.add(s.substring(a, b)));
        return out;
    }

    static void sameKimi(String what, List<String> texts) {
        PreTokenizer fastKimi = NamedPreTokenizer.KIMI_K2.build(), slowKimi = fastKimi.regexOnly();
        assertInstanceOf(PreTokenizer.FastSplit.class, fastKimi.stages[0]);
        assertInstanceOf(PreTokenizer.RegexSplit.class, slowKimi.stages[0]);
        for (int i = 0; i < texts.size(); i++) {
            String t = Utf8.replaceLoneSurrogates(texts.get(i));
            assertEquals(pieces(slowKimi, t), pieces(fastKimi, t), "kimi-k2 " + what + " #" + i);
        }
    }

    @Test void kimiK2SameAsRegex() throws Exception {
        sameKimi("jdk", ParityCorpus.jdkSources(60));
        sameKimi("english", ParityCorpus.english(3));
        sameKimi("cjk", ParityCorpus.cjk(fast, 100, 11));
        sameKimi("digits", ParityCorpus.digits());
        sameKimi("emoji", ParityCorpus.emoji(12));
        sameKimi("whitespace", ParityCorpus.whitespace(13));
        sameKimi("punct", ParityCorpus.punctuationNewlines(14));
        sameKimi("unicode", ParityCorpus.randomUnicode(3000, 15));
        sameKimi("soup", ParityCorpus.tokenSoup(fast, 1000, 16));
        sameKimi("targeted", KimiTestVocabulary.targeted(17));
        sameKimi("han", KimiTestVocabulary.hanNeighbours());
        sameKimi("unicode16", KimiTestVocabulary.unicode16());
        sameKimi("multilingual", KimiTestVocabulary.MULTILINGUAL);
        // every code point between each pair of neighbours that the rules tell apart
        String[] ctx = {"a", "A", " ", "  ", "\n", "\r\n", "1", "(", "'", "中", "か", "\u0301", "\t", "", "𝐀", "\u3000"};
        List<String> probe = new ArrayList<>();
        StringBuilder sb = new StringBuilder();
        java.util.Random r = new java.util.Random(18);
        for (int cp = 0; cp <= 0x10FFFF; cp++) {
            if (cp >= 0xD800 && cp <= 0xDFFF) continue;
            sb.append(ctx[r.nextInt(ctx.length)]).appendCodePoint(cp).append(ctx[r.nextInt(ctx.length)]);
            if (sb.length() > 4000) {
                probe.add(sb.toString());
                sb.setLength(0);
            }
        }
        probe.add(sb.toString());
        sameKimi("every code point", probe);
    }

    @Test void sameAsRegexOnEveryCodePointProbe() {
        List<Integer> cps = PreTokenizerParityTest.codePointsToProbe();
        List<String> texts = new ArrayList<>();
        for (int from = 0; from < cps.size(); from += 500) {
            texts.add(PreTokenizerParityTest.probeText(cps, from, Math.min(cps.size(), from + 500), " "));
        }
        same("probe", texts);
    }
}
