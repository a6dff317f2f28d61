package dev.jseek.train;

/**
 * Training stopped because a step's loss or gradient norm was NaN or infinite (and the run is configured to stop,
 * or too many consecutive steps were skipped). The offending step never reaches a checkpoint.
 */
public final class NonFiniteException extends RuntimeException {
    private final long step;

    public NonFiniteException(long step, String message) {
        super(message);
        this.step = step;
    }

    /** The 1-based step that failed. */
    public long step() { return step; }
}
