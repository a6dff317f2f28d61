package dev.jseek.data;

/**
 * One training batch: {@code rows} packed sequences of {@code seqLen + 1} tokens, row-major in {@link #tokens}
 * (shape [rows, seqLen + 1]). Row {@code r}'s inputs are {@code tokens[r*(seqLen+1) + t]} for {@code t < seqLen}
 * and its targets are the same row shifted by one ({@code t + 1}). {@code docStarts[r]} (null unless requested)
 * lists the positions in {@code [0, seqLen]} where a new document begins in row {@code r}. {@code sequences[r]} is
 * the window index the row was read from.
 */
public record Batch(int rows, int seqLen, int[] tokens, int[][] docStarts, long[] sequences) {
    /** Token at position {@code t} (0..seqLen) of row {@code r}. */
    public int token(int r, int t) {
        return tokens[r * (seqLen + 1) + t];
    }

    /** Input token {@code t} (0..seqLen-1) of row {@code r}. */
    public int input(int r, int t) {
        return token(r, t);
    }

    /** Target of input position {@code t} (0..seqLen-1) of row {@code r}: the next token. */
    public int target(int r, int t) {
        return token(r, t + 1);
    }
}
