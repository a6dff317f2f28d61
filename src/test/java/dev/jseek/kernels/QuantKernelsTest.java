package dev.jseek.kernels;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.kernels.scalar.ScalarKQuantDot;
import dev.jseek.kernels.scalar.ScalarKQuantFloat;
import dev.jseek.kernels.scalar.ScalarQuantGemv;
import dev.jseek.kernels.scalar.ScalarWeightRows;
import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import dev.jseek.tensor.QuantBlocks;
import dev.jseek.tensor.QuantFixtures;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The Vector API kernels on ggml block types against their oracles: the vector decoders ({@link QuantRows} through
 * {@link WeightRows}) bit-equal to gguf-py's dequantization fixtures and to the scalar references on ragged column
 * ranges; the fused GEMV ({@link QuantGemv}), the chunked GEMV and the packed GEMM on block-typed weights against the
 * scalar twin {@link ScalarQuantGemv} (double sums of the reference-decoded weights) on ragged shapes; the integer
 * K-quant decode path (up to {@link Gemv#QUANT_INT_MAX_M} tokens) against {@link ScalarKQuantDot}.
 */
class QuantKernelsTest {
    static Matrix onNative(Arena a, DType t, int rows, int cols, byte[] bytes, int pad) {
        MemorySegment s = a.allocate(bytes.length + pad, 1).asSlice(pad); // unaligned start
        MemorySegment.copy(bytes, 0, s, ValueLayout.JAVA_BYTE, 0, bytes.length);
        return new Matrix(t, rows, cols, s, null);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_K", "Q5_K", "Q6_K"})
    void vectorDecodeEqualsGgufPyAndScalar(DType t) throws Exception {
        try (Arena a = Arena.ofShared()) {
            for (String kind : new String[] {"blocks", "random"}) {
                byte[] b = QuantFixtures.bytes(t, kind);
                float[] want = QuantFixtures.floats(t, kind.equals("blocks") ? "decoded" : "random");
                int cols = 256, rows = want.length / cols;
                for (Matrix w : new Matrix[] {onNative(a, t, rows, cols, b, 3), new Matrix(t, rows, cols, MemorySegment.ofArray(b), null)}) {
                    float[] got = new float[cols];
                    for (int r = 0; r < rows; r++) {
                        WeightRows.decodeRow(w, r, got, 0);
                        for (int c = 0; c < cols; c++)
                            assertEquals(Float.floatToRawIntBits(want[r * cols + c]), Float.floatToRawIntBits(got[c]), t + " " + kind + " row " + r + " col " + c);
                    }
                }
                // ragged column ranges (cut blocks) against the scalar reference
                Matrix w = onNative(a, t, rows / 2, 2 * cols, b, 1);
                SplittableRandom rnd = new SplittableRandom(11);
                float[] ref = new float[2 * cols], got = new float[2 * cols + 9];
                for (int i = 0; i < 40; i++) {
                    int r = rnd.nextInt(w.rows()), c0 = rnd.nextInt(2 * cols), len = rnd.nextInt(2 * cols - c0 + 1), off = rnd.nextInt(9);
                    ScalarWeightRows.decodeRow(w, r, ref, 0);
                    WeightRows.decode(w, r, c0, len, got, off);
                    for (int c = 0; c < len; c++)
                        assertEquals(Float.floatToRawIntBits(ref[c0 + c]), Float.floatToRawIntBits(got[off + c]), t + " row " + r + " [" + c0 + ", +" + len + ") at " + c);
                }
            }
        }
    }

    /** A rows x cols weight of type t: reference quantization of random rows with varied scales. */
    static byte[] randomWeight(DType t, int rows, int cols, SplittableRandom r) {
        float[] x = new float[rows * cols];
        for (int i = 0; i < rows; i++) {
            double s = Math.pow(10, r.nextDouble(-3, 1));
            for (int c = 0; c < cols; c++) x[i * cols + c] = (float) (r.nextGaussian() * s + (c % 97 == 0 ? 0.3 * s : 0));
        }
        return QuantFixtures.quantize(t, x);
    }

    /** The Q8_0 row sum with its lanes summed through an array (the decode path) keeps the bits of the Vec.sum one. */
    @Test
    void q8_0LaneSumThroughArrayKeepsBits() {
        SplittableRandom r = new SplittableRandom(77);
        try (Arena a = Arena.ofShared()) {
            for (int k : new int[] {32, 64, 96, 512, 1536}) {
                int n = 9;
                Matrix w = onNative(a, DType.Q8_0, n, k, randomWeight(DType.Q8_0, n, k, r), 3);
                float[] x = new float[k + 5], lanes = new float[Vec.LANES];
                for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
                for (int o = 0; o < n; o++) {
                    float want = QuantGemv.q8_0(w.data(), o * w.rowBytes(), x, 5, k / 32);
                    float got = QuantGemv.q8_0(w.data(), o * w.rowBytes(), x, 5, k / 32, lanes);
                    assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got), "k=" + k + " row " + o);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_K", "Q5_K", "Q6_K"})
    void linearOnStoredBlocksMatchesScalarTwin(DType t) {
        SplittableRandom r = new SplittableRandom(t.ordinal());
        int bs = t.blockSize;
        try (Arena a = Arena.ofShared()) {
            for (int[] shape : new int[][] {{1, bs}, {3, 2 * bs}, {5, 3 * bs}, {17, bs}, {20, 5 * bs}, {13, 2 * bs}}) {
                int n = shape[0], k = shape[1];
                Matrix w = onNative(a, t, n, k, randomWeight(t, n, k, r), 5);
                float[] dec = new float[n * k];
                for (int o = 0; o < n; o++) ScalarWeightRows.decodeRow(w, o, dec, o * k);
                for (int m : new int[] {1, 2, 4, 7, 20, 67}) {   // 20: block types take the packed GEMM from 17 tokens
                    float[] x = new float[m * k + 3];
                    for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
                    for (boolean acc : new boolean[] {false, true}) {
                        float[] y = new float[m * n + 2], want = new float[m * n + 2];
                        for (int i = 0; i < y.length; i++) y[i] = want[i] = (float) r.nextGaussian();
                        Gemm.linear(y, 1, x, 3, m, w, acc);
                        if (Gemv.fused(w, m) && QuantGemv.integer(t)) {
                            // the integer decode path: its own twin, bit for bit (KQuantDotTest bounds it against floats)
                            if (t == DType.Q4_K && QuantGemv.KQ_FLOAT) ScalarKQuantFloat.linear(want, 1, x, 3, m, w, acc, Vec.LANES);   // KQuantFloatTest
                            else ScalarKQuantDot.linear(want, 1, x, 3, m, w, acc);
                            for (int i = 0; i < y.length; i++)
                                assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(y[i]), t + " " + n + "x" + k + " m=" + m + " at " + i);
                            continue;
                        }
                        ScalarQuantGemv.linear(want, 1, x, 3, m, w, acc);
                        for (int tk = 0; tk < m; tk++)
                            for (int o = 0; o < n; o++) {
                                double mag = acc ? Math.abs(want[1 + tk * n + o]) : 0;
                                for (int c = 0; c < k; c++) mag += Math.abs((double) dec[o * k + c] * x[3 + tk * k + c]);
                                assertEquals(want[1 + tk * n + o], y[1 + tk * n + o], 2e-6 * mag + 1e-30,
                                        t + " " + n + "x" + k + " m=" + m + " acc=" + acc + " token " + tk + " row " + o);
                            }
                        assertEquals(want[0], y[0]);
                        assertEquals(want[y.length - 1], y[y.length - 1]);
                    }
                }
            }
        }
    }

    /**
     * A row's value does not depend on the rows computed with it (Q8_0 runs rows 4 at a time): each row alone through
     * {@link Gemm#linearRows} (ranges starting anywhere) equals the whole product of {@link Gemm#linear}, bit for bit.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_K", "Q5_K", "Q6_K"})
    void rowGroupsDoNotChangeARowsValue(DType t) {
        SplittableRandom r = new SplittableRandom(7);
        int n = 13, k = 3 * t.blockSize;
        try (Arena a = Arena.ofShared()) {
            Matrix w = onNative(a, t, n, k, randomWeight(t, n, k, r), 0);
            float[] x = new float[k + 5];
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
            float[] all = new float[n], part = new float[n + 2];
            Gemm.linear(all, 0, x, 5, 1, w, false);
            for (int r0 = 0; r0 < n; r0++) {
                int r1 = Math.min(n, r0 + 1 + r0 % 6);
                Gemm.linearRows(part, 2, x, 5, w, r0, r1);
                for (int o = r0; o < r1; o++)
                    assertEquals(Float.floatToRawIntBits(all[o]), Float.floatToRawIntBits(part[2 + o - r0]), t + " rows " + r0 + ".." + r1 + " row " + o);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_K", "Q5_K", "Q6_K"})
    void fusedTokensAreIndependentOfBatch(DType t) {
        SplittableRandom r = new SplittableRandom(42);
        int n = 40, k = 4 * t.blockSize;
        try (Arena a = Arena.ofShared()) {
            Matrix w = onNative(a, t, n, k, randomWeight(t, n, k, r), 0);
            float[] x = new float[16 * k];
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
            float[] one = new float[n];
            // every token count the streaming kernels serve (Q8_0: 4- and 2-token passes and a last single token)
            for (int m : new int[] {2, 3, 4, 5, 7, 16}) {
                float[] all = new float[m * n];
                Gemm.linear(all, 0, x, 0, m, w, false);
                for (int tk = 0; tk < m; tk++) {
                    Gemm.linear(one, 0, x, tk * k, 1, w, false);
                    for (int o = 0; o < n; o++)
                        assertEquals(Float.floatToRawIntBits(one[o]), Float.floatToRawIntBits(all[tk * n + o]), t + " m=" + m + " token " + tk + " row " + o);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_K", "Q5_K", "Q6_K"})
    void matrixRejectsPartialBlocksAndShortData(DType t) {
        assertThrows(IllegalArgumentException.class, () -> new Matrix(t, 2, t.blockSize + 1, MemorySegment.ofArray(new byte[10_000]), null));
        assertThrows(IllegalArgumentException.class, () -> new Matrix(t, 2, t.blockSize, MemorySegment.ofArray(new byte[2 * t.blockBytes - 1]), null));
        assertEquals(2L * t.blockBytes, new Matrix(t, 2, t.blockSize, MemorySegment.ofArray(new byte[2 * t.blockBytes]), null).byteSize());
        assertNotNull(QuantBlocks.class);
    }
}
