package dev.jseek.train;

/**
 * RMSNorm y = w * x * r with r = 1 / sqrt(mean(x^2) + eps), per row, in FP32 (spec J.14). Forward saves only r
 * (one float per row); the normalized output can be recomputed from x and r. Rows may be strided (so a norm can
 * read/write a slice of a wider row, e.g. c_kv inside kv_a's output or one half of MTP's concatenation).
 *
 * <p>Backward: dx_j = r * (w_j dy_j - x_j r^2 (sum_i w_i dy_i x_i) / n) (input part); dw_i += dy_i x_i r (weight part).
 */
public final class RmsNorm {
    private RmsNorm() {}

    /** y = norm(x) for {@code rows} rows of {@code n}; stores r per row at rstd[rOff + row]. */
    public static void forward(float[] y, int yOff, int yStride, float[] x, int xOff, int xStride, float[] w, int wOff,
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

    /** dx += d(norm)/dx^T dy. */
    public static void backwardInput(float[] dx, int dxOff, int dxStride, float[] dy, int dyOff, int dyStride,
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

    /** dw += sum over rows of dy * x * r. */
    public static void backwardWeight(float[] dw, int dwOff, float[] dy, int dyOff, int dyStride,
                                      float[] x, int xOff, int xStride, float[] rstd, int rOff, int rows, int n) {
        for (int row = 0; row < rows; row++) {
            int xo = xOff + row * xStride, yo = dyOff + row * dyStride;
            float r = rstd[rOff + row];
            for (int i = 0; i < n; i++) dw[dwOff + i] += dy[yo + i] * x[xo + i] * r;
        }
    }
}
