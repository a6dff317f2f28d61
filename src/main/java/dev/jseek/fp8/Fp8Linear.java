package dev.jseek.fp8;

/**
 * The three GEMMs of a bias-free Linear in FP8 (report §3.3, Fig. 6), with the signatures of
 * {@code dev.jseek.train.Linear} (float arrays with offsets; W is [out, in] row-major, X [m, in], Y [m, out]):
 * <ul>
 *   <li>Fprop Y = X W^T: X in 1x128 tiles, W in 128x128 blocks ("1D2D").</li>
 *   <li>Dgrad dX += dY W: dY in 1x128 tiles, W's 128x128 blocks transposed ([in, out], same scales) ("1D2D").</li>
 *   <li>Wgrad dW += dY^T X: dY and X quantized in 1x128 tiles, dequantized and re-quantized in 128x1 tiles (per
 *       channel per 128 tokens) ("1D1D", K = m tokens).</li>
 * </ul>
 * Outputs and accumulation are FP32 (promotion every 128, {@link Fp8Gemm}). Quantization is online and
 * deterministic, so re-quantizing X in backward gives the very codes the forward used: numerically the same as
 * caching the FP8 activation.
 *
 * <p>The overloads taking {@link Fp8Tensor} operands run the same GEMMs on activations (or activation gradients)
 * quantized by the caller, e.g. read back from the FP8 activation cache of training: X or dY in 1 x 128 tiles with
 * whatever scale format they were quantized in; W is quantized here in 128 x 128 blocks with FP32 scales.
 */
public final class Fp8Linear {
    private Fp8Linear() {}

    /** Y[m, out] = X[m, in] W^T (overwrites Y). */
    public static void forward(float[] y, int yOff, float[] x, int xOff, float[] w, int wOff, int m, int in, int out, ScaleFormat fmt) {
        if (m == 0 || out == 0) return;
        if (in == 0) { java.util.Arrays.fill(y, yOff, yOff + m * out, 0f); return; }
        Fp8Gemm.gemm(TileQuantizer.activation(x, xOff, m, in, fmt), TileQuantizer.weight(w, wOff, out, in, fmt), y, yOff, false);
    }

    /** dX[m, in] += dY[m, out] W. */
    public static void backwardInput(float[] dx, int dxOff, float[] dy, int dyOff, float[] w, int wOff, int m, int in, int out, ScaleFormat fmt) {
        if (m == 0 || in == 0 || out == 0) return;
        Fp8Gemm.gemm(TileQuantizer.activation(dy, dyOff, m, out, fmt), TileQuantizer.weight(w, wOff, out, in, fmt).transpose(), dx, dxOff, true);
    }

    /** dW[out, in] += dY[m, out]^T X[m, in]. */
    public static void backwardWeight(float[] dw, int dwOff, float[] dy, int dyOff, float[] x, int xOff, int m, int in, int out, ScaleFormat fmt) {
        if (m == 0 || in == 0 || out == 0) return;
        Fp8Tensor dyT = TileQuantizer.wgradOperand(TileQuantizer.activation(dy, dyOff, m, out, fmt), fmt);
        Fp8Tensor xT = TileQuantizer.wgradOperand(TileQuantizer.activation(x, xOff, m, in, fmt), fmt);
        Fp8Gemm.gemm(dyT, xT, dw, dwOff, true);
    }

    /** Y[m, out] = X W^T with X already quantized in 1x128 tiles ([m, in]); W in 128x128 blocks, FP32 scales. */
    public static void forward(float[] y, int yOff, Fp8Tensor x, float[] w, int wOff, int out) {
        int m = x.rows(), in = x.cols();
        if (m == 0 || out == 0) return;
        if (in == 0) { java.util.Arrays.fill(y, yOff, yOff + m * out, 0f); return; }
        Fp8Gemm.gemm(x, TileQuantizer.weight(w, wOff, out, in, ScaleFormat.FP32), y, yOff, false);
    }

    /** dX[m, in] += dY W with dY already quantized in 1x128 tiles ([m, out]); W in 128x128 blocks, FP32 scales. */
    public static void backwardInput(float[] dx, int dxOff, Fp8Tensor dy, float[] w, int wOff, int in) {
        int m = dy.rows(), out = dy.cols();
        if (m == 0 || in == 0 || out == 0) return;
        Fp8Gemm.gemm(dy, TileQuantizer.weight(w, wOff, out, in, ScaleFormat.FP32).transpose(), dx, dxOff, true);
    }

    /**
     * dW[out, in] += dY^T X from the 1x128-tiled dY [m, out] and X [m, in] (both re-quantized in 128x1 tiles in
     * their own scale formats, {@link TileQuantizer#wgradOperand(Fp8Tensor, ScaleFormat)}).
     */
    public static void backwardWeight(float[] dw, int dwOff, Fp8Tensor dy, ScaleFormat dyFmt, Fp8Tensor x, ScaleFormat xFmt) {
        if (dy.rows() != x.rows()) throw new IllegalArgumentException("Wgrad: dY has " + dy.rows() + " rows, X " + x.rows());
        if (dy.rows() == 0 || dy.cols() == 0 || x.cols() == 0) return;
        Fp8Gemm.gemm(TileQuantizer.wgradOperand(dy, dyFmt), TileQuantizer.wgradOperand(x, xFmt), dw, dwOff, true);
    }

    /** As {@link #backwardWeight(float[], int, Fp8Tensor, ScaleFormat, Fp8Tensor, ScaleFormat)} with X's Wgrad operand given. */
    public static void backwardWeight(float[] dw, int dwOff, Fp8Tensor dy, ScaleFormat dyFmt, Fp8Tensor xWgrad) {
        if (dy.rows() == 0 || dy.cols() == 0 || xWgrad.rows() == 0) return;
        Fp8Gemm.gemm(TileQuantizer.wgradOperand(dy, dyFmt), xWgrad, dw, dwOff, true);
    }
}
