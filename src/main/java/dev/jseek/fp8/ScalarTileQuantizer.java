package dev.jseek.fp8;

/**
 * Scalar twin (the test oracle) of the tile quantizer's fast paths ({@link TileQuantizer}, {@link Fp8Tensor#dequantize},
 * {@link Fp8Tensor#transpose}; report §3.3): element by element, single-threaded, per element a float division then the
 * canonical scalar encoder {@link E4m3#encode} ({@code dev.jseek.tensor.Fp8#floatToE4m3}). The fast paths must give
 * the same codes, scales, values and error messages bit for bit.
 */
final class ScalarTileQuantizer {
    private ScalarTileQuantizer() {}

    static final int TILE = TileQuantizer.TILE;

    /** Twin of {@link TileQuantizer#quantizeRowsInto}. */
    static void quantizeRowsInto(float[] x, int off, int rows, int cols, ScaleFormat fmt,
                                 byte[] codes, int codeOff, float[] scales, int scaleOff) {
        int sc = Fp8Tensor.ceilDiv(cols, TILE);
        for (int r = 0; r < rows; r++) {
            int o = off + r * cols, q = codeOff + r * cols;
            for (int t = 0; t < sc; t++) {
                int c0 = t * TILE, c1 = Math.min(cols, c0 + TILE);
                float amax = 0f;
                for (int c = c0; c < c1; c++) amax = Math.max(amax, Math.abs(x[o + c]));
                if (!(amax <= Float.MAX_VALUE)) throw TileQuantizer.nonFinite(x, off, cols, r, r + 1, c0, c1);
                float s = fmt.scale(amax);
                scales[scaleOff + r * sc + t] = s;
                for (int c = c0; c < c1; c++) codes[q + c] = E4m3.encode(x[o + c] / s);
            }
        }
    }

    /** Twin of {@link TileQuantizer#dequantizeRowsInto}. */
    static void dequantizeRowsInto(byte[] codes, int codeOff, float[] scales, int scaleOff, int rows, int cols,
                                   float[] out, int outOff) {
        int sc = Fp8Tensor.ceilDiv(cols, TILE);
        for (int r = 0; r < rows; r++) {
            int q = codeOff + r * cols, o = outOff + r * cols, so = scaleOff + r * sc;
            for (int c = 0; c < cols; c++) out[o + c] = E4m3.decode(codes[q + c]) * scales[so + c / TILE];
        }
    }

    /** Twin of {@link TileQuantizer#wgradOperand(float[], int, int, int, ScaleFormat)}: transpose, then 1 x 128 tiles. */
    static Fp8Tensor wgradOperand(float[] x, int off, int rows, int cols, ScaleFormat fmt) {
        float[] t = new float[rows * cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) t[c * rows + r] = x[off + r * cols + c];
        return quantize(t, 0, cols, rows, 1, TILE, fmt);
    }

    /** Twin of {@link TileQuantizer#wgradOperand(Fp8Tensor, ScaleFormat)}: dequantize, then as above. */
    static Fp8Tensor wgradOperand(Fp8Tensor x, ScaleFormat fmt) {
        if (!x.rowTiled(TILE))
            throw new IllegalArgumentException("wgradOperand wants 1x" + TILE + " tiles, got " + x.tileRows() + "x" + x.tileCols());
        return wgradOperand(dequantize(x), 0, x.rows(), x.cols(), fmt);
    }

    /** Twin of {@link TileQuantizer#quantize}. */
    static Fp8Tensor quantize(float[] x, int off, int rows, int cols, int tileRows, int tileCols, ScaleFormat fmt) {
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
                if (!(amax <= Float.MAX_VALUE)) throw TileQuantizer.nonFinite(x, off, cols, r0, r1, c0, c1);
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

    /** Twin of {@link Fp8Tensor#dequantize}. */
    static float[] dequantize(Fp8Tensor t) {
        int rows = t.rows(), cols = t.cols(), sc = t.scaleCols();
        byte[] codes = t.codes();
        float[] scales = t.scales(), out = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            int so = (r / t.tileRows()) * sc, o = r * cols;
            for (int c = 0; c < cols; c++) out[o + c] = E4m3.decode(codes[o + c]) * scales[so + c / t.tileCols()];
        }
        return out;
    }

    /** Twin of {@link Fp8Tensor#transpose}. */
    static Fp8Tensor transpose(Fp8Tensor q) {
        int rows = q.rows(), cols = q.cols();
        byte[] codes = q.codes(), t = new byte[codes.length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) t[c * rows + r] = codes[r * cols + c];
        int sr = q.scaleRows(), sc = q.scaleCols();
        float[] scales = q.scales(), s = new float[scales.length];
        for (int i = 0; i < sr; i++)
            for (int j = 0; j < sc; j++) s[j * sr + i] = scales[i * sc + j];
        return new Fp8Tensor(cols, rows, q.tileCols(), q.tileRows(), t, s);
    }
}
