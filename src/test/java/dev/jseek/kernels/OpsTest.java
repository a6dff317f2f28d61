package dev.jseek.kernels;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class OpsTest {
    @Test
    void topKOrdersLargestFirstAndBreaksTiesByIndex() {
        float[] x = {0.5f, 2f, -1f, 2f, Float.NaN, 3f};
        int[] idx = new int[3];
        Ops.topK(x, 0, x.length, 3, idx);
        assertArrayEquals(new int[] {5, 1, 3}, idx);
    }

    @Test
    void rmsNormMatchesDefinition() {
        float[] x = {1, 2, 3, 4}, w = {1, 0.5f, 2, 1}, out = new float[4];
        float r = Ops.rmsNorm(out, 0, x, 0, w, 4, 1e-6f);
        double rms = Math.sqrt((1 + 4 + 9 + 16) / 4.0 + 1e-6);
        assertEquals(1 / rms, r, 1e-6);
        assertEquals(3 * 2 / rms, out[2], 1e-6);
    }
}
