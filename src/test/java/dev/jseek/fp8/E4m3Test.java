package dev.jseek.fp8;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.io.Checkpoint;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The E4M3 codec against independent oracles: the format definition evaluated in double, a brute-force nearest-value
 * encoder (ties to the even code) over the 254 finite values, and the python oracle fixture of the io package.
 */
class E4m3Test {
    /** The value of code c from the format definition (sign, 4-bit exponent with bias 7, 3-bit mantissa). */
    static double definition(int c) {
        int s = (c >> 7) & 1, e = (c >> 3) & 15, m = c & 7;
        if (e == 15 && m == 7) return Double.NaN;
        double v = e == 0 ? Math.pow(2, -6) * m / 8.0 : Math.pow(2, e - 7) * (1 + m / 8.0);
        return s == 1 ? -v : v;
    }

    /** Brute force: the finite code nearest to x, ties to the even code, saturating beyond 448. */
    static byte oracle(float x) {
        if (Float.isNaN(x)) return (byte) ((Float.floatToRawIntBits(x) >>> 31) << 7 | 0x7F);
        boolean neg = (Float.floatToRawIntBits(x) >>> 31) != 0;
        double a = Math.min(Math.abs((double) x), 448.0);
        int best = 0;
        double bestD = Double.MAX_VALUE;
        for (int c = 0; c <= 0x7E; c++) {
            double d = Math.abs(definition(c) - a);
            if (d < bestD || (d == bestD && (c & 1) == 0)) { best = c; bestD = d; }
        }
        return (byte) (best | (neg ? 0x80 : 0));
    }

    @Test
    void decodeMatchesTheDefinitionForAll256Codes() {
        for (int c = 0; c < 256; c++) {
            double want = definition(c);
            float got = E4m3.decode((byte) c);
            if (Double.isNaN(want)) assertTrue(Float.isNaN(got), "code " + c);
            else assertEquals(want, got, 0.0, "code " + c);
        }
        assertEquals(448f, E4m3.decode((byte) 0x7E));
        assertEquals(0x1p-9f, E4m3.decode((byte) 0x01));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(E4m3.decode((byte) 0x80)));
    }

    @Test
    void shiftedDecodeIsTheValueTimes2ToTheMinus120IncludingSubnormals() {
        for (int c = 0; c < 256; c++) {
            if ((c & 0x7F) == 0x7F) continue;
            float v = E4m3.decode((byte) c), s = E4m3.decodeShifted((byte) c);
            assertEquals(Math.scalb((double) v, -120), (double) s, 0.0, "code " + c);
            assertEquals(Float.floatToRawIntBits(v), Float.floatToRawIntBits(s * E4m3.SHIFT_UNDO), "code " + c);
        }
    }

    @Test
    void everyFiniteCodeRoundTrips() {
        for (int c = 0; c < 256; c++)
            if ((c & 0x7F) != 0x7F) assertEquals((byte) c, E4m3.encode(E4m3.decode((byte) c)), "code " + c);
    }

    @Test
    void encoderMatchesBruteForceOnMidpointsNeighboursGridAndRandom() {
        // midpoints between consecutive magnitudes (ties), 64 floats either side of each, and the values themselves
        for (int c = 0; c < 0x7E; c++) {
            float mid = (float) ((definition(c) + definition(c + 1)) / 2);   // exact: values have <= 5 bits
            float lo = mid, hi = mid;
            for (int i = 0; i < 64; i++) {
                check(lo); check(-lo); check(hi); check(-hi);
                lo = Math.nextDown(lo); hi = Math.nextUp(hi);
            }
        }
        // every float in [0, 512] with the low 12 mantissa bits zero (about 270k values), both signs
        for (int bits = 0; Float.intBitsToFloat(bits) <= 512f; bits += 1 << 12) {
            check(Float.intBitsToFloat(bits));
            check(-Float.intBitsToFloat(bits));
        }
        SplittableRandom rnd = new SplittableRandom(7);
        for (int i = 0; i < 200_000; i++) {
            check((float) (rnd.nextGaussian() * Math.pow(2, rnd.nextInt(-14, 10))));
            check(Float.intBitsToFloat(rnd.nextInt()));                       // any bit pattern, NaNs and infinities too
        }
        for (float x : new float[] {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MAX_VALUE, 464f, 480f, 448f,
                Math.nextDown(464f), Float.MIN_VALUE, -Float.MIN_VALUE, 0x1p-10f, Math.nextUp(0x1p-10f), 0x1p-6f, Float.NaN})
            check(x);
        assertEquals((byte) 0x7E, E4m3.encode(1e30f));
        assertEquals((byte) 0xFE, E4m3.encode(Float.NEGATIVE_INFINITY));
        assertEquals((byte) 0x00, E4m3.encode(0x1p-10f));                    // tie between 0 and 2^-9: even is 0
        assertEquals((byte) 0x02, E4m3.encode(0x1.4p-8f));                    // 2.5 * 2^-9: tie between codes 2 and 3, even wins
    }

    private static void check(float x) {
        assertEquals(oracle(x), E4m3.encode(x), () -> "x = " + x + " (" + Float.toHexString(x) + ")");
    }

    @Test
    void encoderMatchesThePythonOracleFixture() {
        try (Checkpoint ck = Checkpoint.open(Path.of("src/test/resources/fp8/quant.safetensors"))) {
            float[] x = ck.floats("special_x");
            byte[] want = ck.segment("special_codes").toArray(ValueLayout.JAVA_BYTE);
            assertTrue(x.length > 4500);
            for (int i = 0; i < x.length; i++) assertEquals(want[i], E4m3.encode(x[i]), "x[" + i + "] = " + x[i]);
        }
    }
}
