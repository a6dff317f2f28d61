package dev.jseek.model;

import dev.jseek.kernels.Ops;

/** RMSNorm y = w ⊙ x / sqrt(mean(x²) + eps), in FP32 (docs/architecture.md §3.6), applied row by row. */
public record RmsNorm(float[] weight, float eps) {
    /** Loads the norm weight {@code t} of the {@link TensorSchema}. */
    public static RmsNorm load(WeightSource w, TensorSchema.Tensor t, ModelConfig cfg) {
        return new RmsNorm(w.floats(t), (float) cfg.rmsNormEps());
    }

    public int dim() { return weight.length; }

    /** out[r, outOff + :] = norm(x[r, xOff + :]) for r < rows; xStride/outStride are the row strides. */
    public void forward(float[] x, int xOff, int xStride, float[] out, int outOff, int outStride, int rows) {
        for (int r = 0; r < rows; r++) Ops.rmsNorm(out, outOff + r * outStride, x, xOff + r * xStride, weight, weight.length, eps);
    }

    /** Row-wise norm of x [rows, dim] into out [rows, dim]. */
    public void forward(float[] x, float[] out, int rows) { forward(x, 0, dim(), out, 0, dim(), rows); }
}
