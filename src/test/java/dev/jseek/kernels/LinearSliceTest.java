package dev.jseek.kernels;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.kernels.scalar.ScalarGemm;
import dev.jseek.kernels.scalar.ScalarWeightRows;
import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link Gemm#linearSlice} (a row slice of a stored weight times strided rows, MLA's per-head W_UK^T / W_UV of a GGUF's
 * attn_k_b / attn_v_b in prefill) on block-typed and F32 weights: against the scalar twin {@link ScalarGemm#sgemm}
 * (double sums) over the rows decoded by {@link ScalarWeightRows}, within float rounding, and bit-equal to {@link
 * Gemm#sgemm} over those decoded rows (the product the attention ran on an F32 copy of kv_b_proj); the strides' gaps
 * and the rows outside the slice are left alone.
 */
class LinearSliceTest {
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "Q8_0", "Q4_K", "Q6_K"})
    void sliceProductMatchesScalarTwinAndSgemmOnDecodedRows(DType t) {
        SplittableRandom r = new SplittableRandom(11 + t.ordinal());
        int bs = t.isBlock() ? t.blockSize : 32;
        try (Arena a = Arena.ofShared()) {
            for (int[] shape : new int[][] {{12, bs, 4, 5}, {40, 2 * bs, 8, 16}, {70, 3 * bs, 33, 35}}) {
                int rows = shape[0], k = shape[1], r0 = shape[2], n = shape[3];
                Matrix w;
                if (t == DType.F32) {
                    float[] f = new float[rows * k];
                    for (int i = 0; i < f.length; i++) f[i] = (float) r.nextGaussian();
                    w = Matrix.ofF32(f, rows, k);
                } else {
                    w = QuantKernelsTest.onNative(a, t, rows, k, QuantKernelsTest.randomWeight(t, rows, k, r), 3);
                }
                float[] dec = new float[rows * k];
                for (int o = 0; o < rows; o++) ScalarWeightRows.decodeRow(w, o, dec, o * k);
                for (int m : new int[] {1, 5, 29}) {
                    int ldx = k + 7, ldy = n + 3, xOff = 2, yOff = 1;
                    float[] x = new float[xOff + m * ldx];
                    for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
                    float[] y = new float[yOff + m * ldy + 2], same = new float[y.length], twin = new float[y.length];
                    for (int i = 0; i < y.length; i++) y[i] = same[i] = twin[i] = (float) r.nextGaussian();
                    float[] before = y.clone();
                    Gemm.linearSlice(y, yOff, ldy, x, xOff, ldx, m, w, r0, n);
                    Gemm.sgemm(false, true, m, n, k, 1f, x, xOff, ldx, dec, r0 * k, k, 0f, same, yOff, ldy);
                    ScalarGemm.sgemm(false, true, m, n, k, 1f, x, xOff, ldx, dec, r0 * k, k, 0f, twin, yOff, ldy);
                    String what = t + " " + rows + "x" + k + " rows " + r0 + ".." + (r0 + n) + " m=" + m;
                    for (int i = 0; i < y.length; i++) {
                        assertEquals(Float.floatToRawIntBits(same[i]), Float.floatToRawIntBits(y[i]), what + " at " + i);
                        int rel = i - yOff;
                        if (rel < 0 || rel % ldy >= n || rel / ldy >= m) {
                            assertEquals(before[i], y[i], what + ": gap at " + i + " written");
                            continue;
                        }
                        int tk = rel / ldy, o = r0 + rel % ldy;
                        double mag = 0;
                        for (int c = 0; c < k; c++) mag += Math.abs((double) dec[o * k + c] * x[xOff + tk * ldx + c]);
                        assertEquals(twin[i], y[i], 2e-6 * mag + 1e-30, what + " token " + tk + " row " + o);
                    }
                }
            }
        }
    }
}
