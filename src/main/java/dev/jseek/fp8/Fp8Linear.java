package dev.jseek.fp8;

/**
 * The three GEMMs of a bias-free Linear in FP8 (spec G; [TR] §3.3, Fig. 6), with the signatures of
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
}
