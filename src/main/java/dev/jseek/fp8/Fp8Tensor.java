package dev.jseek.fp8;

import dev.jseek.kernels.Parallel;

/**
 * A tile-scaled FP8 E4M3 tensor (report §3.3): a row-major [rows, cols] matrix of E4M3 {@code codes} and one F32 scale per
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

    /** All elements dequantized to float, row-major [rows, cols] (Vector API; rows split across the pool when large). */
    public float[] dequantize() {
        float[] out = new float[rows * cols];
        int sc = scaleCols();
        boolean wide = tileCols >= E4m3Vector.L;
        Parallel.RangeTask body = (lo, hi) -> {
            float[] each = wide ? null : new float[cols];     // narrow tiles: the row's scales spread per element
            for (int r = lo; r < hi; r++) {
                int so = (r / tileRows) * sc, o = r * cols;
                if (wide) {
                    for (int t = 0; t < sc; t++) {
                        int c0 = t * tileCols;
                        E4m3Vector.decodeMul(codes, o + c0, scales[so + t], out, o + c0, Math.min(tileCols, cols - c0));
                    }
                } else {
                    if (r == lo || r % tileRows == 0)
                        for (int c = 0; c < cols; c++) each[c] = scales[so + c / tileCols];
                    E4m3Vector.decodeMulEach(codes, o, each, 0, out, o, cols);
                }
            }
        };
        if (TileQuantizer.parallel(rows, cols)) Parallel.parallelForRange(rows, Parallel.grain(rows, 2, 1), body);
        else body.run(0, rows);
        return out;
    }

    /** Edge of the square blocks of {@link #transpose} (64 bytes: one cache line per block row on both sides). */
    private static final int TB = 64;

    /**
     * The transpose [cols, rows] with the tile shape swapped (tileCols x tileRows): codes and scales are moved, not
     * re-quantized, so every element keeps its value. A 128 x 1 tiled tensor becomes 1 x 128 along its new rows.
     * The codes move in 64 x 64 blocks ({@link ByteTranspose}; blocks of rows split across the pool when large).
     */
    public Fp8Tensor transpose() {
        byte[] t = new byte[codes.length];
        Parallel.RangeTask body = (lo, hi) -> {
            for (int rb = lo; rb < hi; rb++) {
                int r0 = rb * TB, r1 = Math.min(rows, r0 + TB);
                for (int c0 = 0; c0 < cols; c0 += TB)
                    ByteTranspose.block(codes, r0 * cols + c0, cols, t, c0 * rows + r0, rows, r1 - r0, Math.min(TB, cols - c0));
            }
        };
        int blocks = ceilDiv(rows, TB);
        if (blocks > 1 && TileQuantizer.parallel(rows, cols)) Parallel.parallelForRange(blocks, Parallel.grain(blocks, 2, 1), body);
        else body.run(0, blocks);
        int sr = scaleRows(), sc = scaleCols();
        float[] s = new float[scales.length];
        for (int i = 0; i < sr; i++)
            for (int j = 0; j < sc; j++) s[j * sr + i] = scales[i * sc + j];
        return new Fp8Tensor(cols, rows, tileCols, tileRows, t, s);
    }

    /** True when the tiles are 1 x {@code g} (one scale per row per g columns). */
    public boolean rowTiled(int g) { return tileRows == 1 && tileCols == g; }
}
