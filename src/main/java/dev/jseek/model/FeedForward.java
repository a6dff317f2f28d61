package dev.jseek.model;

/** The FFN sub-layer of a block: a dense {@link Mlp} (layers < first_k_dense_replace) or a {@link Moe}. */
public sealed interface FeedForward permits Mlp, Moe {
    /** out[m, dim] = FFN(x[m, dim]) (overwrites out). */
    void forward(float[] x, int m, float[] out, Workspace ws);
}
