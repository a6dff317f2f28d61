package dev.jseek.kernels;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.kernels.scalar.ScalarQuantGemv;
import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The fused Q8_0 GEMV ({@link QuantGemv}: the one-token row kernel and the 2- to 16-token tiles) against its bitwise
 * scalar twin {@link ScalarQuantGemv#q8_0} (the same multiplies, fused multiply-adds and lane sum in scalar code),
 * at the lane count it runs with. The suite reruns this class at -Djseek.vectorBits=256.
 */
class Q8_0GemvTest {
    @Test
    void everyTokenCountEqualsTheScalarTwinBitForBit() {
        String bits = System.getProperty("jseek.vectorBits");           // set by the vector-256 rerun of this class
        if (bits != null) assertEquals(Integer.parseInt(bits.trim()), Vec.LANES * 32);
        SplittableRandom r = new SplittableRandom(19);
        boolean ordersDiffer = false;
        try (Arena a = Arena.ofShared()) {
            for (int[] shape : new int[][] {{9, 32}, {13, 128}, {6, 160}, {21, 512}, {5, 1536}}) {
                int n = shape[0], k = shape[1];
                Matrix w = QuantKernelsTest.onNative(a, DType.Q8_0, n, k, QuantKernelsTest.randomWeight(DType.Q8_0, n, k, r), 3);
                for (int m : new int[] {1, 2, 3, 4, 5, 7, 8, 9, 16}) {
                    float[] x = new float[m * k + 5];
                    for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
                    for (boolean acc : new boolean[] {false, true}) {
                        float[] y = new float[m * n + 3], want = new float[m * n + 3], other = new float[m * n + 3];
                        for (int i = 0; i < y.length; i++) y[i] = want[i] = other[i] = (float) r.nextGaussian();
                        Gemm.linear(y, 1, x, 5, m, w, acc);
                        ScalarQuantGemv.linearQ8_0(want, 1, x, 5, m, w, acc, Vec.LANES, QuantGemv.Q8_TREE);
                        ScalarQuantGemv.linearQ8_0(other, 1, x, 5, m, w, acc, Vec.LANES, !QuantGemv.Q8_TREE);
                        for (int i = 0; i < y.length; i++) {
                            assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(y[i]), n + "x" + k + " m=" + m + " acc=" + acc + " at " + i);
                            ordersDiffer |= want[i] != other[i];
                        }
                    }
                }
            }
        }
        assertTrue(ordersDiffer, "the tree and the in-order lane sums never differed: the twin would not tell them apart");
    }
}
