package dev.jseek.kernels;

import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The one-token GEMV (decode, m = 1) on F32 weights, rows read in place (docs/quantization.md, "Kernels"): the
 * same sums, in the same order, as {@link Gemv}'s chunked path, which first copies each {@link Gemv#KCH}-wide chunk
 * of 4 rows into a buffer and then multiplies it. Per group of 4 rows and chunk: two vector accumulators per row
 * over alternate {@link Vec#LANES}-wide blocks (FMA from zero; an odd last block into the first), their sum reduced
 * in lane order ({@link Vec#sum}'s order), the chunk's k mod L tail added product by product in float, and the
 * chunk's value added to the row's running sum (from 0). So a token's outputs keep their bits whether it runs here
 * alone or in a batch on the chunked path (serving, speculative verify). A group of fewer than 4 rows at the end of
 * the range stays on the chunked path (it sums in another order there).
 *
 * <p>Native segments (mapped weights) and heap segments over a {@code float[]} have separate loops: mixing the two
 * in {@code fromMemorySegment} makes its internal call sites megamorphic ({@link Vec}). The lane-order reduction of
 * a group's 4 rows goes through a small array (one vector store per row, then scalar adds of the stored lanes: the
 * same float additions as {@link Vec#sum}, without its lane extractions). Nothing is allocated.
 *
 * <p>{@code -Djseek.f32Gemv=false} keeps every F32 product on the chunked path (the A/B of the decode step). Scalar
 * twin: {@link dev.jseek.kernels.scalar.ScalarF32Gemv}.
 */
final class F32Gemv {
    private F32Gemv() {}

    private static final VectorSpecies<Float> F = Vec.F;
    private static final int L = Vec.LANES;
    private static final int KCH = Gemv.KCH;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** Whether one-token F32 products read their rows in place (system property {@code jseek.f32Gemv}, default true). */
    static final boolean ENABLED = Boolean.parseBoolean(System.getProperty("jseek.f32Gemv", "true"));

    /** True when rows of w times one token run here. */
    static boolean applies(Matrix w, int m) { return ENABLED && m == 1 && w.dtype() == DType.F32; }

    /**
     * Rows [r0, r0 + 4g) of y (=|+=) W x for the whole 4-row groups of [r0, r1) on the calling thread; returns the
     * first row not done (r1 when r1 - r0 is a multiple of 4). r0 is where the caller's row groups start.
     */
    static int rows(float[] y, int yOff, float[] x, int xOff, Matrix w, boolean accumulate, int r0, int r1, float[] lanes) {
        int end = r1 - (r1 - r0) % 4;
        if (end <= r0) return r0;
        MemorySegment seg = w.data();
        Object heap = seg.heapBase().orElse(null);
        if (heap == null) native4(seg, y, yOff, x, xOff, w.cols(), accumulate, r0, end, lanes);
        else if (heap instanceof float[] fa && seg.address() % 4 == 0) array4(fa, (int) (seg.address() / 4), y, yOff, x, xOff, w.cols(), accumulate, r0, end, lanes);
        else return r0;
        return end;
    }

    private static void native4(MemorySegment seg, float[] y, int yOff, float[] x, int xOff, int k, boolean accumulate,
                                int r0, int r1, float[] lanes) {
        long rb = 4L * k;
        FloatVector z = FloatVector.zero(F);
        for (int r = r0; r < r1; r += 4) {
            long p0 = rb * r, p1 = p0 + rb, p2 = p1 + rb, p3 = p2 + rb;
            float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
            for (int c0 = 0; c0 < k; c0 += KCH) {
                int len = Math.min(KCH, k - c0), xo = xOff + c0;
                long q = 4L * c0;
                FloatVector a0 = z, a1 = z, a2 = z, a3 = z, b0 = z, b1 = z, b2 = z, b3 = z;
                int i = 0;
                for (; i + 2 * L <= len; i += 2 * L) {
                    FloatVector v = FloatVector.fromArray(F, x, xo + i), u = FloatVector.fromArray(F, x, xo + i + L);
                    long o = q + 4L * i, o2 = o + 4L * L;
                    a0 = FloatVector.fromMemorySegment(F, seg, p0 + o, LE).fma(v, a0);
                    b0 = FloatVector.fromMemorySegment(F, seg, p0 + o2, LE).fma(u, b0);
                    a1 = FloatVector.fromMemorySegment(F, seg, p1 + o, LE).fma(v, a1);
                    b1 = FloatVector.fromMemorySegment(F, seg, p1 + o2, LE).fma(u, b1);
                    a2 = FloatVector.fromMemorySegment(F, seg, p2 + o, LE).fma(v, a2);
                    b2 = FloatVector.fromMemorySegment(F, seg, p2 + o2, LE).fma(u, b2);
                    a3 = FloatVector.fromMemorySegment(F, seg, p3 + o, LE).fma(v, a3);
                    b3 = FloatVector.fromMemorySegment(F, seg, p3 + o2, LE).fma(u, b3);
                }
                for (; i + L <= len; i += L) {
                    FloatVector v = FloatVector.fromArray(F, x, xo + i);
                    long o = q + 4L * i;
                    a0 = FloatVector.fromMemorySegment(F, seg, p0 + o, LE).fma(v, a0);
                    a1 = FloatVector.fromMemorySegment(F, seg, p1 + o, LE).fma(v, a1);
                    a2 = FloatVector.fromMemorySegment(F, seg, p2 + o, LE).fma(v, a2);
                    a3 = FloatVector.fromMemorySegment(F, seg, p3 + o, LE).fma(v, a3);
                }
                a0.add(b0).intoArray(lanes, 0);
                a1.add(b1).intoArray(lanes, L);
                a2.add(b2).intoArray(lanes, 2 * L);
                a3.add(b3).intoArray(lanes, 3 * L);
                float t0 = 0f, t1 = 0f, t2 = 0f, t3 = 0f;
                for (int j = 0; j < L; j++) {
                    t0 += lanes[j];
                    t1 += lanes[L + j];
                    t2 += lanes[2 * L + j];
                    t3 += lanes[3 * L + j];
                }
                for (; i < len; i++) {
                    float v = x[xo + i];
                    long o = q + 4L * i;
                    t0 += seg.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, p0 + o) * v;
                    t1 += seg.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, p1 + o) * v;
                    t2 += seg.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, p2 + o) * v;
                    t3 += seg.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, p3 + o) * v;
                }
                s0 += t0; s1 += t1; s2 += t2; s3 += t3;
            }
            store(y, yOff + r, accumulate, s0, s1, s2, s3);
        }
    }

    private static void array4(float[] a, int base, float[] y, int yOff, float[] x, int xOff, int k, boolean accumulate,
                               int r0, int r1, float[] lanes) {
        FloatVector z = FloatVector.zero(F);
        for (int r = r0; r < r1; r += 4) {
            int p0 = base + k * r, p1 = p0 + k, p2 = p1 + k, p3 = p2 + k;
            float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
            for (int c0 = 0; c0 < k; c0 += KCH) {
                int len = Math.min(KCH, k - c0), xo = xOff + c0;
                FloatVector a0 = z, a1 = z, a2 = z, a3 = z, b0 = z, b1 = z, b2 = z, b3 = z;
                int i = 0;
                for (; i + 2 * L <= len; i += 2 * L) {
                    FloatVector v = FloatVector.fromArray(F, x, xo + i), u = FloatVector.fromArray(F, x, xo + i + L);
                    int o = c0 + i, o2 = o + L;
                    a0 = FloatVector.fromArray(F, a, p0 + o).fma(v, a0);
                    b0 = FloatVector.fromArray(F, a, p0 + o2).fma(u, b0);
                    a1 = FloatVector.fromArray(F, a, p1 + o).fma(v, a1);
                    b1 = FloatVector.fromArray(F, a, p1 + o2).fma(u, b1);
                    a2 = FloatVector.fromArray(F, a, p2 + o).fma(v, a2);
                    b2 = FloatVector.fromArray(F, a, p2 + o2).fma(u, b2);
                    a3 = FloatVector.fromArray(F, a, p3 + o).fma(v, a3);
                    b3 = FloatVector.fromArray(F, a, p3 + o2).fma(u, b3);
                }
                for (; i + L <= len; i += L) {
                    FloatVector v = FloatVector.fromArray(F, x, xo + i);
                    int o = c0 + i;
                    a0 = FloatVector.fromArray(F, a, p0 + o).fma(v, a0);
                    a1 = FloatVector.fromArray(F, a, p1 + o).fma(v, a1);
                    a2 = FloatVector.fromArray(F, a, p2 + o).fma(v, a2);
                    a3 = FloatVector.fromArray(F, a, p3 + o).fma(v, a3);
                }
                a0.add(b0).intoArray(lanes, 0);
                a1.add(b1).intoArray(lanes, L);
                a2.add(b2).intoArray(lanes, 2 * L);
                a3.add(b3).intoArray(lanes, 3 * L);
                float t0 = 0f, t1 = 0f, t2 = 0f, t3 = 0f;
                for (int j = 0; j < L; j++) {
                    t0 += lanes[j];
                    t1 += lanes[L + j];
                    t2 += lanes[2 * L + j];
                    t3 += lanes[3 * L + j];
                }
                for (; i < len; i++) {
                    float v = x[xo + i];
                    int o = c0 + i;
                    t0 += a[p0 + o] * v; t1 += a[p1 + o] * v; t2 += a[p2 + o] * v; t3 += a[p3 + o] * v;
                }
                s0 += t0; s1 += t1; s2 += t2; s3 += t3;
            }
            store(y, yOff + r, accumulate, s0, s1, s2, s3);
        }
    }

    private static void store(float[] y, int yi, boolean accumulate, float s0, float s1, float s2, float s3) {
        if (accumulate) {
            y[yi] += s0; y[yi + 1] += s1; y[yi + 2] += s2; y[yi + 3] += s3;
        } else {
            y[yi] = s0; y[yi + 1] = s1; y[yi + 2] = s2; y[yi + 3] = s3;
        }
    }
}
