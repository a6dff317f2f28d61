package dev.jseek.tokenizer;

import java.util.Map;

/**
 * Hand-written equivalents of the three Split regexes of the DeepSeek-V3 pre-tokenizer (docs/architecture.md §7.8), several times
 * faster than java.util.regex. Each reproduces its regex exactly — leftmost-first alternation, greedy runs and the
 * backtracking of {@code \s*[\r\n]+} and {@code \s+(?!\S)} — on the region it is given (the region end acts as the
 * end of input, as in HF, which runs each stage on the piece alone). The tests check them against the
 * java.util.regex twin ({@link PreTokenizer#regexOnly()}) and against HF tokenizers. Any other regex falls back to
 * {@link OnigRegex}. System property {@code jseek.tokenizer.regexOnly=true} disables them.
 *
 * <p>Classes: L, M, N, P, S are the Unicode general-category groups of {@link Character#getType}; whitespace is
 * Unicode White_Space (Oniguruma's {@code \s}).
 */
final class FastSplitters {
    private FastSplitters() {}

    /** Splits {@code s[start, end)} and hands each piece (matches and gaps, in order) to stage {@code next}. */
    interface Splitter {
        void split(String s, int start, int end, PreTokenizer chain, PreTokenizer.State st, int next);
    }

    static final String DS3_DIGITS = "\\p{N}{1,3}";
    static final String DS3_CJK = "[一-龥぀-ゟ゠-ヿ]+";
    static final String DS3_MAIN = "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+";

    private static final Map<String, Splitter> KNOWN = Map.of(
            DS3_DIGITS, FastSplitters::digits,
            DS3_CJK, FastSplitters::cjk,
            DS3_MAIN, FastSplitters::ds3Main,
            KimiK2Split.REGEX, KimiK2Split::split);

    /** A stage for this Oniguruma regex: a fast splitter if one is known, else the java.util.regex translation. */
    static PreTokenizer.Stage stage(String regex) {
        Splitter fast = KNOWN.get(regex);
        if (fast != null && !Boolean.getBoolean("jseek.tokenizer.regexOnly")) return new PreTokenizer.FastSplit(regex, fast);
        return new PreTokenizer.RegexSplit(regex, OnigRegex.compile(regex));
    }

    /** Stage lists with DeepSeek-V3's three consecutive fast stages replaced by one {@link PreTokenizer.FusedDs3}. */
    static java.util.List<PreTokenizer.Stage> fuse(java.util.List<PreTokenizer.Stage> stages) {
        java.util.List<PreTokenizer.Stage> out = new java.util.ArrayList<>();
        for (int i = 0; i < stages.size(); i++) {
            if (i + 2 < stages.size() && stages.get(i) instanceof PreTokenizer.FastSplit a && a.source().equals(DS3_DIGITS)
                    && stages.get(i + 1) instanceof PreTokenizer.FastSplit b && b.source().equals(DS3_CJK)
                    && stages.get(i + 2) instanceof PreTokenizer.FastSplit c && c.source().equals(DS3_MAIN)) {
                out.add(new PreTokenizer.FusedDs3());
                i += 2;
            } else {
                out.add(stages.get(i));
            }
        }
        return out;
    }

    // ---- character classes ----
    static final int L = 1, M = 2, N = 4, P = 8, S = 16, WS = 32, CJK = 64, ASCII_PUNCT = 128, ASCII_LETTER = 256, CRLF = 512;
    private static final short[] BMP = new short[0x10000];

    static {
        for (int c = 0; c < 0x10000; c++) BMP[c] = (short) computeFlags(c);
    }

    private static int computeFlags(int c) {
        int f = switch (Character.getType(c)) {
            case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER,
                 Character.MODIFIER_LETTER, Character.OTHER_LETTER -> L;
            case Character.NON_SPACING_MARK, Character.COMBINING_SPACING_MARK, Character.ENCLOSING_MARK -> M;
            case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER -> N;
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                 Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
                 Character.OTHER_PUNCTUATION -> P;
            case Character.MATH_SYMBOL, Character.CURRENCY_SYMBOL, Character.MODIFIER_SYMBOL, Character.OTHER_SYMBOL -> S;
            default -> 0;
        };
        if (UnicodeProps.isWhiteSpace(c)) f |= WS;
        if ((c >= 0x4E00 && c <= 0x9FA5) || (c >= 0x3040 && c <= 0x30FF)) f |= CJK;
        if (c < 0x80 && "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".indexOf(c) >= 0) f |= ASCII_PUNCT;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) f |= ASCII_LETTER;
        if (c == '\r' || c == '\n') f |= CRLF;
        return f;
    }

    /** Flags of the code point at i (a lone surrogate gets none; the tokenizer replaces them beforehand). */
    private static int flagsAt(String s, int i, int end) {
        char c = s.charAt(i);
        if (!Character.isHighSurrogate(c) || i + 1 >= end || !Character.isLowSurrogate(s.charAt(i + 1))) return BMP[c];
        return computeFlags(Character.toCodePoint(c, s.charAt(i + 1)));
    }

    /** Length in chars (1 or 2) of the code point at i within [.., end). */
    private static int cpLen(String s, int i, int end) {
        return Character.isHighSurrogate(s.charAt(i)) && i + 1 < end && Character.isLowSurrogate(s.charAt(i + 1)) ? 2 : 1;
    }

    // ---- the three stages, by number: 0 digits, 1 CJK, 2 main ----
    private static final int DIGIT_STAGE = 0, CJK_STAGE = 1, MAIN_STAGE = 2;

    /** End of the match of stage {@code stage}'s regex starting exactly at i, or -1. */
    private static int match(int stage, String s, int i, int end) {
        return switch (stage) {
            case DIGIT_STAGE -> matchDigits(s, i, end);
            case CJK_STAGE -> matchCjk(s, i, end);
            default -> matchMain(s, i, end);
        };
    }

    // ---- the three stages as separate splitters (generic chain) ----
    static void digits(String s, int start, int end, PreTokenizer chain, PreTokenizer.State st, int next) {
        split(DIGIT_STAGE, DIGIT_STAGE, s, start, end, (s2, a, b) -> chain.run(st, next, s2, a, b));
    }

    static void cjk(String s, int start, int end, PreTokenizer chain, PreTokenizer.State st, int next) {
        split(CJK_STAGE, CJK_STAGE, s, start, end, (s2, a, b) -> chain.run(st, next, s2, a, b));
    }

    static void ds3Main(String s, int start, int end, PreTokenizer chain, PreTokenizer.State st, int next) {
        split(MAIN_STAGE, MAIN_STAGE, s, start, end, (s2, a, b) -> chain.run(st, next, s2, a, b));
    }

    // ---- the three stages fused (DeepSeek-V3's exact sequence): no per-piece dispatch ----

    /** Stages 1-3 in one pass. */
    static void fusedDs3(String s, int start, int end, PreTokenizer.PieceSink sink) {
        split(DIGIT_STAGE, MAIN_STAGE, s, start, end, sink);
    }

    /**
     * Stages {@code stage..last} on {@code s[start, end)}: splits it at the matches of stage {@code stage}'s regex,
     * leftmost first, and hands each gap and each match, in order, to the next stage, and past {@code last} to the sink.
     * In the fused sequence a digit run goes straight to the sink: stage 2 finds no CJK char in it and no alternative of
     * the main regex matches a number char, so both leave it whole.
     */
    private static void split(int stage, int last, String s, int start, int end, PreTokenizer.PieceSink sink) {
        if (stage > last) {
            sink.piece(s, start, end);
            return;
        }
        int afterMatch = stage == DIGIT_STAGE && last == MAIN_STAGE ? last + 1 : stage + 1;
        int prev = start, i = start;
        while (i < end) {
            int j = match(stage, s, i, end);
            if (j < 0) {
                i += cpLen(s, i, end);
                continue;
            }
            if (prev != i) split(stage + 1, last, s, prev, i, sink);
            split(afterMatch, last, s, i, j, sink);
            prev = i = j;
        }
        if (prev != end) split(stage + 1, last, s, prev, end, sink);
    }

    // ---- matchers: end of the match starting exactly at i, or -1 ----

    /** \p{N}{1,3} */
    static int matchDigits(String s, int i, int end) {
        if ((flagsAt(s, i, end) & N) == 0) return -1;
        int j = i + cpLen(s, i, end);
        for (int k = 1; k < 3 && j < end && (flagsAt(s, j, end) & N) != 0; k++) j += cpLen(s, j, end);
        return j;
    }

    /** [一-龥぀-ゟ゠-ヿ]+ (all BMP) */
    static int matchCjk(String s, int i, int end) {
        if ((BMP[s.charAt(i)] & CJK) == 0) return -1;
        int j = i + 1;
        while (j < end && (BMP[s.charAt(j)] & CJK) != 0) j++;
        return j;
    }

    /** End of the match of the main regex starting exactly at i, or -1. */
    static int matchMain(String s, int i, int end) {
        int f = flagsAt(s, i, end);
        int n = cpLen(s, i, end);
        // (a) [ASCII punct][A-Za-z]+
        if ((f & ASCII_PUNCT) != 0 && i + 1 < end && (BMP[s.charAt(i + 1)] & ASCII_LETTER) != 0) {
            int j = i + 2;
            while (j < end && (BMP[s.charAt(j)] & ASCII_LETTER) != 0) j++;
            return j;
        }
        // (b) [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+
        if ((f & (L | M)) != 0) {
            return letterRun(s, i + n, end);
        }
        if ((f & (CRLF | P | S)) == 0 && i + n < end && (flagsAt(s, i + n, end) & (L | M)) != 0) {
            return letterRun(s, i + n, end);
        }
        // (c) ' '?[\p{P}\p{S}]+[\r\n]*
        int k = i;
        if (s.charAt(i) == ' ' && i + 1 < end && (flagsAt(s, i + 1, end) & (P | S)) != 0) k = i + 1;
        if ((flagsAt(s, k, end) & (P | S)) != 0) {
            int j = k + cpLen(s, k, end);
            while (j < end && (flagsAt(s, j, end) & (P | S)) != 0) j += cpLen(s, j, end);
            while (j < end && (BMP[s.charAt(j)] & CRLF) != 0) j++;
            return j;
        }
        if ((f & WS) == 0) return -1;
        // whitespace run [i, w)
        int w = i + 1; // all White_Space chars are BMP
        int lastCrlf = (f & CRLF) != 0 ? i : -1;
        while (w < end && (BMP[s.charAt(w)] & WS) != 0) {
            if ((BMP[s.charAt(w)] & CRLF) != 0) lastCrlf = w;
            w++;
        }
        // (d) \s*[\r\n]+ : up to and including the last CR/LF of the run
        if (lastCrlf >= 0) return lastCrlf + 1;
        // (e) \s+(?!\S) : the run at the end of input, else the run minus its last char if that leaves one
        if (w == end) return w;
        if (w - i >= 2) return w - 1;
        // (f) \s+
        return w;
    }

    private static int letterRun(String s, int j, int end) {
        while (j < end) {
            int g = flagsAt(s, j, end);
            if ((g & (L | M)) == 0) break;
            j += cpLen(s, j, end);
        }
        return j;
    }
}
