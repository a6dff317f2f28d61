package dev.jseek.fp8;

import dev.jseek.kernels.Parallel;

/**
 * Fine-grained online FP8 quantization (report §3.3.2; docs/architecture.md §8.2): for every tile, amax = max(max|x|, 1e-4),
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
 *
 * <p>Implementation: Vector API kernels ({@link E4m3Vector}: amax on the float bits, IEEE division x / scale lane by
 * lane, E4M3 rounding on the float bits; scaled decode by the shifted-decode trick), bit-identical to the scalar twins
 * in {@link ScalarTileQuantizer} (tested: codes, scales, values and error messages). 128 x 1 tiles (and the Wgrad
 * operands) run their vectors along the columns; the Wgrad re-quantization is fused per 128-token x 128-channel block
 * (dequantize, column amax, encode, 8 x 8-byte transpose into the result), with no transposed float copy. Operands of
 * 2^16 elements or more are split by tile rows (or blocks) across the {@link Parallel} pool; a tile is always computed
 * by one task, so the split never changes a result.
 */
public final class TileQuantizer {
    private TileQuantizer() {}

    /** The block size of the recipe along the reduction dimension. */
    public static final int TILE = 128;
    /** Lower clamp of the tile amax (as DeepGEMM's reference quantizer does): an all-zero tile gets a tiny positive scale, not a zero one. */
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
        checkRows(x.length, off, rows, cols, codes.length, codeOff, scales.length, scaleOff);
        tiles(x, off, rows, cols, 1, TILE, fmt, codes, codeOff, scales, scaleOff);
    }

    /** Inverse of {@link #quantizeRowsInto}: out[outOff + r*cols + c] = decode(code) * scale of its 1 x 128 tile. */
    public static void dequantizeRowsInto(byte[] codes, int codeOff, float[] scales, int scaleOff, int rows, int cols,
                                          float[] out, int outOff) {
        checkRows(out.length, outOff, rows, cols, codes.length, codeOff, scales.length, scaleOff);
        int sc = Fp8Tensor.ceilDiv(cols, TILE);
        Parallel.RangeTask body = (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                int q = codeOff + r * cols, o = outOff + r * cols, so = scaleOff + r * sc;
                for (int t = 0; t < sc; t++) {
                    int c0 = t * TILE;
                    E4m3Vector.decodeMul(codes, q + c0, scales[so + t], out, o + c0, Math.min(TILE, cols - c0));
                }
            }
        };
        if (parallel(rows, cols)) Parallel.parallelForRange(rows, grain(rows, cols), body);
        else body.run(0, rows);
    }


    /**
     * The Wgrad operand of a float [tokens, channels] matrix at x[off] (used when the cached activation is not E4M3,
     * e.g. the E5M6 o_proj input): quantized in 128 x 1 tiles (per channel, per 128 tokens) and returned TRANSPOSED,
     * [channels, tokens] in 1 x 128 tiles: {@code quantize(x, tokens, channels, 128, 1, fmt).transpose()}.
     */
    public static Fp8Tensor wgradOperand(float[] x, int off, int rows, int cols, ScaleFormat fmt) {
        checkMatrix(x.length, off, rows, cols);
        return wgrad(x, off, null, rows, cols, fmt);
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
        return wgrad(null, 0, x, x.rows(), x.cols(), fmt);
    }

    /**
     * Quantizes the row-major [rows, cols] matrix starting at {@code x[off]} in tileRows x tileCols tiles (partial at
     * the edges). Every element must be finite: a NaN or infinity throws, naming its position.
     */
    public static Fp8Tensor quantize(float[] x, int off, int rows, int cols, int tileRows, int tileCols, ScaleFormat fmt) {
        checkMatrix(x.length, off, rows, cols);
        if (tileRows < 1 || tileCols < 1) throw new IllegalArgumentException("tile shape must be positive, got " + tileRows + "x" + tileCols);
        int sr = Fp8Tensor.ceilDiv(rows, tileRows), sc = Fp8Tensor.ceilDiv(cols, tileCols);
        byte[] codes = new byte[rows * cols];
        float[] scales = new float[sr * sc];
        tiles(x, off, rows, cols, tileRows, tileCols, fmt, codes, 0, scales, 0);
        return new Fp8Tensor(rows, cols, tileRows, tileCols, codes, scales);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Implementation. Vector kernels: E4m3Vector; scalar twins: ScalarTileQuantizer. Work is split across the
    // dev.jseek.kernels.Parallel pool for operands of PAR_MIN elements or more (inside a parallel region the pool runs
    // the split serially); every tile is computed by one task from its own data, so the split never changes a bit.

    /** Operands with at least this many elements are split across the pool. */
    static final int PAR_MIN = 1 << 16;
    /** Elements per parallel task, at least. */
    private static final int PAR_GRAIN = 1 << 14;
    /** Channels per Wgrad block (a multiple of the tile, so the source tiles' scales are constant along a block row). */
    private static final int WB = TILE;

    static boolean parallel(int rows, int cols) {
        return (long) rows * cols >= PAR_MIN && Parallel.threads() > 1;
    }

    /** A grain (in units of {@code unitElems} elements each) of about two chunks per participant, at least PAR_GRAIN elements. */
    private static int grain(int units, long unitElems) {
        int min = (int) Math.max(1, Math.min(units, (PAR_GRAIN + unitElems - 1) / Math.max(1, unitElems)));
        return Math.max(min, Parallel.grain(units, 2, 1));
    }

    static void checkMatrix(int length, int off, int rows, int cols) {
        if (rows < 0 || cols < 0 || off < 0 || (long) off + (long) rows * cols > length)
            throw new IllegalArgumentException("array of " + length + " floats from offset " + off + " cannot hold " + rows + "x" + cols);
    }

    /** Bounds of a [rows, cols] float matrix with its 1 x 128 codes and scales (vector accesses may run unchecked). */
    private static void checkRows(int floats, int off, int rows, int cols, int codes, int codeOff, int scales, int scaleOff) {
        checkMatrix(floats, off, rows, cols);
        if (codeOff < 0 || (long) codeOff + (long) rows * cols > codes)
            throw new IllegalArgumentException("codes of " + codes + " bytes from offset " + codeOff + " cannot hold " + rows + "x" + cols);
        long need = (long) rows * Fp8Tensor.ceilDiv(cols, TILE);
        if (scaleOff < 0 || scaleOff + need > scales)
            throw new IllegalArgumentException("scales of " + scales + " floats from offset " + scaleOff + " cannot hold " + need + " tile scales of "
                    + rows + "x" + cols);
    }

    /**
     * All tiles of the [rows, cols] matrix at x[off] into codes[codeOff + r*cols + c] and scales[scaleOff + ti*sc + tj],
     * split by tile rows across the pool when large. A failed parallel run is redone serially so that the error names
     * the first non-finite tile in order, whatever the split.
     */
    private static void tiles(float[] x, int off, int rows, int cols, int tr, int tc, ScaleFormat fmt,
                              byte[] codes, int codeOff, float[] scales, int scaleOff) {
        int sr = Fp8Tensor.ceilDiv(rows, tr);
        if (sr > 1 && parallel(rows, cols)) {
            try {
                Parallel.parallelForRange(sr, grain(sr, (long) tr * cols),
                        (lo, hi) -> tileRows(x, off, rows, cols, tr, tc, fmt, codes, codeOff, scales, scaleOff, lo, hi));
            } catch (IllegalArgumentException e) {
                tileRows(x, off, rows, cols, tr, tc, fmt, codes, codeOff, scales, scaleOff, 0, sr);
                throw e;
            }
        } else tileRows(x, off, rows, cols, tr, tc, fmt, codes, codeOff, scales, scaleOff, 0, sr);
    }

    /** Tile rows [ti0, ti1) of {@link #tiles}, in the scalar twin's tile order (so the same tile fails first). */
    private static void tileRows(float[] x, int off, int rows, int cols, int tr, int tc, ScaleFormat fmt,
                                 byte[] codes, int codeOff, float[] scales, int scaleOff, int ti0, int ti1) {
        int sc = Fp8Tensor.ceilDiv(cols, tc);
        if (tc == 1) {                                  // column tiles: vectors run along the columns
            int[] m = new int[Math.min(cols, WB)];
            float[] s = new float[m.length];
            for (int ti = ti0; ti < ti1; ti++) {
                int r0 = ti * tr, nr = Math.min(rows, r0 + tr) - r0;
                for (int c0 = 0; c0 < cols; c0 += WB) {
                    int nc = Math.min(WB, cols - c0), a0 = off + r0 * cols + c0;
                    E4m3Vector.columnAmaxBits(x, a0, cols, nr, nc, m);
                    for (int j = 0; j < nc; j++) {
                        if (m[j] >= E4m3Vector.INF_BITS) throw nonFinite(x, off, cols, r0, r0 + nr, c0 + j, c0 + j + 1);
                        s[j] = fmt.scale(Float.intBitsToFloat(m[j]));
                        scales[scaleOff + ti * sc + c0 + j] = s[j];
                    }
                    E4m3Vector.columnEncodeDiv(x, a0, cols, nr, nc, s, codes, codeOff + r0 * cols + c0, cols);
                }
            }
            return;
        }
        for (int ti = ti0; ti < ti1; ti++) {
            int r0 = ti * tr, r1 = Math.min(rows, r0 + tr);
            for (int tj = 0; tj < sc; tj++) {
                int c0 = tj * tc, n = Math.min(cols, c0 + tc) - c0;
                int m = 0;
                for (int r = r0; r < r1; r++) m = Math.max(m, E4m3Vector.amaxBits(x, off + r * cols + c0, n));
                if (m >= E4m3Vector.INF_BITS) throw nonFinite(x, off, cols, r0, r1, c0, c0 + n);
                float s = fmt.scale(Float.intBitsToFloat(m));
                scales[scaleOff + ti * sc + tj] = s;
                for (int r = r0; r < r1; r++) E4m3Vector.encodeDiv(x, off + r * cols + c0, s, codes, codeOff + r * cols + c0, n);
            }
        }
    }

    /** Per-participant scratch of {@link #wgrad}. */
    private static final class WgradScratch {
        final float[] f;
        final byte[] b;
        final int[] m;
        final float[] s;

        /** For blocks of up to nt x nc; the float block only when the source is FP8. */
        WgradScratch(int nt, int nc, boolean fp8) {
            f = new float[fp8 ? nt * nc : 0];
            b = new byte[nt * nc];
            m = new int[nc];
            s = new float[nc];
        }
    }

    /**
     * The fused Wgrad re-quantization of a [rows = tokens, cols = channels] matrix, either floats x[off..] or the 1 x
     * 128 tiled q (dequantized block by block): per block of 128 tokens x {@link #WB} channels, column maxima and
     * column-scaled codes with vectors along the channels, then the block's codes are transposed into the
     * [channels, tokens] result. No transposed float copy is made. Blocks run in parallel when large.
     */
    private static Fp8Tensor wgrad(float[] x, int off, Fp8Tensor q, int rows, int cols, ScaleFormat fmt) {
        if ((long) rows * cols > Integer.MAX_VALUE - 16)
            throw new IllegalArgumentException("FP8 tensor of " + cols + "x" + rows + " elements does not fit a Java array");
        int st = Fp8Tensor.ceilDiv(rows, TILE), nb = Fp8Tensor.ceilDiv(cols, WB), tasks = st * nb;
        byte[] codes = new byte[rows * cols];
        float[] scales = new float[cols * st];
        WgradScratch[] scratch = new WgradScratch[Math.max(1, Parallel.threads())];
        boolean[] failed = new boolean[1];
        Parallel.Task body = (t, w) -> {
            WgradScratch sc = scratch[w];
            if (sc == null) scratch[w] = sc = new WgradScratch(Math.min(rows, TILE), Math.min(cols, WB), q != null);
            if (!wgradBlock(x, off, q, rows, cols, fmt, t / nb, t % nb, codes, scales, sc)) failed[0] = true;
        };
        if (tasks > 1 && parallel(rows, cols)) Parallel.parallelFor(tasks, body);
        else for (int t = 0; t < tasks; t++) body.run(t, 0);
        if (failed[0]) throw wgradNonFinite(x, off, q, rows, cols);
        return new Fp8Tensor(cols, rows, 1, TILE, codes, scales);
    }

    /** One block of {@link #wgrad}; false when a column of the block is not finite (nothing else is checked then). */
    private static boolean wgradBlock(float[] x, int off, Fp8Tensor q, int rows, int cols, ScaleFormat fmt, int ti, int cb,
                                      byte[] codes, float[] scales, WgradScratch sc) {
        int t0 = ti * TILE, nt = Math.min(TILE, rows - t0), c0 = cb * WB, nc = Math.min(WB, cols - c0);
        int st = Fp8Tensor.ceilDiv(rows, TILE);
        float[] a;
        int ao, stride;
        if (q != null) {                                 // dequantize the block (one source tile column wide)
            byte[] qc = q.codes();
            float[] qs = q.scales();
            int qsc = q.scaleCols();
            for (int i = 0; i < nt; i++)
                E4m3Vector.decodeMul(qc, (t0 + i) * cols + c0, qs[(t0 + i) * qsc + cb], sc.f, i * nc, nc);
            a = sc.f;
            ao = 0;
            stride = nc;
        } else {
            a = x;
            ao = off + t0 * cols + c0;
            stride = cols;
        }
        E4m3Vector.columnAmaxBits(a, ao, stride, nt, nc, sc.m);
        for (int j = 0; j < nc; j++) {
            if (sc.m[j] >= E4m3Vector.INF_BITS) return false;
            float s = fmt.scale(Float.intBitsToFloat(sc.m[j]));
            sc.s[j] = s;
            scales[(c0 + j) * st + ti] = s;
        }
        E4m3Vector.columnEncodeDiv(a, ao, stride, nt, nc, sc.s, sc.b, 0, nc);
        ByteTranspose.block(sc.b, 0, nc, codes, c0 * rows + t0, rows, nt, nc);   // [nt, nc] codes into the [cols, rows] result
        return true;
    }

    /**
     * The error of a non-finite Wgrad source: the scalar twin quantizes the transposed matrix, so it names the first
     * non-finite value in channel-major order, at [channel, token].
     */
    private static IllegalArgumentException wgradNonFinite(float[] x, int off, Fp8Tensor q, int rows, int cols) {
        for (int c = 0; c < cols; c++)
            for (int r = 0; r < rows; r++) {
                float v = q != null ? q.get(r, c) : x[off + r * cols + c];
                if (!Float.isFinite(v)) return new IllegalArgumentException("cannot quantize non-finite value " + v + " at [" + c + ", " + r + "]");
            }
        return new IllegalArgumentException("non-finite Wgrad operand of " + rows + "x" + cols);
    }

    static IllegalArgumentException nonFinite(float[] x, int off, int cols, int r0, int r1, int c0, int c1) {
        for (int r = r0; r < r1; r++)
            for (int c = c0; c < c1; c++) {
                float v = x[off + r * cols + c];
                if (!Float.isFinite(v)) return new IllegalArgumentException("cannot quantize non-finite value " + v + " at [" + r + ", " + c + "]");
            }
        return new IllegalArgumentException("non-finite tile at rows " + r0 + ".." + r1 + ", cols " + c0 + ".." + c1);
    }
}
