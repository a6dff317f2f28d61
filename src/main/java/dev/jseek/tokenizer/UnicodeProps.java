package dev.jseek.tokenizer;

/** The two Unicode properties HF's added-token matching uses (via Rust's regex crate): White_Space and \w. */
final class UnicodeProps {
    private UnicodeProps() {}

    /** Unicode White_Space (the {@code \s} of Rust's regex crate and of Oniguruma). */
    static boolean isWhiteSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F
                || cp == 0x3000;
    }

    /** UTS#18 word character (the {@code \w} of Rust's regex crate): Alphabetic, marks, Nd, Pc, Join_Control. */
    static boolean isWordChar(int cp) {
        if (Character.isAlphabetic(cp)) return true;
        int t = Character.getType(cp);
        return t == Character.NON_SPACING_MARK || t == Character.ENCLOSING_MARK || t == Character.COMBINING_SPACING_MARK
                || t == Character.DECIMAL_DIGIT_NUMBER || t == Character.CONNECTOR_PUNCTUATION
                || cp == 0x200C || cp == 0x200D;
    }
}
