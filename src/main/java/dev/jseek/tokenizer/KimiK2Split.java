package dev.jseek.tokenizer;

/**
 * llama.cpp's {@code kimi-k2} pre-tokenizer (Kimi-K2, Moonlight; docs/tokenizer.md, "The DeepSeek family"), as one
 * regex ({@link #REGEX}, what HF tokenizers and java.util.regex run, the slow twin) and a hand-written splitter
 * ({@link #split}, the same pieces, many times faster). llama.cpp runs its own splitter for the name, not Kimi's tiktoken
 * pattern: Han runs; an optional character that is neither a line break, a letter nor a number, then a run of non-Han
 * letters (one run whatever the case: Kimi's pattern would cut "HelloWorld" at the capital, llama.cpp does not; marks
 * are not letters) and an optional ASCII contraction in either case; numbers in runs of up to three; an optional space
 * and a run of other characters, then line breaks; whitespace up to its last line break; whitespace not followed by a
 * non-space (a single space stays for the next word); any whitespace.
 *
 * <p>Classes: "Han" is llama.cpp's list of ranges ({@link #HAN_RANGES}), not Unicode's Script=Han; letters and numbers
 * are Unicode's general categories L and N, except the letters and numbers Unicode 16.0 added
 * ({@link #UNICODE16_RANGES}), which llama.cpp's Unicode 15.1 tables leave unassigned (other characters);
 * whitespace is Unicode White_Space.
 */
final class KimiK2Split {
    private KimiK2Split() {}

    /** llama.cpp's Han: CJK Unified Ideographs, Extensions A to F, Compatibility Ideographs and their Supplement (first, last). */
    static final int[] HAN_RANGES = {0x4E00, 0x9FFF, 0x3400, 0x4DBF, 0x20000, 0x2A6DF, 0x2A700, 0x2B73F, 0x2B740, 0x2B81F,
            0x2B820, 0x2CEAF, 0x2CEB0, 0x2EBEF, 0xF900, 0xFAFF, 0x2F800, 0x2FA1F};

    /** The letters and numbers Unicode 16.0 added (first, last): unassigned code points to llama.cpp 3.21.1. */
    static final int[] UNICODE16_RANGES = {0x1C89, 0x1C8A, 0xA7CB, 0xA7CD, 0xA7DA, 0xA7DC, 0x105C0, 0x105F3, 0x10D40, 0x10D65,
            0x10D6F, 0x10D85, 0x10EC2, 0x10EC4, 0x11380, 0x11389, 0x1138B, 0x1138B, 0x1138E, 0x1138E, 0x11390, 0x113B5,
            0x113B7, 0x113B7, 0x113D1, 0x113D1, 0x113D3, 0x113D3, 0x116D0, 0x116E3, 0x11BC0, 0x11BE0, 0x11BF0, 0x11BF9,
            0x13460, 0x143FA, 0x16100, 0x1611D, 0x16130, 0x16139, 0x16D40, 0x16D6C, 0x16D70, 0x16D79, 0x18CFF, 0x18CFF,
            0x1CCF0, 0x1CCF9, 0x1E5D0, 0x1E5ED, 0x1E5F0, 0x1E5FA};

    static final String HAN = ranges(HAN_RANGES), UNICODE16 = ranges(UNICODE16_RANGES);

    /** The split as one Oniguruma regex (also valid java.util.regex, see {@link OnigRegex}). */
    static final String REGEX = "[" + HAN + "]+"
            + "|(?:[^\r\n\\p{L}\\p{N}]|[" + UNICODE16 + "])?[\\p{L}&&[^" + HAN + UNICODE16 + "]]+"
            + "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?"
            + "|[\\p{N}&&[^" + UNICODE16 + "]]{1,3}| ?(?:[^\\s\\p{L}\\p{N}]|[" + UNICODE16 + "])+[\r\n]*"
            + "|\\s*[\r\n]+|\\s+(?!\\S)|\\s+";

    private static String ranges(int[] r) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < r.length; i += 2) {
            sb.append(String.format("\\x{%X}", r[i]));
            if (r[i + 1] != r[i]) sb.append(String.format("-\\x{%X}", r[i + 1]));
        }
        return sb.toString();
    }

    // ---- classes ----
    /**
     * HAN_C: in {@link #HAN_RANGES} (letters, and a few unassigned code points); ANY_LETTER: a letter to llama.cpp (Han
     * or not); LETTER: a letter outside the Han ranges.
     */
    static final int HAN_C = 1, ANY_LETTER = 2, LETTER = 4, NUMBER = 8, WS = 16, CRLF = 32;
    private static final byte[] BMP = new byte[0x10000];

    static {
        for (int c = 0; c < 0x10000; c++) BMP[c] = (byte) compute(c);
    }

    private static boolean in(int[] r, int c) {
        for (int i = 0; i < r.length; i += 2) if (c >= r[i] && c <= r[i + 1]) return true;
        return false;
    }

    private static int compute(int c) {
        int f = 0;
        if (!in(UNICODE16_RANGES, c)) {
            f = switch (Character.getType(c)) {
                case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER,
                     Character.MODIFIER_LETTER, Character.OTHER_LETTER -> ANY_LETTER;
                case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER -> NUMBER;
                default -> 0;
            };
        }
        if (in(HAN_RANGES, c)) f |= HAN_C;
        else if ((f & ANY_LETTER) != 0) f |= LETTER;
        if (UnicodeProps.isWhiteSpace(c)) f |= WS;
        if (c == '\r' || c == '\n') f |= CRLF;
        return f;
    }

    static int flags(int c) { return c < 0x10000 ? BMP[c] : compute(c); }

    /** Neither whitespace, a letter (Han or not) nor a number: the "other characters" of a punctuation run. */
    private static boolean other(int f) { return (f & (WS | ANY_LETTER | NUMBER)) == 0; }

    /** Splits {@code s[start, end)} into pieces (what {@link #REGEX} gives with behavior Isolated), each to stage {@code next}. */
    static void split(String s, int start, int end, PreTokenizer chain, PreTokenizer.State st, int next) {
        int pos = start;
        while (pos < end) {
            int a = pos;
            int c = s.codePointAt(pos);
            int f = flags(c), n = Character.charCount(c);
            if ((f & HAN_C) != 0) {
                pos += n;
                while (pos < end) {
                    int d = s.codePointAt(pos);
                    if ((flags(d) & HAN_C) == 0) break;
                    pos += Character.charCount(d);
                }
            } else if ((f & LETTER) != 0 || ((f & (ANY_LETTER | NUMBER | CRLF)) == 0 && pos + n < end
                    && (flags(s.codePointAt(pos + n)) & LETTER) != 0)) {
                pos += n; // the first letter, or the leading character (a letter follows)
                while (pos < end) {
                    int d = s.codePointAt(pos);
                    if ((flags(d) & LETTER) == 0) break;
                    pos += Character.charCount(d);
                }
                pos = contraction(s, pos, end);
            } else if ((f & NUMBER) != 0) {
                pos += n;
                for (int k = 1; k < 3 && pos < end; k++) {
                    int d = s.codePointAt(pos);
                    if ((flags(d) & NUMBER) == 0) break;
                    pos += Character.charCount(d);
                }
            } else if (other(f) || (c == ' ' && pos + 1 < end && other(flags(s.codePointAt(pos + 1))))) {
                if (c == ' ') pos++;
                while (pos < end) {
                    int d = s.codePointAt(pos);
                    if (!other(flags(d))) break;
                    pos += Character.charCount(d);
                }
                while (pos < end && (s.charAt(pos) == '\r' || s.charAt(pos) == '\n')) pos++;
            } else {
                // whitespace (every other case is): up to its last line break, else all of it but the last character
                // before a non-space, else all of it
                int p = pos, lastBreak = -1, lastStart = pos;
                while (p < end) {
                    int d = s.codePointAt(p);
                    if ((flags(d) & WS) == 0) break;
                    lastStart = p;
                    p += Character.charCount(d);
                    if (d == '\r' || d == '\n') lastBreak = p;
                }
                if (lastBreak >= 0) pos = lastBreak;
                else if (p < end && lastStart > pos) pos = lastStart;
                else pos = Math.max(p, pos + n);
            }
            chain.run(st, next, s, a, pos);
        }
    }

    /** After a letter run: an ASCII contraction ('s 't 'm 'd 're 've 'll, either case) is part of the piece. */
    private static int contraction(String s, int pos, int end) {
        if (pos + 1 >= end || s.charAt(pos) != '\'') return pos;
        char x = lower(s.charAt(pos + 1));
        if (x == 's' || x == 't' || x == 'm' || x == 'd') return pos + 2;
        if (pos + 2 >= end) return pos;
        char y = lower(s.charAt(pos + 2));
        return (x == 'r' && y == 'e') || (x == 'v' && y == 'e') || (x == 'l' && y == 'l') ? pos + 3 : pos;
    }

    private static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char) (c + 32) : c; }
}
