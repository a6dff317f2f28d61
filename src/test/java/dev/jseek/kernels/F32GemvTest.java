package dev.jseek.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jseek.kernels.scalar.ScalarF32Gemv;
import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The one-token F32 GEMV ({@link F32Gemv}) against its scalar twin {@link ScalarF32Gemv}, bit for bit, and against
 * the chunked path that 2-token products take (a token's outputs keep their bits alone or in a batch). The suite
 * reruns this class at -Djseek.vectorBits=256.
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
    void equalsScalarTwinAndTheBatchedPathBitwise() {
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
                    Gemm.linear(got, 2, x, 3, 1, w, acc);
                    assertBits(want, got, 2, 2 + n - n % 4, what);
                    // the same token as the first of a 2-token product (the chunked path's 4x2 tiles): same bits, every row
                    float[] pair = y0.clone();
                    Gemm.linear(pair, 2, x, 3, 2, w, acc);
                    assertBits(pair, got, 2, 2 + n, what + " vs 2-token product");
                    // row ranges starting on whole groups (Gemm.linearRows, the pool's split) give the same bits
                    if (!acc) {
                        float[] parts = y0.clone();
                        int cut = Math.min(n, 4);
                        Gemm.linearRows(parts, 2, x, 3, w, 0, cut);
                        Gemm.linearRows(parts, 2 + cut, x, 3, w, cut, n);
                        assertBits(got, parts, 2, 2 + n, what + " in row ranges");
                    }
                }
    }
}
