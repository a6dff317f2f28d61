package dev.jseek.train;

import dev.jseek.kernels.Ops;
import dev.jseek.kernels.Vec;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * RMSNorm y = w * x * r with r = 1 / sqrt(mean(x^2) + eps), per row, in FP32 (docs/architecture.md §3.6); the forward row is the
 * inference one ({@link Ops#rmsNorm}, shared). Forward saves only r
 * (one float per row); the normalized output can be recomputed from x and r. Rows may be strided (so a norm can
 * read/write a slice of a wider row, e.g. c_kv inside kv_a's output or one half of MTP's concatenation).
 *
 * <p>Backward: dx_j = r * (w_j dy_j - x_j r^2 (sum_i w_i dy_i x_i) / n) (input part); dw_i += dy_i x_i r (weight part).
 */
public final class RmsNorm {
    private RmsNorm() {}

    /** Forward: y = w * x * r per row, r = 1 / sqrt(mean(x^2) + eps) saved in rstd [rows, 1]. */
    public static void forward(View y, View x, View w, View rstd, float eps) {
        forward(y.a(), y.off(), y.stride(), x.a(), x.off(), x.stride(), w.a(), w.off(), rstd.a(), rstd.off(), x.rows(), x.cols(), eps);
    }

    /** The forward's output again from the saved r (recomputation): bit-identical to {@link #forward(View, View, View, View, float)}. */
    public static void recompute(View y, View x, View w, View rstd) {
        recompute(y.a(), y.off(), y.stride(), x.a(), x.off(), x.stride(), w.a(), w.off(), rstd.a(), rstd.off(), x.rows(), x.cols());
    }

    /** Input part: dx += r * (w * dy - x * r^2 * sum(w * dy * x) / n). */
    public static void backwardInput(View dx, View dy, View x, View w, View rstd) {
        backwardInput(dx.a(), dx.off(), dx.stride(), dy.a(), dy.off(), dy.stride(), x.a(), x.off(), x.stride(), w.a(), w.off(),
                rstd.a(), rstd.off(), x.rows(), x.cols());
    }

    /** Weight part: dw += sum over rows of dy * x * r. */
    public static void backwardWeight(View dw, View dy, View x, View rstd) {
        backwardWeight(dw.a(), dw.off(), dy.a(), dy.off(), dy.stride(), x.a(), x.off(), x.stride(), rstd.a(), rstd.off(), x.rows(), x.cols());
    }

    /**
     * y = norm(x) for {@code rows} rows of {@code n}; stores r per row at rstd[rOff + row]. Vectorized, parallel over
     * rows; equal to {@link #forwardScalar} up to float rounding. y may alias x only with equal offsets and strides.
     */
    public static void forward(float[] y, int yOff, int yStride, float[] x, int xOff, int xStride, float[] w, int wOff,
                               float[] rstd, int rOff, int rows, int n, float eps) {
        TrainPool.forRange(rows, TrainPool.grain(rows, Math.max(1, 4096 / n)), (lo, hi, wk) -> {
            for (int row = lo; row < hi; row++) {
                int xo = xOff + row * xStride, yo = yOff + row * yStride;
                rstd[rOff + row] = Ops.rmsNorm(y, yo, x, xo, w, wOff, n, eps);
            }
        });
    }

    /**
     * y = norm(x) from the saved r per row (rstd[rOff + row]), without recomputing r: the recomputation of docs/architecture.md §7.1.
     * Same arithmetic as {@link #forward}, so with the r that forward stored the output is bit-identical.
     */
    public static void recompute(float[] y, int yOff, int yStride, float[] x, int xOff, int xStride, float[] w, int wOff,
                                 float[] rstd, int rOff, int rows, int n) {
        TrainPool.forRange(rows, TrainPool.grain(rows, Math.max(1, 4096 / n)), (lo, hi, wk) -> {
            for (int row = lo; row < hi; row++) {
                int xo = xOff + row * xStride, yo = yOff + row * yStride;
                Ops.rmsNormApply(y, yo, x, xo, w, wOff, n, rstd[rOff + row]);
            }
        });
    }

    /** dx += d(norm)/dx^T dy; vectorized, parallel over rows (twin: {@link #backwardInputScalar}). */
    public static void backwardInput(float[] dx, int dxOff, int dxStride, float[] dy, int dyOff, int dyStride,
                                     float[] x, int xOff, int xStride, float[] w, int wOff, float[] rstd, int rOff,
                                     int rows, int n) {
        TrainPool.forRange(rows, TrainPool.grain(rows, Math.max(1, 4096 / n)), (lo, hi, wk) -> {
            for (int row = lo; row < hi; row++) {
                int xo = xOff + row * xStride, yo = dyOff + row * dyStride, o = dxOff + row * dxStride;
                float r = rstd[rOff + row];
                FloatVector acc = FloatVector.zero(VecOps.F);
                int i = 0;
                for (; i <= n - VecOps.L; i += VecOps.L)
                    acc = FloatVector.fromArray(VecOps.F, w, wOff + i).mul(FloatVector.fromArray(VecOps.F, dy, yo + i))
                            .fma(FloatVector.fromArray(VecOps.F, x, xo + i), acc);
                double dot = Vec.sum(acc);
                for (; i < n; i++) dot += (double) w[wOff + i] * dy[yo + i] * x[xo + i];
                float c = (float) (dot * r * r / n);
                i = 0;
                for (; i <= n - VecOps.L; i += VecOps.L) {
                    FloatVector wdy = FloatVector.fromArray(VecOps.F, w, wOff + i).mul(FloatVector.fromArray(VecOps.F, dy, yo + i));
                    FloatVector t = wdy.sub(FloatVector.fromArray(VecOps.F, x, xo + i).mul(c)).mul(r);
                    FloatVector.fromArray(VecOps.F, dx, o + i).add(t).intoArray(dx, o + i);
                }
                for (; i < n; i++) dx[o + i] += r * (w[wOff + i] * dy[yo + i] - x[xo + i] * c);
            }
        });
    }

    /** dw += sum over rows of dy * x * r; parallel over column blocks (twin: {@link #backwardWeightScalar}). */
    public static void backwardWeight(float[] dw, int dwOff, float[] dy, int dyOff, int dyStride,
                                      float[] x, int xOff, int xStride, float[] rstd, int rOff, int rows, int n) {
        int cb = Math.max(VecOps.L, (n / Math.max(1, TrainPool.threads()) + VecOps.L - 1) / VecOps.L * VecOps.L);
        TrainPool.forRange((n + cb - 1) / cb, 1, (lo, hi, wk) -> {
            for (int blk = lo; blk < hi; blk++) {
                int c0 = blk * cb, c1 = Math.min(n, c0 + cb);
                for (int row = 0; row < rows; row++) {
                    int xo = xOff + row * xStride, yo = dyOff + row * dyStride;
                    float r = rstd[rOff + row];
                    int i = c0;
                    for (; i <= c1 - VecOps.L; i += VecOps.L)
                        FloatVector.fromArray(VecOps.F, dy, yo + i).mul(FloatVector.fromArray(VecOps.F, x, xo + i)).mul(r)
                                .add(FloatVector.fromArray(VecOps.F, dw, dwOff + i)).intoArray(dw, dwOff + i);
                    for (; i < c1; i++) dw[dwOff + i] += dy[yo + i] * x[xo + i] * r;
                }
            }
        });
    }

    /** Scalar twin of {@link #forward}. */
    public static void forwardScalar(float[] y, int yOff, int yStride, float[] x, int xOff, int xStride, float[] w, int wOff,
                               float[] rstd, int rOff, int rows, int n, float eps) {
        for (int row = 0; row < rows; row++) {
            int xo = xOff + row * xStride, yo = yOff + row * yStride;
            double ss = 0;
            for (int i = 0; i < n; i++) ss += (double) x[xo + i] * x[xo + i];
            float r = (float) (1.0 / Math.sqrt(ss / n + eps));
            rstd[rOff + row] = r;
            for (int i = 0; i < n; i++) y[yo + i] = w[wOff + i] * (x[xo + i] * r);
        }
    }

    /** Scalar twin of {@link #backwardInput}. */
    public static void backwardInputScalar(float[] dx, int dxOff, int dxStride, float[] dy, int dyOff, int dyStride,
                                     float[] x, int xOff, int xStride, float[] w, int wOff, float[] rstd, int rOff,
                                     int rows, int n) {
        for (int row = 0; row < rows; row++) {
            int xo = xOff + row * xStride, yo = dyOff + row * dyStride, o = dxOff + row * dxStride;
            float r = rstd[rOff + row];
            double dot = 0;
            for (int i = 0; i < n; i++) dot += (double) w[wOff + i] * dy[yo + i] * x[xo + i];
            float c = (float) (dot * r * r / n);
            for (int i = 0; i < n; i++) dx[o + i] += r * (w[wOff + i] * dy[yo + i] - x[xo + i] * c);
        }
    }

    /** Scalar twin of {@link #backwardWeight}. */
    public static void backwardWeightScalar(float[] dw, int dwOff, float[] dy, int dyOff, int dyStride,
                                      float[] x, int xOff, int xStride, float[] rstd, int rOff, int rows, int n) {
        for (int row = 0; row < rows; row++) {
            int xo = xOff + row * xStride, yo = dyOff + row * dyStride;
            float r = rstd[rOff + row];
            for (int i = 0; i < n; i++) dw[dwOff + i] += dy[yo + i] * x[xo + i] * r;
        }
    }
}
