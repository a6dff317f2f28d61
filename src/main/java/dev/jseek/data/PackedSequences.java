package dev.jseek.data;

/**
 * Document packing for pre-training (docs/architecture.md §7.2): the token stream of a split (documents back to back, each ending
 * with EOS) cut into windows of {@code seqLen + 1} tokens with stride {@code seqLen} — window {@code k} is tokens
 * {@code [k*seqLen, k*seqLen + seqLen + 1)}, its first {@code seqLen} tokens are the inputs and its last
 * {@code seqLen} the targets, so every token after the first is a target exactly once per epoch. No cross-document
 * attention mask is implied; {@link #docStarts} gives the document boundaries of a window for later SFT masking.
 * The trailing {@code < seqLen} tokens that do not fill a window are not used.
 */
public final class PackedSequences {
    private final TokenStore store;
    private final int seqLen;
    private final long count;

    public PackedSequences(TokenStore store, int seqLen) {
        if (seqLen < 1) throw new IllegalArgumentException("seq_len " + seqLen + " must be >= 1");
        this.store = store;
        this.seqLen = seqLen;
        this.count = store.size() <= seqLen ? 0 : (store.size() - 1) / seqLen;
    }

    public int seqLen() { return seqLen; }

    /** Number of windows. */
    public long count() { return count; }

    /** Copies window {@code k} ({@code seqLen + 1} tokens) into {@code dst[off..]}. */
    public void read(long k, int[] dst, int off) {
        if (k < 0 || k >= count) throw new IndexOutOfBoundsException("sequence " + k + " of " + count);
        store.read(k * seqLen, dst, off, seqLen + 1);
    }

    /** Positions in {@code [0, seqLen]} of window {@code k} where a document starts, ascending. */
    public int[] docStarts(long k) {
        if (k < 0 || k >= count) throw new IndexOutOfBoundsException("sequence " + k + " of " + count);
        return store.docStartsIn(k * seqLen, seqLen + 1);
    }
}
