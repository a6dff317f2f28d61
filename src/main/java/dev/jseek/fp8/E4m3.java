package dev.jseek.fp8;

/**
 * FP8 E4M3FN ("float8_e4m3fn", spec A.3 and G) encode/decode for the FP8 training package.
 *
 * <p>TO BE REPLACED: this is a minimal, self-contained codec kept here only until {@code dev.jseek.tensor.Fp8}
 * (the full E4M3/E5M2 conversions, branch {@code kernels}) is on main; then {@link #encode} and {@link #decode}
 * delegate to {@code Fp8.floatToE4m3} / {@code Fp8.e4m3ToFloat} (same semantics: round to nearest even on the exact
 * float value, saturating to +-448, NaN to 0x7F|sign) and this class keeps only the GEMM decode trick.
 *
 * <p>Format: 1 sign, 4 exponent bits (bias 7), 3 mantissa bits; normal (-1)^s 2^(e-7) (1 + m/8) for e in 1..15,
 * subnormal (-1)^s 2^-6 (m/8); no infinities; only S.1111.111 (0x7F, 0xFF) is NaN; largest finite 448 (0x7E).
 */
public final class E4m3 {
    private E4m3() {}

    /** Largest finite E4M3 magnitude. */
    public static final float MAX = 448f;

    /**
     * {@link #decodeShifted} times this (2^120) is the code's value, exactly: the shifted decode puts the E4M3
     * exponent field into the float exponent field, i.e. biases it by 127 instead of 7.
     */
    public static final float SHIFT_UNDO = 0x1p120f;

    private static final float[] TABLE = new float[256];

    static {
        for (int c = 0; c < 256; c++) {
            int e = (c >> 3) & 0xF, m = c & 7;
            double v = (e == 15 && m == 7) ? Double.NaN : e == 0 ? m / 8.0 * 0x1p-6 : (1 + m / 8.0) * Math.scalb(1.0, e - 7);
            TABLE[c] = (float) ((c & 0x80) != 0 ? -v : v);
        }
    }

    /** The value of code {@code b} (exact; 0x7F/0xFF give NaN). */
    public static float decode(byte b) {
        return TABLE[b & 0xFF];
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
     * +-448 (0x7E/0xFE); NaN gives 0x7F with x's sign; -0 gives 0x80.
     */
    public static byte encode(float x) {
        int bits = Float.floatToRawIntBits(x);
        int sign = (bits >>> 24) & 0x80;
        int mag = bits & 0x7FFFFFFF;
        if (mag > 0x7F800000) return (byte) (sign | 0x7F);            // NaN
        if (mag >= 0x43E00000) return (byte) (sign | 0x7E);           // |x| >= 448 (incl. inf): saturate
        int code;
        if (mag < 0x3C800000) {                                       // |x| < 2^-6: subnormal step 2^-9
            // |x| * 2^9 is exact; rint is ties-to-even; a result of 8 is the smallest normal's code 0x08
            code = (int) Math.rint(Float.intBitsToFloat(mag) * 0x1p9f);
        } else {
            // keep the biased float exponent and the top 3 mantissa bits, round the 20 dropped bits half-even;
            // a mantissa carry moves into the exponent field by itself
            int keep = mag >>> 20, rem = mag & 0xFFFFF;
            if (rem > 0x80000 || (rem == 0x80000 && (keep & 1) != 0)) keep++;
            code = keep - (120 << 3);                                 // rebias the exponent 127 -> 7
            if (code > 0x7E) code = 0x7E;
        }
        return (byte) (sign | code);
    }
}
