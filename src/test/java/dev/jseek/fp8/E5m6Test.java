package dev.jseek.fp8;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The E5M6 codec and its 1 x 128 tile quantizer against independent oracles: the format definition evaluated in
 * double from the code's fields, a brute-force nearest-value encoder (exhaustive over the finite codes, ties to the
 * even mantissa, saturating), and a per-element recomputation of the tile quantizer in double.
 */
class E5m6Test {
    /** Non-negative finite codes 0 .. 0x7BF, in increasing order of value. */
    static final int FINITE = 0x7C0;
    static final double[] VAL = new double[FINITE];

    static {
        for (int c = 0; c < FINITE; c++) VAL[c] = definition(c);
    }

    /** The value of code c from the format definition (sign bit 11, 5-bit exponent with bias 15, 6-bit mantissa). */
    static double definition(int c) {
        int s = (c >> 11) & 1, e = (c >> 6) & 31, m = c & 63;
        double v;
        if (e == 31) v = m == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
        else if (e == 0) v = Math.pow(2, -14) * (m / 64.0);
        else v = Math.pow(2, e - 15) * (1 + m / 64.0);
        return s == 1 ? -v : v;
    }

    /**
     * Brute force: the finite code nearest to x (exhaustive over all non-negative finite codes, the sign applied
     * after), ties to the even mantissa, saturating beyond MAX; NaN gives a NaN code (checked separately).
     */
    static int oracle(double x, boolean negative) {
        double a = Math.min(Math.abs(x), 65024.0);
        int best = 0;
        double bestD = Double.MAX_VALUE;
        for (int c = 0; c < FINITE; c++) {
            double d = Math.abs(VAL[c] - a);
            if (d < bestD || (d == bestD && (c & 1) == 0)) { best = c; bestD = d; }
        }
        return best | (negative ? 0x800 : 0);
    }

    static int oracle(float x) {
        return oracle(x, (Float.floatToRawIntBits(x) >>> 31) != 0);
    }

    static int code(float x) {
        return E5m6.encode(x) & 0xFFFF;
    }

    @Test
    void decodeMatchesTheDefinitionForAll4096Codes() {
        for (int c = 0; c < 4096; c++) {
            double want = definition(c);
            float got = E5m6.decode((short) c);
            if (Double.isNaN(want)) assertTrue(Float.isNaN(got), "code " + c);
            else assertEquals(want, got, 0.0, "code " + c);
        }
        assertEquals(65024f, E5m6.decode((short) 0x7BF));
        assertEquals(E5m6.MAX, E5m6.decode((short) 0x7BF));
        assertEquals(-65024f, E5m6.decode((short) 0xFBF));
        assertEquals(0x1p-20f, E5m6.decode((short) 0x001));
        assertEquals(0x1p-14f, E5m6.decode((short) 0x040));
        assertEquals(Float.POSITIVE_INFINITY, E5m6.decode((short) 0x7C0));
        assertEquals(Float.NEGATIVE_INFINITY, E5m6.decode((short) 0xFC0));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(E5m6.decode((short) 0x800)));
        assertEquals(Float.floatToRawIntBits(0f), Float.floatToRawIntBits(E5m6.decode((short) 0x000)));
    }

    @Test
    void encodeOfDecodeIsTheIdentityOnFiniteCodesAndInfinitySaturates() {
        for (int c = 0; c < 4096; c++) {
            int e = (c >> 6) & 31, m = c & 63;
            float v = E5m6.decode((short) c);
            if (e != 31) assertEquals(c, code(v), "code " + c);     // both zeros included
            else if (m == 0) assertEquals((c & 0x800) | 0x7BF, code(v), "infinity code " + c + " saturates");
            else assertTrue(isNanCode(code(v)), "NaN code " + c);
        }
    }

    static boolean isNanCode(int c) {
        return (c & ~0xFFF) == 0 && ((c >> 6) & 31) == 31 && (c & 63) != 0;
    }

    @Test
    void specialValues() {
        assertEquals(0x7BF, code(Float.POSITIVE_INFINITY));
        assertEquals(0xFBF, code(Float.NEGATIVE_INFINITY));
        assertEquals(0x7BF, code(Float.MAX_VALUE));
        assertEquals(0xFBF, code(-Float.MAX_VALUE));
        assertEquals(0x7BF, code(65280f));       // the tie above MAX (rounds to 2^16 in IEEE) saturates
        assertEquals(0x7BF, code(65279f));
        assertEquals(0x000, code(0f));
        assertEquals(0x800, code(-0f));
        assertEquals(0x000, code(Float.MIN_VALUE));
        assertEquals(0x800, code(-Float.MIN_VALUE));
        assertEquals(0x000, code(0x1p-21f));     // half the smallest subnormal: tie to even (zero)
        assertEquals(0x001, code(Math.nextUp(0x1p-21f)));
        assertEquals(0x002, code(3 * 0x1p-21f)); // 1.5 * 2^-20: tie to even mantissa 2
        for (float nan : new float[] {Float.NaN, -Float.NaN, Float.intBitsToFloat(0x7F800001), Float.intBitsToFloat(0xFFC00000)}) {
            int c = code(nan);
            assertTrue(isNanCode(c), "NaN " + Integer.toHexString(Float.floatToRawIntBits(nan)) + " -> " + Integer.toHexString(c));
            assertTrue(Float.isNaN(E5m6.decode((short) c)));
            assertEquals(Float.floatToRawIntBits(nan) >>> 31, c >>> 11, "NaN keeps its sign");
        }
    }

    @Test
    void encodeIsTheNearestCodeTiesToEvenOnRandomAndMidpointInputs() {
        SplittableRandom rnd = new SplittableRandom(0xE5E6);
        int n = 0;
        // log-uniform magnitudes from 2^-26 to 2^17 (E5M6 zero / subnormal / normal / overflow), both signs
        for (int i = 0; i < 200_000; i++) {
            float x = (float) Math.pow(2, rnd.nextDouble(-26, 17));
            if (rnd.nextBoolean()) x = -x;
            check(x);
            n++;
        }
        // arbitrary float bit patterns (float subnormals, huge values), NaN excluded
        for (int i = 0; i < 20_000; i++) {
            float x = Float.intBitsToFloat(rnd.nextInt());
            if (Float.isNaN(x)) continue;
            check(x);
            n++;
        }
        // every midpoint between adjacent representable values (plus the one above MAX), its float neighbours
        for (int c = 0; c < FINITE; c++) {
            double hi = c + 1 < FINITE ? VAL[c + 1] : 65536.0;
            double mid = (VAL[c] + hi) / 2;
            float f = (float) mid;
            assertEquals(mid, f, 0.0, "midpoint above code " + c + " is a float");
            for (float x : new float[] {f, Math.nextUp(f), Math.nextDown(f), (float) VAL[c]}) {
                check(x);
                check(-x);
                n += 2;
            }
        }
        assertTrue(n > 200_000);
    }

    private static void check(float x) {
        int want = oracle(x), got = code(x);
        if (want != got)
            fail("encode(" + x + " = 0x" + Integer.toHexString(Float.floatToRawIntBits(x)) + "): got 0x" + Integer.toHexString(got)
                    + ", nearest is 0x" + Integer.toHexString(want));
    }

    // ---- tiled quantization ----

    /** A [rows, cols] matrix whose 128-wide tiles have very different magnitudes, with zeros and a zero tile. */
    static float[] matrix(SplittableRandom rnd, int rows, int cols) {
        float[] x = new float[rows * cols];
        for (int r = 0; r < rows; r++)
            for (int t = 0; t * 128 < cols; t++) {
                double tileMag = Math.pow(2, rnd.nextDouble(-30, 30));
                boolean zeroTile = r == 1 && t == 1;
                for (int c = t * 128; c < Math.min(cols, t * 128 + 128); c++) {
                    double v = zeroTile || rnd.nextInt(50) == 0 ? 0 : tileMag * Math.pow(2, rnd.nextDouble(-30, 0));
                    if (rnd.nextBoolean()) v = -v;
                    x[r * cols + c] = (float) v;
                }
            }
        x[0] = -0f;
        return x;
    }

    /** The power-of-two tile scale computed independently in double: 2^ceil(log2(max(amax, 1e-4) / 448)). */
    static double refScale(double amax) {
        double q = Math.max(amax, (double) 1e-4f) / 448.0;
        double p = Math.scalb(1.0, Math.getExponent(q));
        return p == q ? p : 2 * p;
    }

    @Test
    void quantizeRowsMatchesAPerElementComputationAndTheErrorBound() {
        SplittableRandom rnd = new SplittableRandom(7);
        int rows = 9, cols = 700, tiles = 6;                  // last tile of each row is partial (60 columns)
        int xOff = 3, codeOff = 5, scaleOff = 2, outOff = 4;
        float[] x = new float[xOff + rows * cols];
        System.arraycopy(matrix(rnd, rows, cols), 0, x, xOff, rows * cols);
        short[] codes = new short[codeOff + rows * cols];
        float[] scales = new float[scaleOff + rows * tiles + 1];
        scales[scaleOff + rows * tiles] = 123f;               // sentinel beyond the scales
        E5m6.quantizeRows(x, xOff, rows, cols, codes, codeOff, scales, scaleOff);
        float[] out = new float[outOff + rows * cols];
        E5m6.dequantizeRows(codes, codeOff, scales, scaleOff, rows, cols, out, outOff);
        assertEquals(123f, scales[scaleOff + rows * tiles]);
        for (int i = 0; i < scaleOff; i++) assertEquals(0f, scales[i]);

        int normals = 0, subnormals = 0;
        for (int r = 0; r < rows; r++)
            for (int t = 0; t < tiles; t++) {
                double amax = 0;
                for (int c = t * 128; c < Math.min(cols, t * 128 + 128); c++) amax = Math.max(amax, Math.abs(x[xOff + r * cols + c]));
                double s = refScale(amax);
                float got = scales[scaleOff + r * tiles + t];
                assertEquals(s, got, 0.0, "scale of row " + r + " tile " + t);
                assertEquals(0, Float.floatToRawIntBits(got) & 0x7FFFFF, "scale is a power of two");
                for (int c = t * 128; c < Math.min(cols, t * 128 + 128); c++) {
                    float xv = x[xOff + r * cols + c];
                    double y = xv / s;                        // exact in double
                    assertTrue(Math.abs(y) <= 448.0, "scaled value " + y);
                    int want = oracle(y, (Float.floatToRawIntBits(xv) >>> 31) != 0);
                    int gotCode = codes[codeOff + r * cols + c] & 0xFFFF;
                    assertEquals(want, gotCode, "code at [" + r + ", " + c + "] of " + xv);
                    float deq = (float) (VAL[want & 0x7FF] * s * ((want & 0x800) != 0 ? -1 : 1));
                    float o = out[outOff + r * cols + c];
                    assertEquals(Float.floatToRawIntBits(deq), Float.floatToRawIntBits(o), "dequantized [" + r + ", " + c + "]");
                    double err = Math.abs((double) o - xv);
                    // Bound: y = x / s is exact (s a power of two). For |y| >= 2^-14, y lies in a binade
                    // [2^k, 2^(k+1)) whose E5M6 spacing is 2^(k-6); rounding to nearest errs by at most half of it,
                    // 2^(k-7) <= 2^-7 |y|; multiplying by s is exact, so |deq - x| <= 2^-7 |x|. For |y| < 2^-14
                    // (subnormal spacing 2^-20) the error is at most 2^-21 in y, i.e. |deq - x| <= 2^-21 s.
                    if (Math.abs(y) >= 0x1p-14) {
                        assertTrue(err <= 0x1p-7 * Math.abs(xv), "normal error " + err + " at " + xv);
                        normals++;
                    } else {
                        assertTrue(err <= 0x1p-21 * s, "subnormal error " + err + " at " + xv + " scale " + s);
                        subnormals++;
                    }
                }
            }
        assertTrue(normals > 1000 && subnormals > 100, normals + " normals, " + subnormals + " subnormals");
        // the leading -0 survives, the zero tile gets the floored scale 2^ceil(log2(1e-4/448)) = 2^-22
        assertEquals(0x800, codes[codeOff] & 0xFFFF);
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(out[outOff]));
        assertEquals(0x1p-22f, scales[scaleOff + tiles + 1]);
    }

    @Test
    void maximalTileUsesTheTopOfTheScaledRangeExactly() {
        // amax = 448 * 2^k exactly gives scale 2^k and the code of 448; a tiny column count is one partial tile
        float[] x = {448f * 0x1p-10f, -3f * 0x1p-10f, 0.5f * 0x1p-10f};
        short[] codes = new short[3];
        float[] scales = new float[1], out = new float[3];
        E5m6.quantizeRows(x, 0, 1, 3, codes, 0, scales, 0);
        assertEquals(0x1p-10f, scales[0]);
        E5m6.dequantizeRows(codes, 0, scales, 0, 1, 3, out, 0);
        assertArrayEquals(x, out);                            // all three are E5M6 values times 2^-10
    }

    @Test
    void nonFiniteInputNamesRowAndColumn() {
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            float[] x = new float[3 * 200];
            x[2 * 200 + 130] = bad;
            var e = assertThrows(IllegalArgumentException.class,
                    () -> E5m6.quantizeRows(x, 0, 3, 200, new short[600], 0, new float[6], 0));
            assertTrue(e.getMessage().contains("row 2, column 130") && e.getMessage().contains(String.valueOf(bad)), e.getMessage());
        }
        var e = assertThrows(IllegalArgumentException.class,
                () -> E5m6.quantizeRows(new float[600], 0, 3, 200, new short[600], 0, new float[5], 0));
        assertTrue(e.getMessage().contains("scales"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> E5m6.dequantizeRows(new short[599], 0, new float[6], 0, 3, 200, new float[600], 0));
        assertTrue(e.getMessage().contains("codes"), e.getMessage());
    }
}
