package dev.jseek.model;

import dev.jseek.io.Checkpoint;
import dev.jseek.tensor.Matrix;

/**
 * Where the model gets its tensors, by Hugging Face name (docs/architecture.md §2.2): a checkpoint on disk
 * ({@code dev.jseek.io.Checkpoint}) or {@link InMemoryWeights}. Implementations check shapes and throw an exception
 * naming the tensor, the expected and the actual shape.
 */
public interface WeightSource {
    boolean has(String name);

    /** A 2-D weight [rows=out, cols=in] in its stored dtype (FP8 with its block scales), not copied. */
    Matrix matrix(String name, int rows, int cols);

    /** A tensor of exactly {@code shape}, converted to float (norm weights, router bias). */
    float[] floats(String name, long... shape);

    /** The 2-D weight of a schema tensor, at the schema's shape. */
    default Matrix matrix(TensorSchema.Tensor t) { return matrix(t.name(), t.rows(), t.cols()); }

    /**
     * kv_b_proj's two halves as the source stores them, when it stores them apart (a {@code deepseek2} GGUF's
     * {@code attn_k_b} and {@code attn_v_b}): {W_UK^T per head [heads * kvRank, nope] (row h * kvRank + c holds
     * W_UK^h[:, c]), W_UV per head [heads * v, kvRank]}, views in the stored type, not copied; null when the source
     * has kv_b_proj only. The decode attention multiplies them row by row (docs/quantization.md, "The decode step").
     */
    default Matrix[] kvBHalves(String kvB, int heads, int nope, int v, int kvRank) { return null; }

    /** A schema tensor converted to float, at the schema's shape. */
    default float[] floats(TensorSchema.Tensor t) { return floats(t.name(), t.shape()); }

    /** The tensors of an opened checkpoint (errors are the checkpoint's {@code FormatException}s). */
    static WeightSource of(Checkpoint c) {
        return new WeightSource() {
            @Override public boolean has(String name) { return c.has(name); }
            @Override public Matrix matrix(String name, int rows, int cols) { return c.matrix(name, rows, cols); }
            @Override public float[] floats(String name, long... shape) { return c.floats(name, shape); }
        };
    }
}
