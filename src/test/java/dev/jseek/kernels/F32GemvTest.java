package dev.jseek.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jseek.kernels.scalar.ScalarF32Gemv;
import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The one-token F32 GEMV ({@link F32Gemv}, the chunked path's one-token kernel when -Djseek.f32Tiles=false) against
 * its scalar twin {@link ScalarF32Gemv}, bit for bit, whole row groups and row ranges. The suite reruns this class at
 * -Djseek.vectorBits=256.
 */
class F32GemvTest {
    @Test
    void runsAtTheRequestedWidth() {
        String bits = System.getProperty("jseek.vectorBits");
        if (bits != null) assertEquals(Integer.parseInt(bits.trim()), Vec.F.vectorBitSize());
    }

    private static void assertBits(float[] want, float[] got, int from, int to, String what) {
        for (int i = from; i < to; i++)
            assertEquals(Float.floatToIntBits(want[i]), Float.floatToIntBits(got[i]), what + " at " + i + ": " + want[i] + " vs " + got[i]);
    }

    /** Ragged k (tails, odd block counts, several 512-wide chunks), rows in and past whole groups of 4, both storages. */
    @Test
    void equalsScalarTwinBitwise() {
        Random r = new Random(41);
        int[][] shapes = {{4, 1}, {4, 16}, {8, 33}, {9, 48}, {12, 100}, {16, 256}, {7, 512}, {20, 600}, {8, 1100}, {64, 1536}};
        for (int[] s : shapes)
            for (boolean offHeap : new boolean[] {true, false})
                for (boolean acc : new boolean[] {false, true}) {
                    int n = s[0], k = s[1];
                    Matrix w = TestWeights.random(DType.F32, n, k, r, offHeap);
                    float[] x = TestWeights.randn(r, 3 + 2 * k);
                    float[] y0 = TestWeights.randn(r, 2 + 2 * n);
                    String what = n + "x" + k + " offHeap=" + offHeap + " acc=" + acc;
                    float[] want = y0.clone(), got = y0.clone();
                    ScalarF32Gemv.linear(want, 2, x, 3, w, acc, Vec.LANES, Gemv.KCH);
                    int done = F32Gemv.rows(got, 2, x, 3, w, acc, 0, n, new float[4 * Vec.LANES]);
                    assertEquals(n - n % 4, done, what + ": whole groups done");
                    assertBits(want, got, 2, 2 + done, what);
                    assertBits(y0, got, 2 + done, got.length, what + ": rows past the whole groups untouched");
                    // row ranges starting on whole groups (the pool's split) give the same bits
                    float[] parts = y0.clone();
                    int cut = Math.min(n - n % 4, 4);
                    F32Gemv.rows(parts, 2, x, 3, w, acc, 0, cut, new float[4 * Vec.LANES]);
                    F32Gemv.rows(parts, 2, x, 3, w, acc, cut, n, new float[4 * Vec.LANES]);
                    assertBits(got, parts, 2, 2 + done, what + " in row ranges");
                }
    }
}
