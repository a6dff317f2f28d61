package dev.jseek.tokenizer;

/**
 * Decodes generated ids one at a time and returns only whole characters: the bytes of a character split across
 * several tokens are held back until the character is complete. Ill-formed bytes become U+FFFD by the same
 * maximal-subpart rule as {@link Tokenizer#decode(int[])}, so the concatenation of all {@link #next} results plus
 * {@link #flush()} equals {@code decode(allIds)}. A surrogate pair is always emitted whole. Not thread-safe (one
 * per generation stream).
 */
public final class StreamingDecoder {
    private final Tokenizer tokenizer;
    private final boolean skipSpecialTokens;
    private final byte[] pending = new byte[4];
    private int np;
    private int need;
    private final StringBuilder sb = new StringBuilder();

    StreamingDecoder(Tokenizer tokenizer, boolean skipSpecialTokens) {
        this.tokenizer = tokenizer;
        this.skipSpecialTokens = skipSpecialTokens;
    }

    /** Feeds one id; returns the characters it completes (possibly empty, never a partial character). */
    public String next(int id) {
        byte[] b = tokenizer.bytesOf(id, skipSpecialTokens);
        if (b == null) return "";
        sb.setLength(0);
        for (byte x : b) feed(x);
        return sb.toString();
    }

    /** Ends the stream: an incomplete trailing sequence becomes U+FFFD. */
    public String flush() {
        if (np == 0) return "";
        np = 0;
        return String.valueOf(Utf8.REPLACEMENT);
    }

    /** Number of bytes held back (0..3). */
    public int pendingBytes() { return np; }

    private void feed(byte x) {
        int b = x & 0xFF;
        if (np > 0) {
            boolean ok = np == 1 ? Utf8.validSecond(pending[0], x) : Utf8.isContinuation(b);
            if (ok) {
                pending[np++] = x;
                if (np == need) {
                    sb.append(new String(pending, 0, np, java.nio.charset.StandardCharsets.UTF_8));
                    np = 0;
                }
                return;
            }
            sb.append(Utf8.REPLACEMENT); // the maximal subpart held so far
            np = 0;
        }
        if (b < 0x80) {
            sb.append((char) b);
            return;
        }
        int n = Utf8.sequenceLength(b);
        if (n == 0) {
            sb.append(Utf8.REPLACEMENT);
        } else {
            pending[0] = x;
            np = 1;
            need = n;
        }
    }
}
