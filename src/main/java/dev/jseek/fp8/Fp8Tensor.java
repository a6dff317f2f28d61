package dev.jseek.fp8;

/**
 * A tile-scaled FP8 E4M3 tensor (spec G): a row-major [rows, cols] matrix of E4M3 {@code codes} and one F32 scale per
 * tileRows x tileCols tile, {@code scales} row-major [ceil(rows/tileRows), ceil(cols/tileCols)]. The real value of
 * element (r, c) is {@code decode(codes[r*cols + c]) * scales[(r/tileRows)*scaleCols() + c/tileCols]} (the scale is
 * a multiplier, like the checkpoint's {@code weight_scale_inv}). Edge tiles are partial when a dimension is not a
 * multiple of the tile size.
 *
 * <p>The tile shapes of the training recipe: 1 x 128 (activations and activation gradients, per token per 128
 * channels), 128 x 128 (weights), 128 x 1 (Wgrad operands, per channel per 128 tokens).
 */
public record Fp8Tensor(int rows, int cols, int tileRows, int tileCols, byte[] codes, float[] scales) {
    public Fp8Tensor {
        if (rows < 0 || cols < 0) throw new IllegalArgumentException("negative shape " + rows + "x" + cols);
        if (tileRows < 1 || tileCols < 1) throw new IllegalArgumentException("tile shape must be positive, got " + tileRows + "x" + tileCols);
        if ((long) rows * cols > Integer.MAX_VALUE - 16)
            throw new IllegalArgumentException("FP8 tensor of " + rows + "x" + cols + " elements does not fit a Java array");
        if (codes.length != rows * cols)
            throw new IllegalArgumentException("codes hold " + codes.length + " bytes, " + rows + "x" + cols + " needs " + rows * cols);
        int need = ceilDiv(rows, tileRows) * ceilDiv(cols, tileCols);
        if (scales.length != need)
            throw new IllegalArgumentException("scales hold " + scales.length + " floats, " + rows + "x" + cols + " in " + tileRows + "x" + tileCols
                    + " tiles needs " + need);
    }

    static int ceilDiv(int a, int b) { return (a + b - 1) / b; }

    /** Tiles along the rows: ceil(rows / tileRows). */
    public int scaleRows() { return ceilDiv(rows, tileRows); }

    /** Tiles along the columns: ceil(cols / tileCols). */
    public int scaleCols() { return ceilDiv(cols, tileCols); }

    /** The scale of the tile holding element (r, c). */
    public float scaleAt(int r, int c) { return scales[(r / tileRows) * scaleCols() + c / tileCols]; }

    /** The dequantized value of element (r, c): decode(code) * scale, rounded to float. */
    public float get(int r, int c) { return E4m3.decode(codes[r * cols + c]) * scaleAt(r, c); }

    /** All elements dequantized to float, row-major [rows, cols]. */
    public float[] dequantize() {
        float[] out = new float[rows * cols];
        int sc = scaleCols();
        for (int r = 0; r < rows; r++) {
            int so = (r / tileRows) * sc, o = r * cols;
            for (int c = 0; c < cols; c++) out[o + c] = E4m3.decode(codes[o + c]) * scales[so + c / tileCols];
        }
        return out;
    }

    /**
     * The transpose [cols, rows] with the tile shape swapped (tileCols x tileRows): codes and scales are moved, not
     * re-quantized, so every element keeps its value. A 128 x 1 tiled tensor becomes 1 x 128 along its new rows.
     */
    public Fp8Tensor transpose() {
        byte[] t = new byte[codes.length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) t[c * rows + r] = codes[r * cols + c];
        int sr = scaleRows(), sc = scaleCols();
        float[] s = new float[scales.length];
        for (int i = 0; i < sr; i++)
            for (int j = 0; j < sc; j++) s[j * sr + i] = scales[i * sc + j];
        return new Fp8Tensor(cols, rows, tileCols, tileRows, t, s);
    }

    /** True when the tiles are 1 x {@code g} (one scale per row per g columns). */
    public boolean rowTiled(int g) { return tileRows == 1 && tileCols == g; }
}
