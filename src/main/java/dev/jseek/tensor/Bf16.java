package dev.jseek.tensor;

/**
 * bfloat16 (1 sign, 8 exponent, 7 mantissa bits; the upper half of an IEEE binary32) conversions. Values are
 * carried as {@code short} bit patterns, little-endian in files.
 *
 * <p>{@link #fromFloat} rounds to nearest, ties to even (what PyTorch's {@code tensor.to(torch.bfloat16)} does);
 * overflow rounds to infinity as IEEE prescribes; NaN stays NaN (sign kept, quiet bit forced so that a NaN
 * whose payload sits only in the low 16 bits does not become infinity).
 */
public final class Bf16 {
    private Bf16() {}

    /** The float whose upper 16 bits are {@code b} (exact). */
    public static float toFloat(short b) {
        return Float.intBitsToFloat((b & 0xFFFF) << 16);
    }

    /** Rounds {@code f} to the nearest bfloat16 (ties to even); NaN maps to a quiet NaN of the same sign. */
    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) return (short) ((bits >>> 16) | 0x0040);
        int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
        return (short) (rounded >>> 16);
    }

    /** {@code f} rounded to bfloat16 precision and widened back to float. */
    public static float round(float f) {
        return toFloat(fromFloat(f));
    }
}
