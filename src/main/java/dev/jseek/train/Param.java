package dev.jseek.train;

/**
 * A named parameter tensor of the flat parameter arena ({@link ParamLayout}): a Linear weight [out, in] or a vector
 * [1, n] (norm weights, routing bias), at the same offset in the gradient arena.
 */
public record Param(String name, int offset, int rows, int cols) {
    /** The weights, in {@link Arenas#params}. */
    public View value(Arenas s) { return View.of(s.params, offset, rows, cols); }

    /** Their gradient, in {@link Arenas#grads}. */
    public View grad(Arenas s) { return View.of(s.grads, offset, rows, cols); }
}
