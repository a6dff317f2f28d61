package dev.jseek.io;

/**
 * The one escaper of text bound for a terminal or a log: every message a user sees (CLI errors, the server's log
 * lines) passes through {@link #escape}, so bytes read from a file or a request (a GGUF key holding an escape
 * sequence, a NUL in a tokenizer name) can neither recolour the terminal nor hide the rest of the line.
 */
public final class Printable {
    private Printable() {}

    /**
     * {@code s} with control characters (C0 but tab, so newlines too: a message stays one line; DEL; C1), lone
     * surrogates and the Unicode bidirectional overrides written as {@code \xNN} / {@code \\uNNNN}; a backslash stays
     * itself. Null gives "null".
     */
    public static String escape(String s) {
        if (s == null) return "null";
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean surrogatePair = Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
            boolean bad = (c < 0x20 && c != '\t') || (c >= 0x7f && c < 0xa0)
                    || (Character.isSurrogate(c) && !surrogatePair && !(Character.isLowSurrogate(c) && i > 0
                        && Character.isHighSurrogate(s.charAt(i - 1))))
                    || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
            if (!bad) {
                if (b != null) b.append(c);
                continue;
            }
            if (b == null) b = new StringBuilder(s.length() + 16).append(s, 0, i);
            if (c < 0x100) b.append(String.format("\\x%02x", (int) c));
            else b.append(String.format("\\u%04x", (int) c));
        }
        return b == null ? s : b.toString();
    }
}
