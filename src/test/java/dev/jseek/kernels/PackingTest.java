package dev.jseek.kernels;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.kernels.scalar.ScalarWeightRows;
import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The vectorized panel packings (register transposes, masked 12-lane stores) against the packing layout's
 * definition, element by element and bitwise: full and ragged panels, k lengths around the vector width, strides,
 * offsets, alpha, and weights of every dtype (oracle for weights: the scalar decoder). Also checks that packing
 * writes nothing outside its panel (A panels: except zeros in the slack after them).
 */
@org.junit.jupiter.api.Timeout(60)
class PackingTest {
    static final int MR = Packing.MR, NR = Packing.NR, L = Vec.LANES;
    static final int[] KCS = {1, 5, L - 1, L, L + 1, 2 * L + 3, 128, 256};
    static final float GUARD = -12345.5f;

    private static void assertBits(float want, float got, String what) {
        assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got), what + ": want " + want + " got " + got);
    }

    private static float[] guarded(int n) {
        float[] d = new float[n + 2 * NR];
        java.util.Arrays.fill(d, GUARD);
        return d;
    }

    private static void checkGuards(float[] d, int off, int len, String what) {
        for (int i = 0; i < off; i++) assertBits(GUARD, d[i], what + " wrote before the panel at " + i);
        for (int i = off + len; i < d.length; i++) assertBits(GUARD, d[i], what + " wrote after the panel at " + i);
    }

    @Test
    void packAMatchesDefinition() {
        Random r = new Random(1);
        for (boolean trans : new boolean[] {false, true})
            for (int rows : new int[] {1, 7, MR})
                for (int kc : KCS)
                    for (float alpha : new float[] {1f, -0.7f}) {
                        int m = rows + 3, k = kc + 9, lda = (trans ? m : k) + r.nextInt(3), off = r.nextInt(5);
                        int i0 = 2, p0 = 4;
                        // trans: A stored [k][m]; the tight case (lda == m, last rows) exercises the bounds check
                        float[] a = TestWeights.randn(r, off + (trans ? k : m) * lda);
                        float[] d = guarded(MR * kc);
                        int dOff = 3;
                        Packing.packA(trans, a, off, lda, i0, rows, p0, kc, alpha, d, dOff);
                        String what = "packA trans=" + trans + " rows=" + rows + " kc=" + kc + " alpha=" + alpha;
                        for (int p = 0; p < kc; p++)
                            for (int i = 0; i < MR; i++) {
                                float want = i >= rows ? 0f : alpha == 1f ? a(a, trans, off, lda, i0 + i, p0 + p)
                                        : alpha * a(a, trans, off, lda, i0 + i, p0 + p);
                                assertBits(want, d[dOff + p * MR + i], what + " p=" + p + " i=" + i);
                            }
                        for (int i = 0; i < Packing.A_SLACK; i++) {
                            float v = d[dOff + MR * kc + i];
                            assertTrue(v == 0f || v == GUARD, what + " slack " + i + ": " + v);
                        }
                        checkGuards(d, dOff, MR * kc + Packing.A_SLACK, what);
                    }
    }

    @Test
    void packATransposedAtTheArrayEnd() {
        // the 16-wide row reads of the transposed path must not run past the array: last MR rows of a tight A
        Random r = new Random(2);
        int m = MR, k = 40;
        float[] a = TestWeights.randn(r, k * m);
        float[] d = guarded(MR * k);
        Packing.packA(true, a, 0, m, 0, MR, 0, k, 1f, d, 0);
        for (int p = 0; p < k; p++) for (int i = 0; i < MR; i++) assertBits(a[p * m + i], d[p * MR + i], "p=" + p + " i=" + i);
    }

    private static float a(float[] a, boolean trans, int off, int lda, int i, int p) {
        return trans ? a[off + p * lda + i] : a[off + i * lda + p];
    }

    @Test
    void packBMatchesDefinition() {
        Random r = new Random(3);
        for (boolean trans : new boolean[] {false, true})
            for (int cols : new int[] {1, NR - 1, NR})
                for (int kc : KCS) {
                    int n = cols + 5, k = kc + 7, ldb = (trans ? k : n) + r.nextInt(3), off = r.nextInt(5);
                    int j0 = 3, p0 = 2;
                    float[] b = TestWeights.randn(r, off + (trans ? n : k) * ldb);
                    float[] d = guarded(NR * kc);
                    Packing.packB(trans, b, off, ldb, p0, kc, j0, cols, d, 1);
                    String what = "packB trans=" + trans + " cols=" + cols + " kc=" + kc;
                    for (int p = 0; p < kc; p++)
                        for (int j = 0; j < NR; j++) {
                            float want = j >= cols ? 0f : trans ? b[off + (j0 + j) * ldb + p0 + p] : b[off + (p0 + p) * ldb + j0 + j];
                            assertBits(want, d[1 + p * NR + j], what + " p=" + p + " j=" + j);
                        }
                    checkGuards(d, 1, NR * kc, what);
                }
    }

    @Test
    void packWeightMatchesScalarDecoderForEveryDtype() {
        Random r = new Random(4);
        for (DType dt : TestWeights.WEIGHT_DTYPES)
            for (boolean offHeap : new boolean[] {false, true})
                for (int cols : new int[] {NR, NR - 3, 1})
                    for (int kc : new int[] {L, 2 * L + 5, 128, 256}) {
                        int n = 160, k = 300;
                        Matrix w = TestWeights.random(dt, n, k, r, offHeap);
                        // row block 1 of the FP8 scales and a k range that starts at a scale block boundary
                        int j0 = 128 - (cols == NR ? 0 : 1), p0 = kc == 256 ? 0 : 128;
                        float[] d = guarded(NR * kc), tmp = new float[NR * kc];
                        Packing.packWeight(w, p0, kc, j0, cols, d, 2, tmp);
                        String what = "packWeight " + dt + " offHeap=" + offHeap + " cols=" + cols + " kc=" + kc;
                        for (int p = 0; p < kc; p++)
                            for (int j = 0; j < NR; j++) {
                                float want = j >= cols ? 0f : ScalarWeightRows.get(w, j0 + j, p0 + p);
                                float got = d[2 + p * NR + j];
                                if (Float.isNaN(want)) assertTrue(Float.isNaN(got), what);
                                else assertBits(want, got, what + " p=" + p + " j=" + j);
                            }
                        checkGuards(d, 2, NR * kc, what);
                    }
    }

    @Test
    void columnSplitKeepsEveryThreadEquallyBusy() {
        // with tasks taken in order by the least loaded thread, no thread gets more than 3% over its share of panels
        for (int threads : new int[] {2, 3, 4})
            for (int panels : new int[] {1, 2, 16, 66, 224, 768}) {
                int cpt = GemmDriver.unitsPerTask(panels, threads, GemmDriver.NC / NR);
                assertTrue(cpt >= 1 && cpt * NR <= Math.max(NR, GemmDriver.NC), "cpt " + cpt);
                int tasks = (panels + cpt - 1) / cpt;
                int[] load = new int[threads];
                for (int t = 0; t < tasks; t++) {
                    int min = 0;
                    for (int i = 1; i < threads; i++) if (load[i] < load[min]) min = i;
                    load[min] += Math.min(cpt, panels - t * cpt);
                }
                int span = java.util.Arrays.stream(load).max().getAsInt();
                int ideal = (panels + threads - 1) / threads;
                assertTrue(span * 100 <= ideal * 103, panels + " panels on " + threads + " threads: " + tasks + " tasks of " + cpt);
            }
    }
}
