package dev.jseek.model;

import dev.jseek.tensor.Matrix;

/**
 * Where the model gets its tensors, by Hugging Face name (spec A.2): a checkpoint on disk
 * ({@code dev.jseek.io.Checkpoint}) or {@link InMemoryWeights}. Implementations check shapes and throw an exception
 * naming the tensor, the expected and the actual shape.
 */
public interface WeightSource {
    boolean has(String name);

    /** A 2-D weight [rows=out, cols=in] in its stored dtype (FP8 with its block scales), not copied. */
    Matrix matrix(String name, int rows, int cols);

    /** A tensor of exactly {@code shape}, converted to float (norm weights, router bias). */
    float[] floats(String name, long... shape);
}
