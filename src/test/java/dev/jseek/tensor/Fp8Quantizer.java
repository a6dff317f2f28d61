package dev.jseek.tensor;

/**
 * FP8 E4M3FN weight quantization with 128x128 block scales (docs/architecture.md §2.3, DeepGEMM's per_block_cast_to_fp8 recipe):
 * for each block of a [rows, cols] weight (edge blocks are partial when a dim is not a multiple of 128, which is
 * the same as zero-padding since padding never raises the amax), amax = max(max|x|, 1e-4), scale = amax / 448
 * (float), code = e4m3(x / scale) with round-to-nearest-even and saturation to +-448 ({@link Fp8#floatToE4m3}). The scales are the
 * checkpoint's {@code weight_scale_inv} (a multiplier: x ~= decode(code) * scale), shape
 * [ceil(rows/128), ceil(cols/128)] row-major.
 *
 * <p>Test scope: a plain scalar implementation kept as an independent oracle for the vectorized weight quantizer
 * ({@code dev.jseek.fp8.TileQuantizer#weight}) that production code (e.g. the FP8 checkpoint writer) uses.
 */
public final class Fp8Quantizer {
    private Fp8Quantizer() {}

    /** Largest finite E4M3FN value. */
    public static final float E4M3_MAX = Fp8.E4M3_MAX;
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
                    for (int c = c0; c < c1; c++) codes[r * cols + c] = Fp8.floatToE4m3(w[r * cols + c] / scale);
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
                out[i] = Fp8.e4m3ToFloat(q.codes()[i]) * q.scaleInv()[(r / Matrix.BLOCK) * bc + c / Matrix.BLOCK];
            }
        return out;
    }
}
