package dev.jseek.fp8;

import dev.jseek.tensor.Fp8;

/**
 * FP8 E4M3FN ("float8_e4m3fn", report §3.3; docs/architecture.md §2.3) for the FP8 training package: thin delegates to the canonical
 * conversions in {@link Fp8} ({@link #encode} = {@link Fp8#floatToE4m3}, round to nearest even on the exact float
 * value, saturating to +-448, NaN to 0x7F|sign; {@link #decode} = {@link Fp8#e4m3ToFloat}) plus the GEMM decode bit
 * trick ({@link #decodeShifted}, {@link #SHIFT_UNDO}) that {@link Fp8Gemm} vectorizes.
 *
 * <p>Format: 1 sign, 4 exponent bits (bias 7), 3 mantissa bits; normal (-1)^s 2^(e-7) (1 + m/8) for e in 1..15,
 * subnormal (-1)^s 2^-6 (m/8); no infinities; only S.1111.111 (0x7F, 0xFF) is NaN; largest finite 448 (0x7E).
 */
public final class E4m3 {
    private E4m3() {}

    /** Largest finite E4M3 magnitude ({@link Fp8#E4M3_MAX}). */
    public static final float MAX = Fp8.E4M3_MAX;

    /**
     * {@link #decodeShifted} times this (2^120) is the code's value, exactly: the shifted decode puts the E4M3
     * exponent field into the float exponent field, i.e. biases it by 127 instead of 7.
     */
    public static final float SHIFT_UNDO = 0x1p120f;

    /** The value of code {@code b} (exact; 0x7F/0xFF give NaN). Delegates to {@link Fp8#e4m3ToFloat}. */
    public static float decode(byte b) {
        return Fp8.e4m3ToFloat(b);
    }

    /**
     * The value of code {@code b} times 2^-120, exactly, by bit manipulation alone: the sign to bit 31 and the 7
     * exponent+mantissa bits to bits 20..26 of a float. E4M3 subnormals (e = 0) land on float subnormals with the
     * same mantissa, so the identity holds for them too. Not meaningful for the NaN codes.
     */
    public static float decodeShifted(byte b) {
        return Float.intBitsToFloat(((b & 0x80) << 24) | ((b & 0x7F) << 20));
    }

    /**
     * The E4M3 code nearest to {@code x} (ties to the even code), saturating: finite |x| > 448 and infinities give
     * +-448 (0x7E/0xFE); NaN gives 0x7F with x's sign; -0 gives 0x80. Delegates to {@link Fp8#floatToE4m3}.
     */
    public static byte encode(float x) {
        return Fp8.floatToE4m3(x);
    }
}
