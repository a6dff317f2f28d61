package dev.jseek.tensor;

/**
 * The two OCP 8-bit floating-point formats (report §3.3; docs/architecture.md §2.3), carried as {@code byte} bit patterns.
 *
 * <ul>
 *   <li><b>E4M3</b> ({@code float8_e4m3fn}, safetensors {@code F8_E4M3}): 1 sign, 4 exponent bits (bias 7),
 *       3 mantissa bits. Normal values (-1)^s 2^(e-7) (1 + m/8) for e in 1..15, subnormals (-1)^s 2^-6 (m/8);
 *       no infinities; only S.1111.111 (0x7F, 0xFF) is NaN, so the largest finite magnitude is
 *       1.75 * 2^8 = 448 (code 0x7E). Smallest subnormal 2^-9.</li>
 *   <li><b>E5M2</b> ({@code float8_e5m2}, {@code F8_E5M2}): 1 sign, 5 exponent bits (bias 15), 2 mantissa
 *       bits: the upper byte of an IEEE binary16, with infinities (0x7C, 0xFC) and NaNs (exponent 31,
 *       mantissa != 0). Largest finite 1.75 * 2^15 = 57344, smallest subnormal 2^-16.</li>
 * </ul>
 *
 * <p><b>Encoding rule.</b> All encoders round to nearest, ties to even, on the exact value of the float, and
 * produce signed zeros and subnormals as the formats define. Out-of-range values:
 * <ul>
 *   <li>{@link #floatToE4m3}: <b>saturating ("satfinite")</b>, the convention of NVIDIA's
 *       {@code __nv_cvt_float_to_fp8(..., __NV_SATFINITE, __NV_E4M3)} and the OCP spec's saturation mode: any
 *       finite value whose magnitude exceeds 448, and ±infinity, become ±448. NaN becomes NaN (0x7F with the
 *       sign of the input).</li>
 *   <li>{@link #floatToE5m2}: IEEE round-to-nearest-even with overflow to infinity: magnitudes from 61440
 *       (the midpoint between 57344 and the next binade's 65536, which rounds up because 57344's mantissa is
 *       odd) upwards, and infinities, become ±inf. NaN becomes NaN (0x7E | sign).</li>
 *   <li>{@link #floatToE5m2Sat}: the same but saturating: finite overflow and ±inf become ±57344.</li>
 * </ul>
 */
public final class Fp8 {
    private Fp8() {}

    public static final float E4M3_MAX = 448f;
    public static final float E5M2_MAX = 57344f;

    private static final float[] E4M3_TABLE = new float[256];
    private static final float[] E5M2_TABLE = new float[256];

    static {
        for (int c = 0; c < 256; c++) {
            E4M3_TABLE[c] = decode(c, 4, 3, 7, false);
            E5M2_TABLE[c] = decode(c, 5, 2, 15, true);
        }
    }

    private static float decode(int code, int eBits, int mBits, int bias, boolean ieee) {
        int sign = (code >> 7) & 1;
        int e = (code >> mBits) & ((1 << eBits) - 1);
        int m = code & ((1 << mBits) - 1);
        int eMax = (1 << eBits) - 1;
        float v;
        if (ieee && e == eMax) v = m == 0 ? Float.POSITIVE_INFINITY : Float.NaN;
        else if (!ieee && e == eMax && m == (1 << mBits) - 1) v = Float.NaN;
        else if (e == 0) v = Math.scalb((float) m, 1 - bias - mBits);
        else v = Math.scalb((float) ((1 << mBits) | m), e - bias - mBits);
        return sign != 0 ? -v : v;
    }

    /** The value of the E4M3 code {@code b} (exact; 0x7F/0xFF give NaN). */
    public static float e4m3ToFloat(byte b) {
        return E4M3_TABLE[b & 0xFF];
    }

    /** The value of the E5M2 code {@code b} (exact; exponent 31 gives ±inf or NaN). */
    public static float e5m2ToFloat(byte b) {
        return E5M2_TABLE[b & 0xFF];
    }

    /** A copy of the 256-entry E4M3 decode table (index = code & 0xFF). */
    public static float[] e4m3Table() {
        return E4M3_TABLE.clone();
    }

    /** A copy of the 256-entry E5M2 decode table (index = code & 0xFF). */
    public static float[] e5m2Table() {
        return E5M2_TABLE.clone();
    }

    /** {@code f} to E4M3: round to nearest even, saturating to ±448 (see the class comment); NaN to NaN. */
    public static byte floatToE4m3(float f) {
        int sign = (Float.floatToRawIntBits(f) >>> 24) & 0x80;
        if (Float.isNaN(f)) return (byte) (sign | 0x7F);
        int mag = encodeMagnitude(Math.abs(f), 3, 7, 0x7E);
        return (byte) (sign | mag);
    }

    /** {@code f} to E5M2: round to nearest even, IEEE overflow to ±inf (see the class comment); NaN to NaN. */
    public static byte floatToE5m2(float f) {
        int sign = (Float.floatToRawIntBits(f) >>> 24) & 0x80;
        if (Float.isNaN(f)) return (byte) (sign | 0x7E);
        int mag = encodeMagnitude(Math.abs(f), 2, 15, 0x7C);
        return (byte) (sign | mag);
    }

    /** {@code f} to E5M2: round to nearest even, saturating to ±57344 (also for ±inf); NaN to NaN. */
    public static byte floatToE5m2Sat(float f) {
        int sign = (Float.floatToRawIntBits(f) >>> 24) & 0x80;
        if (Float.isNaN(f)) return (byte) (sign | 0x7E);
        int mag = encodeMagnitude(Math.abs(f), 2, 15, 0x7B);
        return (byte) (sign | mag);
    }

    /**
     * Magnitude code of a >= 0 (a may be +inf) with mBits mantissa bits and the given bias, rounded to nearest
     * even; codes above {@code maxCode} are clamped to it (0x7E = 448 for E4M3; 0x7C = inf or 0x7B = 57344 for
     * E5M2). Computed in double, where all the scalings by powers of two are exact.
     */
    private static int encodeMagnitude(float a, int mBits, int bias, int maxCode) {
        if (a == Float.POSITIVE_INFINITY) return maxCode;
        double d = a;
        int minExp = 1 - bias;                          // exponent of the smallest normal
        if (d < Math.scalb(1.0, minExp)) {
            // subnormal range: units of 2^(minExp - mBits); a result of 1 << mBits is the smallest normal's code
            double q = Math.rint(Math.scalb(d, mBits - minExp));
            return (int) q;
        }
        int e = Math.getExponent(d);
        double frac = Math.scalb(d, -e) - 1.0;           // in [0, 1)
        double q = Math.rint(frac * (1 << mBits));        // ties to even: frac*2^mBits is exact
        int eField = e + bias;
        int mField = (int) q;
        if (mField == (1 << mBits)) { mField = 0; eField++; }
        if (eField > 15 + (mBits == 2 ? 16 : 0)) return maxCode;
        int code = (eField << mBits) | mField;
        return Math.min(code, maxCode);
    }
}
