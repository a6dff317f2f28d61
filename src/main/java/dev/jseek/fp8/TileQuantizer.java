package dev.jseek.fp8;

/**
 * Fine-grained online FP8 quantization (spec G, A.3; [TR] §3.3): for every tile, amax = max(max|x|, 1e-4),
 * scale = amax / 448 (optionally rounded up to a power of two, {@link ScaleFormat#UE8M0}), code = e4m3(x / scale)
 * (round to nearest even, saturating). The scale is stored as a multiplier: x ~= decode(code) * scale.
 *
 * <p>Tile shapes: {@link #activation} 1 x 128 (per token, per 128 channels: activations and activation gradients),
 * {@link #weight} 128 x 128 (per 128 output x 128 input channels), {@link #wgradOperand} 128 x 1 (per channel, per
 * 128 tokens) re-quantized from dequantized 1 x 128 data and returned transposed, ready as a Wgrad GEMM operand.
 *
 * <p>Error bound (tested): with y = x / scale, |dequant(x) - x| <= 2^-4 |x| + 2^-21 |x| when |y| >= 2^-6 (E4M3
 * normals: 3 mantissa bits, half an ulp is at most 2^-4 of the value) and <= 2^-10 scale (1 + 2^-10) when
 * |y| < 2^-6 (subnormal spacing 2^-9); the 2^-21 terms cover the float division and multiplication. With UE8M0
 * scales the division and multiplication are exact and the error is exactly the E4M3 rounding error of y.
 */
public final class TileQuantizer {
    private TileQuantizer() {}

    /** The block size of the recipe along the reduction dimension. */
    public static final int TILE = 128;
    /** Lower clamp of the tile amax ([DG]): an all-zero tile gets a tiny positive scale, not a zero one. */
    public static final float AMAX_FLOOR = 1e-4f;

    /** 1 x 128 tiles: activations (GEMM LHS in Fprop) and activation gradients (Dgrad LHS). */
    public static Fp8Tensor activation(float[] x, int rows, int cols, ScaleFormat fmt) {
        return quantize(x, 0, rows, cols, 1, TILE, fmt);
    }

    /** {@link #activation(float[], int, int, ScaleFormat)} of the matrix starting at x[off]. */
    public static Fp8Tensor activation(float[] x, int off, int rows, int cols, ScaleFormat fmt) {
        if (rows < 0 || cols < 0 || off < 0 || (long) off + (long) rows * cols > x.length)
            throw new IllegalArgumentException("array of " + x.length + " floats from offset " + off + " cannot hold " + rows + "x" + cols);
        int sc = Fp8Tensor.ceilDiv(cols, TILE);
        byte[] codes = new byte[rows * cols];
        float[] scales = new float[rows * sc];
        quantizeRowsInto(x, off, rows, cols, fmt, codes, 0, scales, 0);
        return new Fp8Tensor(rows, cols, 1, TILE, codes, scales);
    }

    /**
     * 1 x 128 tiles written into caller arrays (the FP8 activation cache): the [rows, cols] matrix at x[off] becomes
     * codes[codeOff + r*cols + c] and scales[scaleOff + r*ceil(cols/128) + t]. Same codes and scales as
     * {@link #quantize} with 1 x 128 tiles. A non-finite element throws, naming its position.
     */
    public static void quantizeRowsInto(float[] x, int off, int rows, int cols, ScaleFormat fmt,
                                        byte[] codes, int codeOff, float[] scales, int scaleOff) {
        int sc = Fp8Tensor.ceilDiv(cols, TILE);
        for (int r = 0; r < rows; r++) {
            int o = off + r * cols, q = codeOff + r * cols;
            for (int t = 0; t < sc; t++) {
                int c0 = t * TILE, c1 = Math.min(cols, c0 + TILE);
                float amax = 0f;
                for (int c = c0; c < c1; c++) amax = Math.max(amax, Math.abs(x[o + c]));
                if (!(amax <= Float.MAX_VALUE)) throw nonFinite(x, off, cols, r, r + 1, c0, c1);
                float s = fmt.scale(amax);
                scales[scaleOff + r * sc + t] = s;
                for (int c = c0; c < c1; c++) codes[q + c] = E4m3.encode(x[o + c] / s);
            }
        }
    }

    /** Inverse of {@link #quantizeRowsInto}: out[outOff + r*cols + c] = decode(code) * scale of its 1 x 128 tile. */
    public static void dequantizeRowsInto(byte[] codes, int codeOff, float[] scales, int scaleOff, int rows, int cols,
                                          float[] out, int outOff) {
        int sc = Fp8Tensor.ceilDiv(cols, TILE);
        for (int r = 0; r < rows; r++) {
            int q = codeOff + r * cols, o = outOff + r * cols, so = scaleOff + r * sc;
            for (int c = 0; c < cols; c++) out[o + c] = E4m3.decode(codes[q + c]) * scales[so + c / TILE];
        }
    }

    /**
     * The Wgrad operand of a float [tokens, channels] matrix at x[off] (used when the cached activation is not E4M3,
     * e.g. the E5M6 o_proj input): quantized in 128 x 1 tiles (per channel, per 128 tokens) and returned TRANSPOSED,
     * [channels, tokens] in 1 x 128 tiles: {@code quantize(x, tokens, channels, 128, 1, fmt).transpose()}.
     */
    public static Fp8Tensor wgradOperand(float[] x, int off, int rows, int cols, ScaleFormat fmt) {
        float[] t = new float[rows * cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) t[c * rows + r] = x[off + r * cols + c];
        return quantize(t, 0, cols, rows, 1, TILE, fmt);
    }

    /** {@link #weight(float[], int, int, ScaleFormat)} of the matrix starting at w[off]. */
    public static Fp8Tensor weight(float[] w, int off, int rows, int cols, ScaleFormat fmt) {
        return quantize(w, off, rows, cols, TILE, TILE, fmt);
    }

    /** 128 x 128 blocks: weights (transpose-invariant, so Dgrad reuses them). */
    public static Fp8Tensor weight(float[] w, int rows, int cols, ScaleFormat fmt) {
        return quantize(w, 0, rows, cols, TILE, TILE, fmt);
    }

    /**
     * The Wgrad operand of a [tokens, channels] activation (or activation gradient) held in 1 x 128 tiles: the
     * tiles are dequantized (to float, as the report does before the transposed re-quantization), re-quantized in
     * 128 x 1 tiles (per channel, per 128 tokens) and returned TRANSPOSED: a [channels, tokens] tensor with 1 x 128
     * tiles along tokens, which is the layout the "1D1D" GEMM of {@link Fp8Gemm} reduces over. Equal to
     * {@code quantize(x.dequantize(), tokens, channels, 128, 1, fmt).transpose()}.
     */
    public static Fp8Tensor wgradOperand(Fp8Tensor x, ScaleFormat fmt) {
        if (!x.rowTiled(TILE))
            throw new IllegalArgumentException("wgradOperand wants 1x" + TILE + " tiles, got " + x.tileRows() + "x" + x.tileCols());
        return wgradOperand(x.dequantize(), 0, x.rows(), x.cols(), fmt);
    }

    /**
     * Quantizes the row-major [rows, cols] matrix starting at {@code x[off]} in tileRows x tileCols tiles (partial at
     * the edges). Every element must be finite: a NaN or infinity throws, naming its position.
     */
    public static Fp8Tensor quantize(float[] x, int off, int rows, int cols, int tileRows, int tileCols, ScaleFormat fmt) {
        if (rows < 0 || cols < 0 || off < 0 || (long) off + (long) rows * cols > x.length)
            throw new IllegalArgumentException("array of " + x.length + " floats from offset " + off + " cannot hold " + rows + "x" + cols);
        if (tileRows < 1 || tileCols < 1) throw new IllegalArgumentException("tile shape must be positive, got " + tileRows + "x" + tileCols);
        int sr = Fp8Tensor.ceilDiv(rows, tileRows), sc = Fp8Tensor.ceilDiv(cols, tileCols);
        byte[] codes = new byte[rows * cols];
        float[] scales = new float[sr * sc];
        for (int ti = 0; ti < sr; ti++) {
            int r0 = ti * tileRows, r1 = Math.min(rows, r0 + tileRows);
            for (int tj = 0; tj < sc; tj++) {
                int c0 = tj * tileCols, c1 = Math.min(cols, c0 + tileCols);
                float amax = 0f;
                for (int r = r0; r < r1; r++) {
                    int o = off + r * cols;
                    for (int c = c0; c < c1; c++) amax = Math.max(amax, Math.abs(x[o + c]));
                }
                if (!(amax <= Float.MAX_VALUE)) throw nonFinite(x, off, cols, r0, r1, c0, c1);
                float s = fmt.scale(amax);
                scales[ti * sc + tj] = s;
                for (int r = r0; r < r1; r++) {
                    int o = off + r * cols, q = r * cols;
                    for (int c = c0; c < c1; c++) codes[q + c] = E4m3.encode(x[o + c] / s);
                }
            }
        }
        return new Fp8Tensor(rows, cols, tileRows, tileCols, codes, scales);
    }

    private static IllegalArgumentException nonFinite(float[] x, int off, int cols, int r0, int r1, int c0, int c1) {
        for (int r = r0; r < r1; r++)
            for (int c = c0; c < c1; c++) {
                float v = x[off + r * cols + c];
                if (!Float.isFinite(v)) return new IllegalArgumentException("cannot quantize non-finite value " + v + " at [" + r + ", " + c + "]");
            }
        return new IllegalArgumentException("non-finite tile at rows " + r0 + ".." + r1 + ", cols " + c0 + ".." + c1);
    }
}
