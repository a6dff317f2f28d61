package dev.jseek.model;

import dev.jseek.kernels.WeightRows;
import dev.jseek.tensor.Matrix;

/** Token embedding {@code model.embed_tokens.weight} [vocab, dim]: a row lookup, no scaling (report §2.1.1; docs/architecture.md §3.6). */
public record Embedding(Matrix weight) {
    /** out[t, :] = weight[tokens[t], :] for t < n; token ids must already be checked against the vocabulary. */
    public void forward(int[] tokens, int n, float[] out) {
        int dim = weight.cols();
        for (int t = 0; t < n; t++) WeightRows.decodeRow(weight, tokens[t], out, t * dim);
    }
}
