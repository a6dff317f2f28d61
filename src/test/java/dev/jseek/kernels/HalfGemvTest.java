package dev.jseek.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jseek.kernels.scalar.ScalarHalfGemv;
import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link HalfGemv} against its scalar twin {@link ScalarHalfGemv}, bit for bit. The suite reruns this class at -Djseek.vectorBits=256. */
class HalfGemvTest {
    @Test
    void runsAtTheRequestedWidth() {
        String bits = System.getProperty("jseek.vectorBits");           // set by the vector-256 rerun of this class
        if (bits != null) assertEquals(Integer.parseInt(bits.trim()), Vec.F.vectorBitSize());
    }

    private static void assertBits(float[] want, float[] got, String what) {
        for (int i = 0; i < want.length; i++)
            assertEquals(Float.floatToIntBits(want[i]), Float.floatToIntBits(got[i]), what + " at " + i + ": " + want[i] + " vs " + got[i]);
    }

    /** Every m from 1 to 9 and a few up to 64 (tiles of 4 tokens and the 1-token passes), ragged rows and k, both storages. */
    @Test
    void equalsScalarTwinBitwise() {
        Random r = new Random(31);
        int[][] shapes = {{1, 1}, {3, 7}, {4, 16}, {5, 33}, {9, 64}, {13, 100}, {8, 257}, {6, 1536}};
        int[] ms = {1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 17, 64};
        for (DType d : new DType[] {DType.BF16, DType.F16, DType.F32})
            for (int[] s : shapes)
                for (int m : ms) {
                    if (s[1] > 300 && m > 9) continue;
                    boolean offHeap = (m + s[0]) % 2 == 0;
                    Matrix w = TestWeights.random(d, s[0], s[1], r, offHeap);
                    float[] x = TestWeights.randn(r, 5 + m * s[1]);
                    boolean acc = m % 3 == 0;
                    float[] y0 = TestWeights.randn(r, 2 + m * s[0]);
                    float[] want = y0.clone(), got = y0.clone();
                    ScalarHalfGemv.linear(want, 2, x, 5, m, w, acc, Vec.LANES);
                    HalfGemv.linear(got, 2, x, 5, m, w, acc);
                    String what = d + " " + s[0] + "x" + s[1] + " m=" + m + " offHeap=" + offHeap + " acc=" + acc;
                    assertBits(want, got, what);
                    float[] viaGemm = y0.clone();
                    Gemm.linear(viaGemm, 2, x, 5, m, w, acc);
                    assertBits(want, viaGemm, what + " via Gemm.linear");
                }
    }

    /**
     * Rows r0..r0+n of a weight transposed times x ({@link Gemm#linearTransposedRows}: the absorb of MLA's decode
     * attention), BF16/F16/F32 in native memory (vector y held in registers) and on the heap (decoded rows), ragged
     * columns: bit for bit the twin's one fused multiply-add per row and column, rows in order.
     */
    @Test
    void transposedRowsEqualScalarTwinBitwise() {
        Random r = new Random(37);
        for (DType d : new DType[] {DType.BF16, DType.F16, DType.F32})
            for (int[] s : new int[][] {{1, 1}, {5, 7}, {9, 16}, {12, 100}, {40, 256}, {7, 4 * Vec.LANES + 3}})
                for (boolean offHeap : new boolean[] {true, false}) {
                    Matrix w = TestWeights.random(d, s[0], s[1], r, offHeap);
                    for (int r0 = 0; r0 < s[0]; r0 += 1 + s[0] / 3) {
                        int n = s[0] - r0 - (r0 % 2);
                        float[] x = TestWeights.randn(r, 3 + n);
                        float[] want = TestWeights.randn(r, 2 + s[1] + 1), got = want.clone();
                        ScalarHalfGemv.transposedRows(want, 2, x, 3, w, r0, n);
                        Gemm.linearTransposedRows(got, 2, x, 3, w, r0, n);
                        assertBits(want, got, d + " " + s[0] + "x" + s[1] + " rows " + r0 + "+" + n + " offHeap=" + offHeap);
                    }
                }
    }

    /**
     * The experimental Q8_0 path ({@code jseek.q8Half}; called here directly): weights widened to q * d in registers,
     * 4-row x 4-token tiles, bit for bit the scalar twin's order over the dequantized values, every m up to 16.
     */
    @Test
    void q8_0EqualsScalarTwinBitwise() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(34);
        Random g = new Random(35);
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofShared()) {
            for (int[] s : new int[][] {{1, 32}, {3, 64}, {5, 96}, {9, 256}, {6, 1536}})
                for (int m : new int[] {1, 2, 3, 4, 5, 7, 9, 16}) {
                    Matrix w = QuantKernelsTest.onNative(a, DType.Q8_0, s[0], s[1], QuantKernelsTest.randomWeight(DType.Q8_0, s[0], s[1], r), 3);
                    float[] x = TestWeights.randn(g, 5 + m * s[1]);
                    boolean acc = m % 3 == 0;
                    float[] y0 = TestWeights.randn(g, 2 + m * s[0]);
                    float[] want = y0.clone(), got = y0.clone();
                    ScalarHalfGemv.linear(want, 2, x, 5, m, w, acc, Vec.LANES);
                    HalfGemv.linear(got, 2, x, 5, m, w, acc);
                    assertBits(want, got, "Q8_0 " + s[0] + "x" + s[1] + " m=" + m + " acc=" + acc);
                }
        }
    }

    /**
     * BF16's two memory orders for m >= 2 ({@code jseek.seqTilesMaxK}: each 4-row group read row after row with a
     * 1-row x min(m, 4)-token tile first, or the 4-row tiles only), with and without the 4x3 tile for the last 3 tokens
     * ({@code jseek.tile3}), native and heap storage, ragged rows and k, every m up to 9 and 11, 16: all bit for bit the
     * scalar twin, so a token's values do not depend on which ran.
     */
    @Test
    void bothSmallMMemoryOrdersEqualScalarTwinBitwise() {
        Random r = new Random(35);
        for (int[] s : new int[][] {{1, 1}, {3, 7}, {4, 16}, {7, 33}, {9, 64}, {5, 4 * Vec.LANES + 5}, {6, 512}})
            for (boolean offHeap : new boolean[] {true, false})
                for (int m : new int[] {1, 2, 3, 4, 5, 6, 7, 9, 11, 16}) {
                    Matrix w = TestWeights.random(DType.BF16, s[0], s[1], r, offHeap);
                    float[] x = TestWeights.randn(r, 3 + m * s[1]);
                    boolean acc = m % 2 == 1;
                    float[] y0 = TestWeights.randn(r, 1 + m * s[0]);
                    float[] want = y0.clone();
                    ScalarHalfGemv.linear(want, 1, x, 3, m, w, acc, Vec.LANES);
                    for (int order = 0; order < 4; order++) {
                        boolean seq = (order & 1) != 0, tile3 = (order & 2) != 0;
                        float[] got = y0.clone();
                        HalfGemv.rows(got, 1, x, 3, m, w, acc, 0, s[0], seq, tile3);
                        assertBits(want, got, "BF16 " + s[0] + "x" + s[1] + " m=" + m + " offHeap=" + offHeap + " seqTiles=" + seq + " tile3=" + tile3);
                    }
                }
    }

    /** Row ranges of any alignment (Gemm.linearMany's chunks, the pool's split) give the bits of the whole product. */
    @Test
    void rowRangesEqualWholeProduct() {
        Random r = new Random(32);
        for (DType d : new DType[] {DType.BF16, DType.F16, DType.F32})
          for (int m : new int[] {1, 6}) { // F32 at m = 1 reads a native segment in place
            int n = 23, k = 75;
            Matrix w = TestWeights.random(d, n, k, r, true);
            float[] x = TestWeights.randn(r, m * k);
            float[] whole = new float[m * n], parts = new float[m * n];
            HalfGemv.linear(whole, 0, x, 0, m, w, false);
            int[] cuts = {0, 1, 6, 7, 15, 23};
            for (int c = 0; c + 1 < cuts.length; c++) HalfGemv.rows(parts, 0, x, 0, m, w, false, cuts[c], cuts[c + 1]);
            assertBits(whole, parts, d + " row ranges, m=" + m);
        }
    }

    /** A BF16 weight over a heap segment that is not a short[] (a byte[] slice) takes the buffered path, same bits. */
    @Test
    void byteBackedHeapSegmentSameBits() {
        Random r = new Random(33);
        int n = 10, k = 70, m = 5;
        Matrix w = TestWeights.random(DType.BF16, n, k, r, false);
        byte[] bytes = new byte[(int) w.byteSize() + 1];
        MemorySegment bs = MemorySegment.ofArray(bytes).asSlice(1);
        bs.copyFrom(w.data().asSlice(0, w.byteSize()));
        Matrix wb = new Matrix(DType.BF16, n, k, bs, null);
        float[] x = TestWeights.randn(r, m * k);
        float[] want = new float[m * n], got = new float[m * n];
        ScalarHalfGemv.linear(want, 0, x, 0, m, w, false, Vec.LANES);
        HalfGemv.linear(got, 0, x, 0, m, wb, false);
        assertBits(want, got, "byte-backed BF16");
    }

    /**
     * The decode-order knobs ({@link DecodeOrder}: rows of a group in sequence or side by side, contiguous task runs
     * per thread or one shared counter, rows per {@link Gemm#linearMany} task) change which thread reads which rows
     * when, never a value: one-token products of BF16 and F32 weights in native memory and on the heap, ragged rows
     * and columns, large enough to run on the pool, against the scalar twins bit for bit, directly and as
     * {@link Gemm#linearMany} products beside a Q8_0 one (twin: {@link dev.jseek.kernels.scalar.ScalarQuantGemv}).
     */
    @Test
    void decodeOrderKnobsKeepBits() {
        String[] names = {"jseek.seqRows", "jseek.contiguousTasks", "jseek.manyRows"};
        String[] was = new String[names.length];
        for (int i = 0; i < names.length; i++) was[i] = DecodeOrder.get(names[i]);
        Random r = new Random(38);
        java.util.SplittableRandom sr = new java.util.SplittableRandom(39);
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofShared()) {
            Matrix q8 = QuantKernelsTest.onNative(a, DType.Q8_0, 301, 256, QuantKernelsTest.randomWeight(DType.Q8_0, 301, 256, sr), 3);
            for (DType d : new DType[] {DType.BF16, DType.F32})
                for (boolean offHeap : new boolean[] {true, false}) {
                    Matrix w1 = TestWeights.random(d, 701, 3 * Vec.LANES + 5, r, offHeap);   // ragged: a tail past the vectors
                    Matrix w2 = TestWeights.random(d, 130, 512, r, offHeap);
                    Matrix w3 = TestWeights.random(d, 1, 33, r, offHeap);
                    Matrix[] ws = {w1, w2, q8, w3};
                    int xo2 = w1.cols() + 1, xo3 = xo2 + 512 + 2, xo4 = xo3 + 256;
                    float[] x = TestWeights.randn(r, xo4 + 33);
                    int[] jobs = {0, 1, 0, xo2, 1, 701, xo3, 1, 831, xo4, 1, 1132};
                    float[] want = new float[1133];
                    for (int i = 0; i < ws.length; i++) {
                        if (ws[i].dtype() == DType.Q8_0)
                            dev.jseek.kernels.scalar.ScalarQuantGemv.linearQ8_0(want, jobs[3 * i + 2], x, jobs[3 * i], 1, ws[i], false, Vec.LANES, QuantGemv.Q8_TREE);
                        else ScalarHalfGemv.linear(want, jobs[3 * i + 2], x, jobs[3 * i], 1, ws[i], false, Vec.LANES);
                    }
                    for (String seq : new String[] {"true", "false"})
                        for (String contiguous : new String[] {"true", "false"})
                            for (String rows : new String[] {"4", "64"}) {
                                DecodeOrder.set("jseek.seqRows", seq);
                                DecodeOrder.set("jseek.contiguousTasks", contiguous);
                                DecodeOrder.set("jseek.manyRows", rows);
                                String what = d + " offHeap=" + offHeap + " seqRows=" + seq + " contiguous=" + contiguous + " manyRows=" + rows;
                                float[] direct = new float[1133];
                                for (int i = 0; i < ws.length; i++) Gemm.linear(direct, jobs[3 * i + 2], x, jobs[3 * i], 1, ws[i], false);
                                assertBits(want, direct, what + " (Gemm.linear)");
                                float[] many = new float[1133];
                                Gemm.linearMany(ws.length, ws, x, many, jobs);
                                assertBits(want, many, what + " (Gemm.linearMany)");
                            }
                }
        } finally {
            for (int i = 0; i < names.length; i++) DecodeOrder.set(names[i], was[i]);
        }
    }

    /**
     * {@code jseek.contiguousBatch} (contiguous task runs per thread for products of 2 and more token rows) changes no
     * value either: BF16 and F32 rows times 3 and 16 tokens through {@link Gemm#linear} against the scalar twin, bit for
     * bit, with the knob on and off.
     */
    @Test
    void contiguousBatchKeepsBits() {
        String was = DecodeOrder.get("jseek.contiguousBatch");
        Random r = new Random(41);
        try {
            for (DType d : new DType[] {DType.BF16, DType.F32})
                for (int m : new int[] {3, 16}) {
                    Matrix w = TestWeights.random(d, 517, 2 * Vec.LANES + 3, r, true);
                    float[] x = TestWeights.randn(r, m * w.cols());
                    float[] want = new float[m * w.rows()];
                    ScalarHalfGemv.linear(want, 0, x, 0, m, w, false, Vec.LANES);
                    for (String v : new String[] {"true", "false"}) {
                        DecodeOrder.set("jseek.contiguousBatch", v);
                        float[] got = new float[m * w.rows()];
                        Gemm.linear(got, 0, x, 0, m, w, false);
                        assertBits(want, got, d + " m=" + m + " contiguousBatch=" + v);
                    }
                }
        } finally {
            DecodeOrder.set("jseek.contiguousBatch", was);
        }
    }
}
