package dev.jseek.train;

/**
 * A micro-batch of token sequences as {@link TrainModel#forwardBackward} takes it: {@code rows} sequences of
 * {@code seqLen} input tokens ({@code inputs}, row-major [rows, seqLen]) and their next-token {@code targets}
 * (same shape; negative = ignored). A data loader's [rows, seqLen + 1] windows map to it by {@link #fromWindows}.
 * {@code docStarts} (null unless samples are packed): where each position's document starts in its row, see
 * {@link DocMask}.
 */
public record TokenBatch(int rows, int seqLen, int[] inputs, int[] targets, int[] docStarts) {
    public TokenBatch {
        if (rows < 1 || seqLen < 1) throw new IllegalArgumentException("batch " + rows + " x " + seqLen + " must be at least 1 x 1");
        long n = (long) rows * seqLen;
        if (inputs.length != n || targets.length != n)
            throw new IllegalArgumentException("batch " + rows + " x " + seqLen + " needs " + n + " inputs and targets, got " + inputs.length + " and " + targets.length);
        if (docStarts != null && docStarts.length != n)
            throw new IllegalArgumentException("batch " + rows + " x " + seqLen + " needs " + n + " document starts, got " + docStarts.length);
    }

    /** A batch without document boundaries (plain causal attention across each row). */
    public TokenBatch(int rows, int seqLen, int[] inputs, int[] targets) { this(rows, seqLen, inputs, targets, null); }

    /** The document mask of a packed batch, or null. */
    public DocMask documents() { return docStarts == null ? null : new DocMask(docStarts, rows, seqLen); }

    /** Splits windows of {@code seqLen + 1} tokens (row-major [rows, seqLen + 1]) into inputs and shifted targets. */
    public static TokenBatch fromWindows(int rows, int seqLen, int[] windows) {
        int l1 = seqLen + 1;
        if (windows.length != (long) rows * l1)
            throw new IllegalArgumentException("windows of " + rows + " x " + l1 + " tokens need " + (long) rows * l1 + " entries, got " + windows.length);
        int[] in = new int[rows * seqLen], tg = new int[rows * seqLen];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(windows, r * l1, in, r * seqLen, seqLen);
            System.arraycopy(windows, r * l1 + 1, tg, r * seqLen, seqLen);
        }
        return new TokenBatch(rows, seqLen, in, tg);
    }

    /** Input tokens (the schedules' token axis counts these). */
    public long tokens() { return (long) rows * seqLen; }
}
