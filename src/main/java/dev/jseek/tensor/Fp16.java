package dev.jseek.tensor;

/**
 * IEEE binary16 (1 sign, 5 exponent, 10 mantissa bits) conversions, as {@code short} bit patterns. Thin wrappers
 * over the JDK's {@link Float#float16ToFloat} / {@link Float#floatToFloat16} (exact decode; encode rounds to
 * nearest even, overflows to infinity, keeps NaN), so every dtype has the same kind of entry point.
 */
public final class Fp16 {
    private Fp16() {}

    /** The value of the binary16 bit pattern {@code h} (exact). */
    public static float toFloat(short h) {
        return Float.float16ToFloat(h);
    }

    /** {@code f} rounded to the nearest binary16 (ties to even; IEEE overflow to infinity; NaN stays NaN). */
    public static short fromFloat(float f) {
        return Float.floatToFloat16(f);
    }
}
