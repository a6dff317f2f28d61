package dev.jseek.fp8;

/**
 * A model of a reduced-precision tensor-core accumulator (report §3.3.2 "Increased Accumulation Precision";
 * Hopper's FP8 GEMM accumulation keeps "around 14 bits").
 *
 * <p>What is emulated, exactly: the K products of a dot product are taken in consecutive chunks of {@code chunk}
 * elements (4 or 32, say; a chunk never straddles a 128-wide scale group, so chunk must divide 128). Each chunk's sum
 * of decoded FP8 products is computed exactly (in double; it is exact there). The chunk sum is added to the running
 * accumulator and the result is rounded to {@code bits} significant bits (the leading one included: FP32 has 24,
 * BF16 8) with {@link Rounding}; the exponent range is not limited. Not modelled: the alignment/truncation of
 * products inside a chunk, and any limit on the exponent range. Only the register width of the accumulator is.
 *
 * <p>Used by {@link Fp8Gemm#limited} in two ways: without promotion (the whole-K sum lives in this accumulator; the
 * per-group scales sA*sB are folded into each chunk's sum in double, a rounding of 2^-53 relative, so that the
 * same quantized operands can be compared and only the accumulation differs) and with promotion every 128 elements
 * (the group's sum lives in this accumulator, then goes to FP32 with the scales, which is what DeepGEMM does).
 *
 * @param bits significant bits kept, 2..24
 * @param chunk elements added per accumulator update, a divisor of 128
 */
public record LimitedAccumulator(int bits, int chunk, Rounding rounding) {
    /** How the accumulator is rounded after each update. */
    public enum Rounding { NEAREST_EVEN, TOWARD_ZERO }

    /** 14 significant bits, updated every 32 products (one FP8 WGMMA K step), truncating. */
    public static final LimitedAccumulator HOPPER_LIKE = new LimitedAccumulator(14, 32, Rounding.TOWARD_ZERO);

    public LimitedAccumulator {
        if (bits < 2 || bits > 24) throw new IllegalArgumentException("accumulator bits must be in 2..24, got " + bits);
        if (chunk < 1 || TileQuantizer.TILE % chunk != 0)
            throw new IllegalArgumentException("accumulator chunk must divide " + TileQuantizer.TILE + ", got " + chunk);
        if (rounding == null) throw new IllegalArgumentException("rounding is null");
    }

    /** x rounded to {@link #bits} significant bits (exact arithmetic in double; zero and non-finite pass through). */
    public double round(double x) {
        if (x == 0 || !Double.isFinite(x)) return x;
        double ulp = Math.scalb(1.0, Math.getExponent(x) - (bits - 1));
        double q = x / ulp;                                  // exact: |q| in [2^(bits-1), 2^bits)
        q = rounding == Rounding.NEAREST_EVEN ? Math.rint(q) : (q < 0 ? Math.ceil(q) : Math.floor(q));
        return q * ulp;
    }
}
