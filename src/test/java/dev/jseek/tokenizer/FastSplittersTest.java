package dev.jseek.tokenizer;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/**
 * The hand-written DeepSeek-V3 splitters against their slow twin, the same regexes on java.util.regex: identical
 * pieces on the whole parity corpus and on the code point probe text.
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

    @Test void sameAsRegexOnEveryCodePointProbe() {
        List<Integer> cps = PreTokenizerParityTest.codePointsToProbe();
        List<String> texts = new ArrayList<>();
        for (int from = 0; from < cps.size(); from += 500) {
            texts.add(PreTokenizerParityTest.probeText(cps, from, Math.min(cps.size(), from + 500), " "));
        }
        same("probe", texts);
    }
}
