package dev.jseek.tokenizer;

/**
 * The GPT-2 byte-to-unicode table used by byte-level BPE (docs/architecture.md §7.8: the 256 byte symbols of DeepSeek-V3 are ids
 * 3..258). Printable bytes {@code ! .. ~}, {@code ¡ .. ¬}, {@code ® .. ÿ} map to the char of the same code; the
 * other 68 bytes map, in increasing order, to U+0100, U+0101, ... (so the space 0x20 becomes {@code Ġ} U+0120 and
 * the newline 0x0A becomes {@code Ċ} U+010A).
 */
public final class ByteLevel {
    private ByteLevel() {}

    private static final char[] BYTE_TO_CHAR = new char[256];
    /** Char (0..0x143) back to its byte, or -1. */
    private static final short[] CHAR_TO_BYTE = new short[0x144];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, (short) -1);
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) (256 + n++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = (short) b;
        }
    }

    /** The symbol char of byte {@code b} (0..255). */
    public static char byteToChar(int b) { return BYTE_TO_CHAR[b & 0xFF]; }

    /** The byte a symbol char stands for, or -1 if {@code c} is not one of the 256 symbol chars. */
    public static int charToByte(int c) { return c >= 0 && c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1; }

    /** The byte-level string of some bytes: each byte replaced by its symbol char. */
    public static String encode(byte[] bytes, int off, int len) {
        char[] cs = new char[len];
        for (int i = 0; i < len; i++) cs[i] = BYTE_TO_CHAR[bytes[off + i] & 0xFF];
        return new String(cs);
    }

    /**
     * The bytes a token string stands for, as HF's ByteLevel decoder computes them: if every char is a symbol
     * char, the bytes those chars stand for; otherwise (e.g. an added token such as {@code <｜User｜>}) the token's
     * own UTF-8 bytes.
     */
    public static byte[] decodeToken(String token) {
        byte[] out = new byte[token.length()];
        for (int i = 0; i < token.length(); i++) {
            int b = charToByte(token.charAt(i));
            if (b < 0) return Utf8.encode(token);
            out[i] = (byte) b;
        }
        return out;
    }
}
