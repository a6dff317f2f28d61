package dev.jseek.fp8;

/**
 * E5M6, the custom 12-bit float in which DeepSeek-V3's FP8 training caches the input of the Linear after attention
 * (the o_proj input) for the backward pass (report §3.3: "inputs of the Linear after attention ... cached in a custom E5M6
 * format and converted 1x128 -> 128x1 in backward", with power-of-two scaling factors).
 *
 * <p>Format (IEEE-like: binary16 with 6 mantissa bits), carried in the low 12 bits of a {@code short}: bit 11 sign,
 * bits 10..6 exponent e (bias 15), bits 5..0 mantissa m. Normal (e = 1..30): (-1)^s 2^(e-15) (1 + m/64); subnormal
 * (e = 0): (-1)^s 2^-14 (m/64); e = 31: infinity (m = 0) or NaN (m != 0). Largest finite {@link #MAX} = 2^15 (1 +
 * 63/64) = 65024 (code 0x7BF), smallest normal 2^-14, smallest subnormal 2^-20; relative spacing of normals 2^-6, so
 * rounding to nearest errs by at most 2^-7 of the value.
 *
 * <p>Tiled quantization ({@link #quantizeRows}, {@link #dequantizeRows}): 1 x 128 tiles along each row, one scale per
 * tile, {@link ScaleFormat#UE8M0}, i.e. a power of two at least amax / 448. A power-of-two scale makes the scaling
 * itself exact, so the only error is the E5M6 rounding of x / scale; and when backward converts the cached 1 x 128
 * tiles into 128 x 1 tiles (per channel, per 128 tokens), rescaling a dequantized value by another power of two only
 * shifts its exponent: the rescaling adds no error, and re-encoding in E5M6 is exact while the rescaled value stays
 * in E5M6's normal range (the only rounding left is that of a narrower target format such as E4M3).
 */
public final class E5m6 {
    private E5m6() {}

    /** Largest finite E5M6 magnitude, 2^15 (1 + 63/64). */
    public static final float MAX = 65024f;

    private static final int SIGN = 0x800;
    private static final int MAX_CODE = 0x7BF;                       // e = 30, m = 63
    private static final int NAN_CODE = 0x7E0;                       // e = 31, m = 0b100000 (quiet NaN)
    private static final int MAX_BITS = Float.floatToRawIntBits(MAX);
    private static final int MIN_NORMAL_BITS = Float.floatToRawIntBits(0x1p-14f);
    /** Float exponent bias 127 minus E5M6 bias 15, in the float exponent field. */
    private static final int REBIAS = (127 - 15) << 23;

    private static final float[] VALUES = new float[4096];

    static {
        for (int c = 0; c < 4096; c++) {
            int s = c >>> 11, e = (c >>> 6) & 31, m = c & 63;
            float v;
            if (e == 31) v = m == 0 ? Float.POSITIVE_INFINITY : Float.NaN;
            else if (e == 0) v = Math.scalb((float) m, -20);          // 2^-14 * m/64, exact
            else v = Float.intBitsToFloat(((e + 112) << 23) | (m << 17));
            VALUES[c] = s == 1 ? -v : v;
        }
    }

    /** The value of {@code code} (exact; only the low 12 bits are read). Infinity codes give +-infinity. */
    public static float decode(short code) {
        return VALUES[code & 0xFFF];
    }

    /**
     * The E5M6 code nearest to {@code x}, ties to the even mantissa, on the exact float value. Saturating: finite
     * values that round beyond {@link #MAX}, and infinities, give +-MAX (0x7BF / 0xFBF); NaN gives a NaN code (0x7E0
     * with x's sign); -0 gives 0x800.
     */
    public static short encode(float x) {
        int bits = Float.floatToRawIntBits(x);
        int sign = (bits >>> 20) & SIGN;
        int abs = bits & 0x7FFFFFFF;
        if (abs >= MIN_NORMAL_BITS) {                                  // E5M6 normal range, overflow, inf, NaN
            if (abs > 0x7F800000) return (short) (sign | NAN_CODE);
            // round the float's 23-bit mantissa to 6 bits: add half an ulp minus one, plus the kept lsb (ties to
            // even); a carry out of the mantissa correctly bumps the exponent. No int overflow: abs <= 0x7F800000.
            int r = abs + 0xFFFF + ((abs >>> 17) & 1);
            if (r > MAX_BITS) return (short) (sign | MAX_CODE);
            return (short) (sign | ((r - REBIAS) >>> 17));
        }
        // subnormal range |x| < 2^-14: the code is |x| / 2^-20 rounded to an integer (64 is the smallest normal's
        // code, so rounding up across the boundary is right). The scaling is exact; rint rounds ties to even.
        return (short) (sign | (int) Math.rint(Float.intBitsToFloat(abs) * 0x1p20f));
    }

    /**
     * Quantizes the row-major [rows, cols] matrix at {@code x[xOff]} in 1 x 128 tiles along each row (the last tile
     * of a row may be partial): per tile amax = max(max|x|, 1e-4), scale = {@link ScaleFormat#UE8M0}{@code
     * .scale(amax)} (a power of two >= amax / 448, so every scaled value has magnitude <= 448 and the scaling is
     * exact), code = {@link #encode}(x / scale). Codes are written row-major [rows, cols] at {@code codes[codeOff]},
     * scales row-major [rows, ceil(cols / 128)] at {@code scales[scaleOff]}; x ~= decode(code) * scale.
     *
     * @throws IllegalArgumentException on a NaN or infinite element (naming its row and column) or on bad
     *     shapes / offsets
     */
    public static void quantizeRows(float[] x, int xOff, int rows, int cols, short[] codes, int codeOff, float[] scales, int scaleOff) {
        int tiles = checkShapes(x.length, xOff, rows, cols, codes.length, codeOff, scales.length, scaleOff, "x");
        for (int r = 0; r < rows; r++) quantizeRow(x, xOff + r * cols, cols, codes, codeOff + r * cols, scales, scaleOff + r * tiles, r);
    }

    /** {@link #quantizeRows} of one row of {@code cols} values at x[xo] ({@code row}: its index, for the error). */
    private static void quantizeRow(float[] x, int xo, int cols, short[] codes, int co, float[] scales, int so, int row) {
        for (int t = 0, c0 = 0; c0 < cols; t++, c0 += TileQuantizer.TILE) {
            int c1 = Math.min(cols, c0 + TileQuantizer.TILE);
            float amax = 0f;
            for (int c = c0; c < c1; c++) amax = Math.max(amax, Math.abs(x[xo + c]));
            if (!(amax <= Float.MAX_VALUE)) {
                for (int c = c0; c < c1; c++)
                    if (!Float.isFinite(x[xo + c]))
                        throw new IllegalArgumentException("E5M6: cannot quantize non-finite value " + x[xo + c] + " at row " + row + ", column " + c);
            }
            float s = ScaleFormat.UE8M0.scale(amax);
            scales[so + t] = s;
            // s is a power of two in [2^-22, 2^120], so 1/s is exact and x * (1/s) is the correctly rounded x / s
            float inv = 1f / s;
            for (int c = c0; c < c1; c++) codes[co + c] = encode(x[xo + c] * inv);
        }
    }

    /**
     * The inverse of {@link #quantizeRows}: out[r, c] = decode(code[r, c]) * scale[r, c / 128] for the row-major
     * [rows, cols] codes at {@code codes[codeOff]} and scales [rows, ceil(cols / 128)] at {@code scales[scaleOff]},
     * written row-major at {@code out[outOff]}. With power-of-two scales the product is exact.
     */
    public static void dequantizeRows(short[] codes, int codeOff, float[] scales, int scaleOff, int rows, int cols, float[] out, int outOff) {
        int tiles = checkShapes(out.length, outOff, rows, cols, codes.length, codeOff, scales.length, scaleOff, "out");
        for (int r = 0; r < rows; r++) {
            int oo = outOff + r * cols, co = codeOff + r * cols, so = scaleOff + r * tiles;
            for (int t = 0, c0 = 0; c0 < cols; t++, c0 += TileQuantizer.TILE) {
                float s = scales[so + t];
                for (int c = c0, c1 = Math.min(cols, c0 + TileQuantizer.TILE); c < c1; c++) out[oo + c] = VALUES[codes[co + c] & 0xFFF] * s;
            }
        }
    }

    /** Validates the shapes and offsets; returns the number of tiles per row. */
    private static int checkShapes(int dataLen, int dataOff, int rows, int cols, int codeLen, int codeOff, int scaleLen, int scaleOff, String dataName) {
        if (rows < 0 || cols < 0) throw new IllegalArgumentException("E5M6: negative shape " + rows + "x" + cols);
        int tiles = (cols + TileQuantizer.TILE - 1) / TileQuantizer.TILE;
        long n = (long) rows * cols, ns = (long) rows * tiles;
        if (dataOff < 0 || dataOff + n > dataLen)
            throw new IllegalArgumentException("E5M6: " + dataName + " array of " + dataLen + " floats from offset " + dataOff + " cannot hold " + rows + "x" + cols);
        if (codeOff < 0 || codeOff + n > codeLen)
            throw new IllegalArgumentException("E5M6: codes array of " + codeLen + " from offset " + codeOff + " cannot hold " + rows + "x" + cols);
        if (scaleOff < 0 || scaleOff + ns > scaleLen)
            throw new IllegalArgumentException("E5M6: scales array of " + scaleLen + " from offset " + scaleOff + " cannot hold " + rows + "x" + tiles);
        return tiles;
    }
}
