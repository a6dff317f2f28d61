package dev.jseek.kernels;

import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * BLIS-style panel packing for {@link GemmDriver}: copies a block of op(A) or op(B) into the k-major micro-panel
 * layout the {@link MicroKernel} reads, zero-padding ragged panels, so that transposes cost nothing in the
 * kernel. Weights ({@link Matrix}, any dtype) are decoded on the fly, one KC x NR panel at a time; a full
 * dequantized copy of a weight is never made.
 *
 * <p>A panels: for rows [i, i+MR), {@code dst[p*MR + r] = alpha * op(A)[i + r][p0 + p]}.
 * B panels: for cols [j, j+NR), {@code dst[p*NR + c] = op(B)[p0 + p][j + c]}.
 *
 * <p>The packings that transpose (row-major A, B given transposed, and weights [n, k], whose rows are B's columns)
 * move LANES x LANES blocks through registers: LANES row vectors are loaded, transposed by log2(LANES) rounds of
 * two-vector permutes on the float bits ({@link IntVector#selectFrom(jdk.incubator.vector.Vector, jdk.incubator.vector.Vector)},
 * one vpermt2ps each on AVX-512), and stored as LANES column vectors. Each round exchanges one bit of the row index
 * with the same bit of the lane index. Weights of other dtypes are first decoded (vectorized, scales applied) into a
 * row-major chunk in L1, then transposed the same way. Ragged edges go through the scalar loops. Packing only moves
 * values (and multiplies by alpha), so results are bitwise those of the scalar packing.
 */
final class Packing {
    private Packing() {}

    static final int MR = MicroKernel.MR;
    static final int NR = MicroKernel.NR;
    private static final VectorSpecies<Float> F = Vec.F;
    private static final int L = Vec.LANES;
    /** Vector transposes exist for 8 and 16 lanes; with 16 lanes also the 12-row A panels. */
    private static final boolean VT = L == 16 || L == 8;
    private static final boolean VA = L == 16 && MR <= 16;

    /** Index vectors of the transposition rounds: round b keeps lanes with bit b clear in LO, set in HI. */
    private static final IntVector LO0 = idx(0, false), HI0 = idx(0, true), LO1 = idx(1, false), HI1 = idx(1, true),
            LO2 = idx(2, false), HI2 = idx(2, true), LO3 = idx(3, false), HI3 = idx(3, true);
    /** The first MR lanes (A panel rows). */
    private static final VectorMask<Float> ROWS = VectorMask.fromLong(F, (1L << Math.min(MR, L)) - 1);

    /**
     * Round b for rows (i, i | d), d = 1 << b: new row i takes, at lane l, old row i's lane l when bit b of l is clear,
     * else old row (i|d)'s lane l ^ d; new row (i|d) takes old row i's lane l | d when the bit is clear, else old row
     * (i|d)'s lane l. As selectFrom indices: 0..L-1 pick from the first vector, L..2L-1 from the second.
     */
    private static IntVector idx(int b, boolean hi) {
        int d = 1 << b;
        int[] ix = new int[L];
        for (int l = 0; l < L; l++) {
            boolean set = (l & d) != 0;
            ix[l] = hi ? (set ? L + l : (l | d)) : (set ? L + (l ^ d) : l);
        }
        return IntVector.fromArray(Vec.I, ix, 0);
    }

    /**
     * Floats after an A panel's MR * kc that {@link #packA} may overwrite (with zeros): A panel buffers leave this
     * much room after each panel.
     */
    static final int A_SLACK = Math.max(0, L - MR);

    /**
     * Packs rows [i0, i0 + rows) (rows <= MR) of op(A), k range [p0, p0 + kc), times alpha, into one A panel
     * (and may write zeros to the {@link #A_SLACK} floats after it).
     */
    static void packA(boolean transA, float[] a, int aOff, int lda, int i0, int rows, int p0, int kc, float alpha,
                      float[] dst, int dstOff) {
        int p = 0;
        if (VA && rows == MR) {
            if (!transA) {
                int s = aOff + i0 * lda + p0;
                for (; p + L <= kc; p += L) t16rows12(a, s + p, lda, dst, dstOff + p * MR);
                if (alpha != 1f) scale(dst, dstOff, p * MR, alpha);       // the same single rounding as alpha * a
            } else if (aOff + (long) (p0 + kc - 1) * lda + i0 + L <= a.length) {
                // MR consecutive floats per k (the row read is L wide, so it must stay inside the array)
                int src = aOff + p0 * lda + i0, d = dstOff;
                if (alpha == 1f) for (; p < kc; p++, src += lda, d += MR) FloatVector.fromArray(F, a, src).intoArray(dst, d, ROWS);
                else for (; p < kc; p++, src += lda, d += MR) FloatVector.fromArray(F, a, src).mul(alpha).intoArray(dst, d, ROWS);
            }
        }
        if (p < kc) packAScalar(transA, a, aOff, lda, i0, rows, p0 + p, kc - p, alpha, dst, dstOff + p * MR);
    }

    private static void scale(float[] d, int off, int len, float alpha) {
        int i = 0;
        for (; i + L <= len; i += L) FloatVector.fromArray(F, d, off + i).mul(alpha).intoArray(d, off + i);
        for (; i < len; i++) d[off + i] *= alpha;
    }

    private static void packAScalar(boolean transA, float[] a, int aOff, int lda, int i0, int rows, int p0, int kc,
                                    float alpha, float[] dst, int dstOff) {
        if (!transA) {
            for (int r = 0; r < rows; r++) {
                int src = aOff + (i0 + r) * lda + p0;
                int d = dstOff + r;
                if (alpha == 1f) for (int p = 0; p < kc; p++, d += MR) dst[d] = a[src + p];
                else for (int p = 0; p < kc; p++, d += MR) dst[d] = alpha * a[src + p];
            }
            for (int r = rows; r < MR; r++) for (int p = 0, d = dstOff + r; p < kc; p++, d += MR) dst[d] = 0f;
        } else {
            for (int p = 0; p < kc; p++) {
                int src = aOff + (p0 + p) * lda + i0;
                int d = dstOff + p * MR;
                int r = 0;
                if (alpha == 1f) for (; r < rows; r++) dst[d + r] = a[src + r];
                else for (; r < rows; r++) dst[d + r] = alpha * a[src + r];
                for (; r < MR; r++) dst[d + r] = 0f;
            }
        }
    }

    /** Packs cols [j0, j0 + cols) (cols <= NR) of op(B) over k range [p0, p0 + kc) from a row-major array. */
    static void packB(boolean transB, float[] b, int bOff, int ldb, int p0, int kc, int j0, int cols,
                      float[] dst, int dstOff) {
        if (!transB) {
            for (int p = 0; p < kc; p++) {
                int src = bOff + (p0 + p) * ldb + j0;
                int d = dstOff + p * NR;
                if (cols == NR) {
                    for (int c = 0; c < NR; c += L) FloatVector.fromArray(F, b, src + c).intoArray(dst, d + c);
                } else {
                    int c = 0;
                    for (; c < cols; c++) dst[d + c] = b[src + c];
                    for (; c < NR; c++) dst[d + c] = 0f;
                }
            }
        } else {
            // op(B) column j is row j of b
            int p = cols == NR ? transposeRows(b, bOff + j0 * ldb + p0, ldb, kc, dst, dstOff) : 0;
            if (p < kc) transposeRowsScalar(b, bOff + j0 * ldb + p0 + p, ldb, cols, kc - p, dst, dstOff + p * NR);
        }
    }

    /**
     * Packs op(B) = W^T for a weight W [n, k]: B panel cols [j0, j0 + cols) are W rows, k range [p0, p0 + kc).
     * {@code tmp} holds at least NR * kc floats.
     */
    static void packWeight(Matrix w, int p0, int kc, int j0, int cols, float[] dst, int dstOff, float[] tmp) {
        if (w.dtype() == DType.F32 && cols == NR && w.data().heapBase().orElse(null) instanceof float[] fa
                && w.data().address() % 4 == 0) {
            int s = (int) (w.data().address() / 4 + (long) j0 * w.cols() + p0);
            int p = transposeRows(fa, s, w.cols(), kc, dst, dstOff);
            if (p < kc) transposeRowsScalar(fa, s + p, w.cols(), cols, kc - p, dst, dstOff + p * NR);
            return;
        }
        // decode the cols rows (vectorized, scales applied) into tmp [cols][kc], then transpose
        for (int c = 0; c < cols; c++) WeightRows.decode(w, j0 + c, p0, kc, tmp, c * kc);
        int p = cols == NR ? transposeRows(tmp, 0, kc, kc, dst, dstOff) : 0;
        if (p < kc) transposeRowsScalar(tmp, p, kc, cols, kc - p, dst, dstOff + p * NR);
    }

    /**
     * dst[p*NR + c] = src[s + c*ld + p] for c < NR, p < the returned count (the largest multiple of L <= kc, or 0
     * without a vector transpose).
     */
    private static int transposeRows(float[] src, int s, int ld, int kc, float[] dst, int dstOff) {
        if (!VT) return 0;
        int p = 0;
        for (; p + L <= kc; p += L)
            for (int c = 0; c < NR; c += L) {
                if (L == 16) t16(src, s + c * ld + p, ld, dst, dstOff + p * NR + c);
                else t8(src, s + c * ld + p, ld, dst, dstOff + p * NR + c);
            }
        return p;
    }

    /** dst[p*NR + c] = src[s + c*ld + p] for c < cols, zero for cols <= c < NR; p < kc. */
    private static void transposeRowsScalar(float[] src, int s, int ld, int cols, int kc, float[] dst, int dstOff) {
        for (int p = 0, d = dstOff; p < kc; p++, d += NR) {
            int c = 0;
            for (int q = s + p; c < cols; c++, q += ld) dst[d + c] = src[q];
            for (; c < NR; c++) dst[d + c] = 0f;
        }
    }

    /** 16 x 16 block: dst[d + p*NR + r] = src[s + r*ld + p] for r, p < 16. */
    private static void t16(float[] src, int s, int ld, float[] dst, int d) {
        IntVector r0 = FloatVector.fromArray(F, src, s).reinterpretAsInts(), r1 = FloatVector.fromArray(F, src, s + ld).reinterpretAsInts();
        IntVector r2 = FloatVector.fromArray(F, src, s + 2 * ld).reinterpretAsInts(), r3 = FloatVector.fromArray(F, src, s + 3 * ld).reinterpretAsInts();
        IntVector r4 = FloatVector.fromArray(F, src, s + 4 * ld).reinterpretAsInts(), r5 = FloatVector.fromArray(F, src, s + 5 * ld).reinterpretAsInts();
        IntVector r6 = FloatVector.fromArray(F, src, s + 6 * ld).reinterpretAsInts(), r7 = FloatVector.fromArray(F, src, s + 7 * ld).reinterpretAsInts();
        IntVector r8 = FloatVector.fromArray(F, src, s + 8 * ld).reinterpretAsInts(), r9 = FloatVector.fromArray(F, src, s + 9 * ld).reinterpretAsInts();
        IntVector r10 = FloatVector.fromArray(F, src, s + 10 * ld).reinterpretAsInts(), r11 = FloatVector.fromArray(F, src, s + 11 * ld).reinterpretAsInts();
        IntVector r12 = FloatVector.fromArray(F, src, s + 12 * ld).reinterpretAsInts(), r13 = FloatVector.fromArray(F, src, s + 13 * ld).reinterpretAsInts();
        IntVector r14 = FloatVector.fromArray(F, src, s + 14 * ld).reinterpretAsInts(), r15 = FloatVector.fromArray(F, src, s + 15 * ld).reinterpretAsInts();
        IntVector t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15;
        t0 = LO0.selectFrom(r0, r1); t1 = HI0.selectFrom(r0, r1); t2 = LO0.selectFrom(r2, r3); t3 = HI0.selectFrom(r2, r3);
        t4 = LO0.selectFrom(r4, r5); t5 = HI0.selectFrom(r4, r5); t6 = LO0.selectFrom(r6, r7); t7 = HI0.selectFrom(r6, r7);
        t8 = LO0.selectFrom(r8, r9); t9 = HI0.selectFrom(r8, r9); t10 = LO0.selectFrom(r10, r11); t11 = HI0.selectFrom(r10, r11);
        t12 = LO0.selectFrom(r12, r13); t13 = HI0.selectFrom(r12, r13); t14 = LO0.selectFrom(r14, r15); t15 = HI0.selectFrom(r14, r15);
        r0 = LO1.selectFrom(t0, t2); r2 = HI1.selectFrom(t0, t2); r1 = LO1.selectFrom(t1, t3); r3 = HI1.selectFrom(t1, t3);
        r4 = LO1.selectFrom(t4, t6); r6 = HI1.selectFrom(t4, t6); r5 = LO1.selectFrom(t5, t7); r7 = HI1.selectFrom(t5, t7);
        r8 = LO1.selectFrom(t8, t10); r10 = HI1.selectFrom(t8, t10); r9 = LO1.selectFrom(t9, t11); r11 = HI1.selectFrom(t9, t11);
        r12 = LO1.selectFrom(t12, t14); r14 = HI1.selectFrom(t12, t14); r13 = LO1.selectFrom(t13, t15); r15 = HI1.selectFrom(t13, t15);
        t0 = LO2.selectFrom(r0, r4); t4 = HI2.selectFrom(r0, r4); t1 = LO2.selectFrom(r1, r5); t5 = HI2.selectFrom(r1, r5);
        t2 = LO2.selectFrom(r2, r6); t6 = HI2.selectFrom(r2, r6); t3 = LO2.selectFrom(r3, r7); t7 = HI2.selectFrom(r3, r7);
        t8 = LO2.selectFrom(r8, r12); t12 = HI2.selectFrom(r8, r12); t9 = LO2.selectFrom(r9, r13); t13 = HI2.selectFrom(r9, r13);
        t10 = LO2.selectFrom(r10, r14); t14 = HI2.selectFrom(r10, r14); t11 = LO2.selectFrom(r11, r15); t15 = HI2.selectFrom(r11, r15);
        LO3.selectFrom(t0, t8).reinterpretAsFloats().intoArray(dst, d); HI3.selectFrom(t0, t8).reinterpretAsFloats().intoArray(dst, d + 8 * NR);
        LO3.selectFrom(t1, t9).reinterpretAsFloats().intoArray(dst, d + NR); HI3.selectFrom(t1, t9).reinterpretAsFloats().intoArray(dst, d + 9 * NR);
        LO3.selectFrom(t2, t10).reinterpretAsFloats().intoArray(dst, d + 2 * NR); HI3.selectFrom(t2, t10).reinterpretAsFloats().intoArray(dst, d + 10 * NR);
        LO3.selectFrom(t3, t11).reinterpretAsFloats().intoArray(dst, d + 3 * NR); HI3.selectFrom(t3, t11).reinterpretAsFloats().intoArray(dst, d + 11 * NR);
        LO3.selectFrom(t4, t12).reinterpretAsFloats().intoArray(dst, d + 4 * NR); HI3.selectFrom(t4, t12).reinterpretAsFloats().intoArray(dst, d + 12 * NR);
        LO3.selectFrom(t5, t13).reinterpretAsFloats().intoArray(dst, d + 5 * NR); HI3.selectFrom(t5, t13).reinterpretAsFloats().intoArray(dst, d + 13 * NR);
        LO3.selectFrom(t6, t14).reinterpretAsFloats().intoArray(dst, d + 6 * NR); HI3.selectFrom(t6, t14).reinterpretAsFloats().intoArray(dst, d + 14 * NR);
        LO3.selectFrom(t7, t15).reinterpretAsFloats().intoArray(dst, d + 7 * NR); HI3.selectFrom(t7, t15).reinterpretAsFloats().intoArray(dst, d + 15 * NR);
    }

    /** 8 x 8 block (256-bit vectors): dst[d + p*NR + r] = src[s + r*ld + p] for r, p < 8. */
    private static void t8(float[] src, int s, int ld, float[] dst, int d) {
        IntVector r0 = FloatVector.fromArray(F, src, s).reinterpretAsInts(), r1 = FloatVector.fromArray(F, src, s + ld).reinterpretAsInts();
        IntVector r2 = FloatVector.fromArray(F, src, s + 2 * ld).reinterpretAsInts(), r3 = FloatVector.fromArray(F, src, s + 3 * ld).reinterpretAsInts();
        IntVector r4 = FloatVector.fromArray(F, src, s + 4 * ld).reinterpretAsInts(), r5 = FloatVector.fromArray(F, src, s + 5 * ld).reinterpretAsInts();
        IntVector r6 = FloatVector.fromArray(F, src, s + 6 * ld).reinterpretAsInts(), r7 = FloatVector.fromArray(F, src, s + 7 * ld).reinterpretAsInts();
        IntVector t0, t1, t2, t3, t4, t5, t6, t7;
        t0 = LO0.selectFrom(r0, r1); t1 = HI0.selectFrom(r0, r1); t2 = LO0.selectFrom(r2, r3); t3 = HI0.selectFrom(r2, r3);
        t4 = LO0.selectFrom(r4, r5); t5 = HI0.selectFrom(r4, r5); t6 = LO0.selectFrom(r6, r7); t7 = HI0.selectFrom(r6, r7);
        r0 = LO1.selectFrom(t0, t2); r2 = HI1.selectFrom(t0, t2); r1 = LO1.selectFrom(t1, t3); r3 = HI1.selectFrom(t1, t3);
        r4 = LO1.selectFrom(t4, t6); r6 = HI1.selectFrom(t4, t6); r5 = LO1.selectFrom(t5, t7); r7 = HI1.selectFrom(t5, t7);
        LO2.selectFrom(r0, r4).reinterpretAsFloats().intoArray(dst, d); HI2.selectFrom(r0, r4).reinterpretAsFloats().intoArray(dst, d + 4 * NR);
        LO2.selectFrom(r1, r5).reinterpretAsFloats().intoArray(dst, d + NR); HI2.selectFrom(r1, r5).reinterpretAsFloats().intoArray(dst, d + 5 * NR);
        LO2.selectFrom(r2, r6).reinterpretAsFloats().intoArray(dst, d + 2 * NR); HI2.selectFrom(r2, r6).reinterpretAsFloats().intoArray(dst, d + 6 * NR);
        LO2.selectFrom(r3, r7).reinterpretAsFloats().intoArray(dst, d + 3 * NR); HI2.selectFrom(r3, r7).reinterpretAsFloats().intoArray(dst, d + 7 * NR);
    }

    /**
     * A panel block from 12 row-major rows (16 lanes): dst[d + p*MR + r] = src[s + r*ld + p] for r < MR, p < 16;
     * rows MR..15 of the transpose are zero vectors. The stores are full vectors in increasing p, so each one's last
     * 16 - MR (zero) lanes are overwritten by the next, and the last one's land in the next block or in the panel's
     * {@link #A_SLACK}. (Masked stores would make the body too large for C1, which then leaves it unoptimized.)
     */
    private static void t16rows12(float[] src, int s, int ld, float[] dst, int d) {
        IntVector q0 = FloatVector.fromArray(F, src, s).reinterpretAsInts(), q1 = FloatVector.fromArray(F, src, s + ld).reinterpretAsInts();
        IntVector q2 = FloatVector.fromArray(F, src, s + 2 * ld).reinterpretAsInts(), q3 = FloatVector.fromArray(F, src, s + 3 * ld).reinterpretAsInts();
        IntVector q4 = FloatVector.fromArray(F, src, s + 4 * ld).reinterpretAsInts(), q5 = FloatVector.fromArray(F, src, s + 5 * ld).reinterpretAsInts();
        IntVector q6 = FloatVector.fromArray(F, src, s + 6 * ld).reinterpretAsInts(), q7 = FloatVector.fromArray(F, src, s + 7 * ld).reinterpretAsInts();
        IntVector q8 = FloatVector.fromArray(F, src, s + 8 * ld).reinterpretAsInts(), q9 = FloatVector.fromArray(F, src, s + 9 * ld).reinterpretAsInts();
        IntVector q10 = FloatVector.fromArray(F, src, s + 10 * ld).reinterpretAsInts(), q11 = FloatVector.fromArray(F, src, s + 11 * ld).reinterpretAsInts();
        IntVector z = IntVector.zero(Vec.I);
        IntVector t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15;
        t0 = LO0.selectFrom(q0, q1); t1 = HI0.selectFrom(q0, q1); t2 = LO0.selectFrom(q2, q3); t3 = HI0.selectFrom(q2, q3);
        t4 = LO0.selectFrom(q4, q5); t5 = HI0.selectFrom(q4, q5); t6 = LO0.selectFrom(q6, q7); t7 = HI0.selectFrom(q6, q7);
        t8 = LO0.selectFrom(q8, q9); t9 = HI0.selectFrom(q8, q9); t10 = LO0.selectFrom(q10, q11); t11 = HI0.selectFrom(q10, q11);
        IntVector s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15;
        s0 = LO1.selectFrom(t0, t2); s2 = HI1.selectFrom(t0, t2); s1 = LO1.selectFrom(t1, t3); s3 = HI1.selectFrom(t1, t3);
        s4 = LO1.selectFrom(t4, t6); s6 = HI1.selectFrom(t4, t6); s5 = LO1.selectFrom(t5, t7); s7 = HI1.selectFrom(t5, t7);
        s8 = LO1.selectFrom(t8, t10); s10 = HI1.selectFrom(t8, t10); s9 = LO1.selectFrom(t9, t11); s11 = HI1.selectFrom(t9, t11);
        // rows 12..15 are zero: after rounds 0 and 1 they still are
        t0 = LO2.selectFrom(s0, s4); t4 = HI2.selectFrom(s0, s4); t1 = LO2.selectFrom(s1, s5); t5 = HI2.selectFrom(s1, s5);
        t2 = LO2.selectFrom(s2, s6); t6 = HI2.selectFrom(s2, s6); t3 = LO2.selectFrom(s3, s7); t7 = HI2.selectFrom(s3, s7);
        t8 = LO2.selectFrom(s8, z); t12 = HI2.selectFrom(s8, z); t9 = LO2.selectFrom(s9, z); t13 = HI2.selectFrom(s9, z);
        t10 = LO2.selectFrom(s10, z); t14 = HI2.selectFrom(s10, z); t11 = LO2.selectFrom(s11, z); t15 = HI2.selectFrom(s11, z);
        LO3.selectFrom(t0, t8).reinterpretAsFloats().intoArray(dst, d); LO3.selectFrom(t1, t9).reinterpretAsFloats().intoArray(dst, d + MR);
        LO3.selectFrom(t2, t10).reinterpretAsFloats().intoArray(dst, d + 2 * MR); LO3.selectFrom(t3, t11).reinterpretAsFloats().intoArray(dst, d + 3 * MR);
        LO3.selectFrom(t4, t12).reinterpretAsFloats().intoArray(dst, d + 4 * MR); LO3.selectFrom(t5, t13).reinterpretAsFloats().intoArray(dst, d + 5 * MR);
        LO3.selectFrom(t6, t14).reinterpretAsFloats().intoArray(dst, d + 6 * MR); LO3.selectFrom(t7, t15).reinterpretAsFloats().intoArray(dst, d + 7 * MR);
        HI3.selectFrom(t0, t8).reinterpretAsFloats().intoArray(dst, d + 8 * MR); HI3.selectFrom(t1, t9).reinterpretAsFloats().intoArray(dst, d + 9 * MR);
        HI3.selectFrom(t2, t10).reinterpretAsFloats().intoArray(dst, d + 10 * MR); HI3.selectFrom(t3, t11).reinterpretAsFloats().intoArray(dst, d + 11 * MR);
        HI3.selectFrom(t4, t12).reinterpretAsFloats().intoArray(dst, d + 12 * MR); HI3.selectFrom(t5, t13).reinterpretAsFloats().intoArray(dst, d + 13 * MR);
        HI3.selectFrom(t6, t14).reinterpretAsFloats().intoArray(dst, d + 14 * MR); HI3.selectFrom(t7, t15).reinterpretAsFloats().intoArray(dst, d + 15 * MR);
    }
}
