package dev.jseek.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The F32 register-tiled GEMM micro-kernel: C[MR x NR] (=, +=, or beta*C +) Ap * Bp for one packed A micro-panel
 * (k-major, MR floats per k: {@code ap[aOff + p*MR + i]}) and one packed B micro-panel (k-major, NR floats per k:
 * {@code bp[bOff + p*NR + j]}). MR = 12 rows are broadcast, NR = 2 vectors (32 floats with 512-bit vectors) are
 * loaded per k, so 24 accumulators stay in registers (AVX-512 has 32). Chosen by measurement on the development
 * machine against 6x32, 8x48, 4x48, 14x32 and the 256-bit 6x16/12x16 variants (tools: see the report).
 * The tile is written out in full (no arrays of vectors) so that the accumulators stay in registers.
 */
final class MicroKernel {
    private MicroKernel() {}

    static final VectorSpecies<Float> F = Vec.F;
    static final int MR = 12;
    static final int NR = 2 * Vec.LANES;

    /**
     * C tile at c[cOff + i*ldc + j] for i < MR, j < NR += sum_p Ap[p][i] Bp[p][j]. (One epilogue only: the method
     * must stay small enough for C1 to compile it, or it would run interpreted until C2 picks it up.)
     */
    static void kernel(int kc, float[] ap, int aOff, float[] bp, int bOff, float[] c, int cOff, int ldc) {
        final int L = F.length();
        FloatVector z = FloatVector.zero(F);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z, c60 = z, c61 = z, c70 = z, c71 = z, c80 = z, c81 = z, c90 = z, c91 = z, c100 = z, c101 = z, c110 = z, c111 = z;
        int ai = aOff, bi = bOff;
        for (int p = 0; p < kc; p++, ai += MR, bi += NR) {
            FloatVector b0 = FloatVector.fromArray(F, bp, bi + 0 * L); FloatVector b1 = FloatVector.fromArray(F, bp, bi + 1 * L);
            FloatVector x;
            x = FloatVector.broadcast(F, ap[ai + 0]); c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(F, ap[ai + 1]); c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(F, ap[ai + 2]); c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(F, ap[ai + 3]); c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(F, ap[ai + 4]); c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(F, ap[ai + 5]); c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(F, ap[ai + 6]); c60 = x.fma(b0, c60); c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(F, ap[ai + 7]); c70 = x.fma(b0, c70); c71 = x.fma(b1, c71);
            x = FloatVector.broadcast(F, ap[ai + 8]); c80 = x.fma(b0, c80); c81 = x.fma(b1, c81);
            x = FloatVector.broadcast(F, ap[ai + 9]); c90 = x.fma(b0, c90); c91 = x.fma(b1, c91);
            x = FloatVector.broadcast(F, ap[ai + 10]); c100 = x.fma(b0, c100); c101 = x.fma(b1, c101);
            x = FloatVector.broadcast(F, ap[ai + 11]); c110 = x.fma(b0, c110); c111 = x.fma(b1, c111);
        }
            c00.add(FloatVector.fromArray(F, c, cOff + 0 * ldc + 0 * L)).intoArray(c, cOff + 0 * ldc + 0 * L); c01.add(FloatVector.fromArray(F, c, cOff + 0 * ldc + 1 * L)).intoArray(c, cOff + 0 * ldc + 1 * L);
            c10.add(FloatVector.fromArray(F, c, cOff + 1 * ldc + 0 * L)).intoArray(c, cOff + 1 * ldc + 0 * L); c11.add(FloatVector.fromArray(F, c, cOff + 1 * ldc + 1 * L)).intoArray(c, cOff + 1 * ldc + 1 * L);
            c20.add(FloatVector.fromArray(F, c, cOff + 2 * ldc + 0 * L)).intoArray(c, cOff + 2 * ldc + 0 * L); c21.add(FloatVector.fromArray(F, c, cOff + 2 * ldc + 1 * L)).intoArray(c, cOff + 2 * ldc + 1 * L);
            c30.add(FloatVector.fromArray(F, c, cOff + 3 * ldc + 0 * L)).intoArray(c, cOff + 3 * ldc + 0 * L); c31.add(FloatVector.fromArray(F, c, cOff + 3 * ldc + 1 * L)).intoArray(c, cOff + 3 * ldc + 1 * L);
            c40.add(FloatVector.fromArray(F, c, cOff + 4 * ldc + 0 * L)).intoArray(c, cOff + 4 * ldc + 0 * L); c41.add(FloatVector.fromArray(F, c, cOff + 4 * ldc + 1 * L)).intoArray(c, cOff + 4 * ldc + 1 * L);
            c50.add(FloatVector.fromArray(F, c, cOff + 5 * ldc + 0 * L)).intoArray(c, cOff + 5 * ldc + 0 * L); c51.add(FloatVector.fromArray(F, c, cOff + 5 * ldc + 1 * L)).intoArray(c, cOff + 5 * ldc + 1 * L);
            c60.add(FloatVector.fromArray(F, c, cOff + 6 * ldc + 0 * L)).intoArray(c, cOff + 6 * ldc + 0 * L); c61.add(FloatVector.fromArray(F, c, cOff + 6 * ldc + 1 * L)).intoArray(c, cOff + 6 * ldc + 1 * L);
            c70.add(FloatVector.fromArray(F, c, cOff + 7 * ldc + 0 * L)).intoArray(c, cOff + 7 * ldc + 0 * L); c71.add(FloatVector.fromArray(F, c, cOff + 7 * ldc + 1 * L)).intoArray(c, cOff + 7 * ldc + 1 * L);
            c80.add(FloatVector.fromArray(F, c, cOff + 8 * ldc + 0 * L)).intoArray(c, cOff + 8 * ldc + 0 * L); c81.add(FloatVector.fromArray(F, c, cOff + 8 * ldc + 1 * L)).intoArray(c, cOff + 8 * ldc + 1 * L);
            c90.add(FloatVector.fromArray(F, c, cOff + 9 * ldc + 0 * L)).intoArray(c, cOff + 9 * ldc + 0 * L); c91.add(FloatVector.fromArray(F, c, cOff + 9 * ldc + 1 * L)).intoArray(c, cOff + 9 * ldc + 1 * L);
            c100.add(FloatVector.fromArray(F, c, cOff + 10 * ldc + 0 * L)).intoArray(c, cOff + 10 * ldc + 0 * L); c101.add(FloatVector.fromArray(F, c, cOff + 10 * ldc + 1 * L)).intoArray(c, cOff + 10 * ldc + 1 * L);
            c110.add(FloatVector.fromArray(F, c, cOff + 11 * ldc + 0 * L)).intoArray(c, cOff + 11 * ldc + 0 * L); c111.add(FloatVector.fromArray(F, c, cOff + 11 * ldc + 1 * L)).intoArray(c, cOff + 11 * ldc + 1 * L);
    }
}
