package dev.jseek.train;

/**
 * Where {@link Trainer} gets its micro-batches: an endless, deterministic stream (given its seed and saved
 * state) of batches of {@link #microBatchRows()} sequences each. {@link #saveState()} returns an opaque blob
 * that {@link #restoreState} accepts to continue with exactly the batch that would have come next; it is stored
 * in training checkpoints.
 */
public interface BatchSource<B> {
    /** The next micro-batch. */
    B next();

    /** Sequences per micro-batch returned by {@link #next()}. */
    int microBatchRows();

    /** Tokens this batch counts toward "tokens seen" (the schedules' token axis): rows x input length. */
    long tokens(B batch);

    /** The position after the last batch returned, as an opaque blob. */
    byte[] saveState();

    /** Moves to a position saved by {@link #saveState()} (of a source over the same data and settings). */
    void restoreState(byte[] state);
}
