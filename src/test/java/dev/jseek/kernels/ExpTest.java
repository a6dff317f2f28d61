package dev.jseek.kernels;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/**
 * {@link Exp}: the vector version equals the scalar version bit for bit (cold, i.e. interpreted, and after the JIT
 * has compiled both), and both are within 2 ulp of e^x computed in double and rounded to float (the oracle).
 */
class ExpTest {
    static final int L = Vec.LANES;

    private static float[] inputs() {
        Random r = new Random(5);
        float[] x = new float[64 * L];
        float[] special = {0f, -0f, 1f, -1f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Exp.XMAX,
                Math.nextUp(Exp.XMAX), Exp.XMIN, Math.nextDown(Exp.XMIN), 88.7f, -87.3f, -100f, 100f, Float.MIN_VALUE,
                -Float.MIN_VALUE, 1e-30f, 0.34657359f, -0.34657359f, 0.5f * 0.6931472f, 30f, -30f};
        System.arraycopy(special, 0, x, 0, special.length);
        for (int i = special.length; i < x.length; i++) x[i] = (float) (r.nextGaussian() * (i % 3 == 0 ? 40 : 4));
        return x;
    }

    static volatile float sinkField;

    private static void checkVectorEqualsScalar(String when) {
        float[] x = inputs(), v = new float[x.length];
        for (int i = 0; i < x.length; i += L) Exp.exp(FloatVector.fromArray(Vec.F, x, i)).intoArray(v, i);
        for (int i = 0; i < x.length; i++)
            assertEquals(Float.floatToIntBits(Exp.exp(x[i])), Float.floatToIntBits(v[i]), when + ": exp(" + x[i] + ")");
    }

    @Test
    void vectorEqualsScalarBitwiseColdAndCompiled() {
        checkVectorEqualsScalar("cold");
        float[] x = inputs(), v = new float[x.length];
        float sink = 0;
        for (int rep = 0; rep < 3000; rep++) {                  // enough calls for C2 to compile both versions
            for (int i = 0; i < x.length; i += L) Exp.exp(FloatVector.fromArray(Vec.F, x, i)).intoArray(v, i);
            for (float f : x) sink += Exp.exp(f);
        }
        sinkField = sink;
        checkVectorEqualsScalar("compiled");
    }

    @Test
    void within2UlpOfTheDoubleResultAndEdges() {
        int worst = 0;
        float worstX = 0;
        // every 1891st float bit pattern in [XMIN, XMAX] (about 1.1M values)
        for (int sign = 0; sign < 2; sign++) {
            float lim = sign == 0 ? Exp.XMAX : -Exp.XMIN;
            for (int b = 0; b <= Float.floatToIntBits(lim); b += 61 * 31) {
                float x = Float.intBitsToFloat(b | (sign << 31));
                float want = (float) Math.exp(x), got = Exp.exp(x);
                int ulps = Math.abs(Float.floatToIntBits(got) - Float.floatToIntBits(want));
                if (ulps > worst) { worst = ulps; worstX = x; }
            }
        }
        assertTrue(worst <= 2, "worst " + worst + " ulp at x = " + worstX);
        assertEquals(1f, Exp.exp(0f));
        assertEquals(1f, Exp.exp(-0f));
        assertTrue(Float.isNaN(Exp.exp(Float.NaN)));
        assertEquals(Float.POSITIVE_INFINITY, Exp.exp(Float.POSITIVE_INFINITY));
        assertEquals(Float.POSITIVE_INFINITY, Exp.exp(Math.nextUp(Exp.XMAX)));
        assertEquals(0f, Exp.exp(Float.NEGATIVE_INFINITY));
        assertEquals(0f, Exp.exp(Math.nextDown(Exp.XMIN)));
        assertEquals(2.4e38f, Exp.exp(Exp.XMAX), 0.01e38f);
        assertTrue(Math.abs(Float.floatToIntBits(Exp.exp(Exp.XMIN)) - Float.floatToIntBits((float) Math.exp(Exp.XMIN))) <= 2);
    }
}
