package dev.jseek.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * UTF-8 helpers with the exact semantics the tokenizer needs.
 *
 * <p>Lossy decoding replaces each <em>maximal subpart</em> of an ill-formed sequence by one U+FFFD (Unicode
 * §3.9 "U+FFFD substitution of maximal subparts", the rule of Rust's {@code String::from_utf8_lossy}, which HF
 * tokenizers uses when decoding). Encoding replaces each unpaired surrogate of a Java string by U+FFFD (a Java
 * {@code String} may hold them; a Rust {@code str} cannot).
 */
public final class Utf8 {
    private Utf8() {}

    static final char REPLACEMENT = '\uFFFD';

    /** Length of the well-formed sequence a lead byte starts, or 0 if it is no valid lead byte. */
    static int sequenceLength(int lead) {
        lead &= 0xFF;
        if (lead < 0x80) return 1;
        if (lead < 0xC2) return 0;
        if (lead < 0xE0) return 2;
        if (lead < 0xF0) return 3;
        if (lead < 0xF5) return 4;
        return 0;
    }

    /** Whether {@code b} may be the second byte after {@code lead} (Unicode Table 3-7). */
    static boolean validSecond(int lead, int b) {
        lead &= 0xFF;
        b &= 0xFF;
        return switch (lead) {
            case 0xE0 -> b >= 0xA0 && b <= 0xBF;
            case 0xED -> b >= 0x80 && b <= 0x9F;
            case 0xF0 -> b >= 0x90 && b <= 0xBF;
            case 0xF4 -> b >= 0x80 && b <= 0x8F;
            default -> b >= 0x80 && b <= 0xBF;
        };
    }

    static boolean isContinuation(int b) { return (b & 0xC0) == 0x80; }

    /** Lossy decode of {@code len} bytes at {@code off} (maximal-subpart replacement, see class doc). */
    public static String decodeLossy(byte[] b, int off, int len) {
        int end = off + len;
        // Fast path: pure ASCII / well-formed input decodes with the JDK decoder; check well-formedness first.
        if (isWellFormed(b, off, end)) return new String(b, off, len, StandardCharsets.UTF_8);
        StringBuilder sb = new StringBuilder(len);
        int i = off;
        while (i < end) {
            int lead = b[i] & 0xFF;
            int n = sequenceLength(lead);
            if (n == 1) { sb.append((char) lead); i++; continue; }
            if (n == 0) { sb.append(REPLACEMENT); i++; continue; }
            int j = i + 1;
            boolean ok = true;
            for (int k = 1; k < n; k++, j++) {
                if (j >= end || !(k == 1 ? validSecond(lead, b[j]) : isContinuation(b[j]))) { ok = false; break; }
            }
            if (ok) {
                int cp = switch (n) {
                    case 2 -> ((lead & 0x1F) << 6) | (b[i + 1] & 0x3F);
                    case 3 -> ((lead & 0x0F) << 12) | ((b[i + 1] & 0x3F) << 6) | (b[i + 2] & 0x3F);
                    default -> ((lead & 0x07) << 18) | ((b[i + 1] & 0x3F) << 12) | ((b[i + 2] & 0x3F) << 6)
                            | (b[i + 3] & 0x3F);
                };
                sb.appendCodePoint(cp);
            } else {
                sb.append(REPLACEMENT);
            }
            i = j;
        }
        return sb.toString();
    }

    public static String decodeLossy(byte[] b) { return decodeLossy(b, 0, b.length); }

    /** Whether bytes [off, end) are well-formed UTF-8. */
    static boolean isWellFormed(byte[] b, int off, int end) {
        int i = off;
        while (i < end) {
            int lead = b[i] & 0xFF;
            if (lead < 0x80) { i++; continue; }
            int n = sequenceLength(lead);
            if (n == 0 || i + n > end || !validSecond(lead, b[i + 1])) return false;
            for (int k = 2; k < n; k++) if (!isContinuation(b[i + k])) return false;
            i += n;
        }
        return true;
    }

    /** UTF-8 bytes of a string, unpaired surrogates as U+FFFD (EF BF BD). */
    public static byte[] encode(String s) {
        byte[] buf = new byte[s.length() * 3];
        int n = encode(s, 0, s.length(), buf, 0);
        return java.util.Arrays.copyOf(buf, n);
    }

    /**
     * Writes the UTF-8 bytes of {@code s[start, end)} into {@code out} at {@code pos} (which must have room for
     * 3 bytes per char) and returns the new position. Unpaired surrogates become U+FFFD.
     */
    static int encode(String s, int start, int end, byte[] out, int pos) {
        for (int i = start; i < end; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                out[pos++] = (byte) c;
            } else if (c < 0x800) {
                out[pos++] = (byte) (0xC0 | (c >> 6));
                out[pos++] = (byte) (0x80 | (c & 0x3F));
            } else if (Character.isHighSurrogate(c) && i + 1 < end && Character.isLowSurrogate(s.charAt(i + 1))) {
                int cp = Character.toCodePoint(c, s.charAt(++i));
                out[pos++] = (byte) (0xF0 | (cp >> 18));
                out[pos++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
                out[pos++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
                out[pos++] = (byte) (0x80 | (cp & 0x3F));
            } else {
                if (Character.isSurrogate(c)) c = REPLACEMENT;
                out[pos++] = (byte) (0xE0 | (c >> 12));
                out[pos++] = (byte) (0x80 | ((c >> 6) & 0x3F));
                out[pos++] = (byte) (0x80 | (c & 0x3F));
            }
        }
        return pos;
    }

    /** {@code s} with every unpaired surrogate replaced by U+FFFD; {@code s} itself when it has none. */
    public static String replaceLoneSurrogates(String s) {
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (!Character.isSurrogate(c)) continue;
            if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) { i++; continue; }
            // found one: rebuild
            StringBuilder sb = new StringBuilder(n).append(s, 0, i);
            for (int j = i; j < n; j++) {
                char d = s.charAt(j);
                if (Character.isHighSurrogate(d) && j + 1 < n && Character.isLowSurrogate(s.charAt(j + 1))) {
                    sb.append(d).append(s.charAt(++j));
                } else {
                    sb.append(Character.isSurrogate(d) ? REPLACEMENT : d);
                }
            }
            return sb.toString();
        }
        return s;
    }
}
