package dev.jseek.data;

import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * Training batches over a split's {@link PackedSequences} (docs/architecture.md §7.2): each epoch visits every window once in a
 * shuffled order (a {@link FeistelPermutation} keyed by {@code combine(seed, epoch)}), and {@link #next} returns
 * the next {@code batchSize} windows of that order as a [batchSize, seqLen + 1] {@link Batch}; a batch that reaches
 * the end of an epoch continues with the next epoch. The sequence of batches depends only on (data, seqLen,
 * batchSize, seed). {@link #state} / {@link #restore} save and restore the position exactly: a restored loader
 * yields the batch that would have come next. Not thread-safe (one loader per training process/rank).
 */
public final class DataLoader {
    private final PackedSequences seqs;
    private final int batchSize;
    private final long seed;
    private final boolean withDocStarts;
    private long epoch, cursor;
    private FeistelPermutation perm;

    public DataLoader(TokenStore store, int batchSize, int seqLen, long seed, boolean withDocStarts) {
        if (batchSize < 1) throw new IllegalArgumentException("batch size " + batchSize + " must be >= 1");
        this.seqs = new PackedSequences(store, seqLen);
        if (seqs.count() == 0)
            throw new DataFormatException("the training split has " + store.size() + " tokens, fewer than seq_len + 1 = " + (seqLen + 1) + "; use more data or a shorter sequence");
        this.batchSize = batchSize;
        this.seed = seed;
        this.withDocStarts = withDocStarts;
        this.perm = new FeistelPermutation(seqs.count(), Hashing.combine(seed, 0));
    }

    /** Windows per epoch. */
    public long sequencesPerEpoch() { return seqs.count(); }

    public int seqLen() { return seqs.seqLen(); }

    public int batchSize() { return batchSize; }

    public long epoch() { return epoch; }

    /** The next batch (never ends: epochs follow each other). */
    public Batch next() {
        int l1 = seqs.seqLen() + 1;
        int[] tokens = new int[batchSize * l1];
        int[][] docStarts = withDocStarts ? new int[batchSize][] : null;
        long[] ids = new long[batchSize];
        for (int r = 0; r < batchSize; r++) {
            if (cursor == seqs.count()) {
                epoch++;
                cursor = 0;
                perm = new FeistelPermutation(seqs.count(), Hashing.combine(seed, epoch));
            }
            long k = perm.apply(cursor++);
            ids[r] = k;
            seqs.read(k, tokens, r * l1);
            if (docStarts != null) docStarts[r] = seqs.docStarts(k);
        }
        return new Batch(batchSize, seqs.seqLen(), tokens, docStarts, ids);
    }

    /** The current position (after the last batch returned). */
    public LoaderState state() {
        return new LoaderState(seed, epoch, cursor, seqs.seqLen(), seqs.count());
    }

    /** Moves to a saved position; the state must come from a loader over the same data, seed and sequence length. */
    public void restore(LoaderState s) {
        if (s.seed() != seed || s.seqLen() != seqs.seqLen() || s.sequencesPerEpoch() != seqs.count())
            throw new DataFormatException("loader state " + s + " does not fit this loader (seed " + seed + ", seqLen " + seqs.seqLen()
                    + ", " + seqs.count() + " sequences per epoch)");
        if (s.epoch() < 0 || s.cursor() < 0 || s.cursor() > seqs.count())
            throw new DataFormatException("loader state " + s + ": epoch/cursor out of range");
        epoch = s.epoch();
        cursor = s.cursor();
        perm = new FeistelPermutation(seqs.count(), Hashing.combine(seed, epoch));
    }

    /**
     * The validation batches of a split: its windows in order (no shuffle), {@code batchSize} per batch, the last
     * batch possibly smaller; finite. Empty when the split has fewer than {@code seqLen + 1} tokens.
     */
    public static Iterator<Batch> validation(TokenStore store, int batchSize, int seqLen, boolean withDocStarts) {
        if (batchSize < 1) throw new IllegalArgumentException("batch size " + batchSize + " must be >= 1");
        PackedSequences seqs = new PackedSequences(store, seqLen);
        return new Iterator<>() {
            long k;

            @Override public boolean hasNext() {
                return k < seqs.count();
            }

            @Override public Batch next() {
                if (!hasNext()) throw new NoSuchElementException();
                int rows = (int) Math.min(batchSize, seqs.count() - k);
                int l1 = seqLen + 1;
                int[] tokens = new int[rows * l1];
                int[][] ds = withDocStarts ? new int[rows][] : null;
                long[] ids = new long[rows];
                for (int r = 0; r < rows; r++, k++) {
                    ids[r] = k;
                    seqs.read(k, tokens, r * l1);
                    if (ds != null) ds[r] = seqs.docStarts(k);
                }
                return new Batch(rows, seqLen, tokens, ds, ids);
            }
        };
    }
}
