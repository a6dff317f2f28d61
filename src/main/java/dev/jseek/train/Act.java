package dev.jseek.train;

/**
 * A named activation buffer of {@link ActLayout}: {@code cols} floats per row (token), the value at offset
 * {@code acts} of {@link Arenas#acts} and its gradient at offset {@code dacts} of {@link Arenas#dacts}. The two
 * offsets differ for buffers that backward recomputes or reads from the FP8 cache: their value lives in a shared
 * scratch slot (acts is -1 when no float copy exists at all), their gradient in a per-layer home.
 */
public record Act(String name, int acts, int dacts, int cols) {
    /** The saved value of the first {@code rows} rows. */
    public View value(Arenas s, int rows) { return View.of(s.acts, acts, rows, cols); }

    /** The gradient of the first {@code rows} rows. */
    public View grad(Arenas s, int rows) { return View.of(s.dacts, dacts, rows, cols); }

    /** Rows [r0, r0 + m) of the value. */
    public View value(Arenas s, int r0, int m) { return View.of(s.acts, acts + r0 * cols, m, cols); }

    /** Rows [r0, r0 + m) of the gradient. */
    public View grad(Arenas s, int r0, int m) { return View.of(s.dacts, dacts + r0 * cols, m, cols); }

    /**
     * The gradient region at the value's (scratch) offset: a shared slot of dacts that backward accumulates into
     * before adding the result to the per-layer {@link #grad} (recompute mode; equal to {@link #grad} otherwise).
     */
    public View scratchGrad(Arenas s, int rows) { return View.of(s.dacts, acts, rows, cols); }
}
