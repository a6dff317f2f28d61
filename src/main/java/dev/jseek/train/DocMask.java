package dev.jseek.train;

/**
 * Document boundaries of a packed micro-batch (packed SFT, report §4.1-style sample masking): {@code starts[b*T + t]}
 * is the position within row b where the document holding position t begins. Attention lets position t see only
 * keys {@code starts[b*T+t] <= s <= t} ({@link CausalAttention}), so packed samples do not attend to each other;
 * MTP targets that would cross a boundary are ignored. The MTP modules run on the first T - k positions of each
 * row: {@link #starts(int, int)} gives their [B, T - k] slice.
 */
public final class DocMask {
    private final int B, T;
    private final int[] starts;
    private int slicedT = -1;
    private int[] sliced;

    public DocMask(int[] starts, int B, int T) {
        if (starts.length != (long) B * T) throw new IllegalArgumentException("document starts hold " + starts.length + " entries, need " + B + " x " + T);
        TiledAttention.check(starts, B, T);
        for (int r = 0; r < B * T; r++) {
            int t = r % T, st = starts[r];
            if (t > 0 && st != t && st != starts[r - 1])
                throw new IllegalArgumentException("document starts are not contiguous documents at row " + r / T + ", position " + t + ": " + st);
        }
        this.B = B;
        this.T = T;
        this.starts = starts;
    }

    public int rows() { return B; }

    public int seqLen() { return T; }

    /** Starts for rows of {@code Tk <= T} positions (the first Tk of each row). */
    public int[] starts(int rows, int Tk) {
        if (rows != B || Tk > T || Tk < 1) throw new IllegalArgumentException("document mask of " + B + " x " + T + " used for " + rows + " x " + Tk);
        if (Tk == T) return starts;
        if (slicedT != Tk) {
            sliced = new int[B * Tk];
            for (int b = 0; b < B; b++) System.arraycopy(starts, b * T, sliced, b * Tk, Tk);
            slicedT = Tk;
        }
        return sliced;
    }

    /** True when positions t and t + k of row b lie in one document. */
    public boolean sameDocument(int b, int t, int k) { return t + k < T && starts[b * T + t + k] == starts[b * T + t]; }

    /** Document starts of rows made of consecutive documents of the given lengths (the rest of a row one more document). */
    public static int[] fromLengths(int[][] lengths, int T) {
        int[] s = new int[lengths.length * T];
        for (int b = 0; b < lengths.length; b++) {
            int pos = 0;
            for (int len : lengths[b]) {
                for (int i = 0; i < len && pos + i < T; i++) s[b * T + pos + i] = pos;
                pos += len;
                if (pos >= T) break;
            }
            for (int t = pos; t < T; t++) s[b * T + t] = pos;
        }
        return s;
    }
}
