package dev.jseek.tensor;

/**
 * FP8 E4M3FN weight quantization with 128x128 block scales (spec A.3, the [DG] per_block_cast_to_fp8 recipe):
 * for each block of a [rows, cols] weight (edge blocks are partial when a dim is not a multiple of 128, which is
 * the same as zero-padding since padding never raises the amax), amax = max(max|x|, 1e-4), scale = amax / 448
 * (float), code = e4m3(x / scale) with round-to-nearest-even and saturation to +-448. The scales are the
 * checkpoint's {@code weight_scale_inv} (a multiplier: x ~= decode(code) * scale), shape
 * [ceil(rows/128), ceil(cols/128)] row-major.
 */
public final class Fp8Quantizer {
    private Fp8Quantizer() {}

    /** Largest finite E4M3FN value. */
    public static final float E4M3_MAX = 448f;
    /** Lower clamp of the block amax (avoids a zero scale on all-zero blocks). */
    public static final float AMAX_FLOOR = 1e-4f;

    /** FP8 codes [rows * cols] (row-major, one byte each) and F32 block scales [ceil(rows/128) * ceil(cols/128)]. */
    public record Quantized(int rows, int cols, byte[] codes, float[] scaleInv) {}

    /** Quantizes the row-major [rows, cols] weight {@code w}; every value must be finite. */
    public static Quantized quantize(float[] w, int rows, int cols) {
        if (rows < 0 || cols < 0 || (long) rows * cols > w.length)
            throw new IllegalArgumentException("weight of " + w.length + " floats cannot be " + rows + "x" + cols);
        int br = Matrix.scaleRows(rows), bc = Matrix.scaleCols(cols), B = Matrix.BLOCK;
        byte[] codes = new byte[rows * cols];
        float[] scales = new float[br * bc];
        for (int bi = 0; bi < br; bi++) {
            int r0 = bi * B, r1 = Math.min(rows, r0 + B);
            for (int bj = 0; bj < bc; bj++) {
                int c0 = bj * B, c1 = Math.min(cols, c0 + B);
                float amax = 0f;
                for (int r = r0; r < r1; r++)
                    for (int c = c0; c < c1; c++) {
                        float v = w[r * cols + c];
                        if (!Float.isFinite(v)) throw new IllegalArgumentException("non-finite weight " + v + " at [" + r + ", " + c + "]");
                        amax = Math.max(amax, Math.abs(v));
                    }
                float scale = Math.max(amax, AMAX_FLOOR) / E4M3_MAX;
                scales[bi * bc + bj] = scale;
                for (int r = r0; r < r1; r++)
                    for (int c = c0; c < c1; c++) codes[r * cols + c] = encodeE4M3(w[r * cols + c] / scale);
            }
        }
        return new Quantized(rows, cols, codes, scales);
    }

    /** decode(code) * scale in float, row-major [rows, cols]. */
    public static float[] dequantize(Quantized q) {
        int bc = Matrix.scaleCols(q.cols());
        float[] out = new float[q.rows() * q.cols()];
        for (int r = 0; r < q.rows(); r++)
            for (int c = 0; c < q.cols(); c++) {
                int i = r * q.cols() + c;
                out[i] = decodeE4M3(q.codes()[i]) * q.scaleInv()[(r / Matrix.BLOCK) * bc + c / Matrix.BLOCK];
            }
        return out;
    }

    /**
     * Float -> E4M3FN code, round-to-nearest-even, saturating: |x| >= 448 (and infinities) give +-448 (0x7E),
     * NaN gives 0x7F with x's sign, -0 gives 0x80.
     */
    static byte encodeE4M3(float x) {
        int sign = (Float.floatToRawIntBits(x) >>> 31) << 7;
        if (Float.isNaN(x)) return (byte) (sign | 0x7F);
        float a = Math.abs(x);
        if (a >= E4M3_MAX) return (byte) (sign | 0x7E);
        int code;
        if (a < 0x1p-6f) {
            code = (int) Math.rint(a * 512.0); // subnormal step 2^-9; 8 means 2^-6 = exponent 1, mantissa 0
        } else {
            int e = Math.getExponent(a);                          // -6 .. 8
            int q = (int) Math.rint(Math.scalb((double) a, 3 - e)); // 8 .. 16: 1.mmm scaled by 8, rounded half-even
            if (q == 16) { e++; q = 8; }
            code = ((e + 7) << 3) | (q - 8);
            if (code > 0x7E) code = 0x7E;
        }
        return (byte) (sign | code);
    }

    /** E4M3FN code -> float (exact). */
    static float decodeE4M3(byte b) {
        int v = b & 0xFF;
        float sign = (v & 0x80) != 0 ? -1f : 1f;
        int e = (v >> 3) & 0xF, m = v & 7;
        if (e == 15 && m == 7) return Float.NaN;
        return sign * (e == 0 ? Math.scalb(m / 8f, -6) : Math.scalb(1 + m / 8f, e - 7));
    }
}
