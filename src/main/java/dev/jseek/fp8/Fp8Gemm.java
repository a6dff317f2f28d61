package dev.jseek.fp8;

import dev.jseek.kernels.Parallel;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The FP8 GEMM of the training recipe, emulated bit-exactly on the CPU (report §3.3; docs/architecture.md §8.3;
 * DeepGEMM's NT convention): C[M, N] = A[M, K] * B[N, K]^T with A in 1 x 128 tiles along K and B either in
 * 128 x 128 blocks ("1D2D": Fprop Y = X W^T with B = W, Dgrad dX = dY W with B = W.transpose()) or in 1 x 128 tiles
 * along K ("1D1D": Wgrad dW = dY^T X with A = wgradOperand(dY), B = wgradOperand(X), K = tokens).
 *
 * <p>{@link #gemm}: increased-precision accumulation ("promotion every N_C = 128"): the products of the decoded FP8
 * values of each 128-wide K group are summed in FP32, the group sum is multiplied by sA*sB and added into an FP32
 * accumulator; the exact order is that of {@link ScalarFp8Gemm}, which this kernel reproduces bit for bit (tested).
 * Implementation: per task of rows, A's codes are decoded to float with the Vector API (bit trick: the sign and the
 * 7 low bits moved to float bits 31 and 20..26 give value * 2^-120 exactly, subnormals included; one multiply by
 * 2^120 restores the value, exactly); B is decoded per (column panel, K group) into a K-major panel; an MR x NR
 * register tile of group sums is built with broadcast-FMAs (exact products, so FMA = multiply + add) and promoted
 * with one FMA per group. Tasks (row chunks) run on the project's pool ({@link Parallel}; serially when called from
 * inside a parallel region, e.g. one expert's GEMM).
 *
 * <p>Why the 2^120 is not folded into the scales: the product of two shifted values is ~2^-240 (below float range),
 * and with only one operand shifted, group partial sums below 2^-6 would fall into float subnormals and lose
 * precision that FP32 accumulation of the true values keeps, so the result would no longer be the FP32 one.
 *
 * <p>{@link #limited}: the same quantized operands accumulated in a {@link LimitedAccumulator}, with or without
 * promotion, to show the error that promotion removes. {@link #referenceF64}: the exact product of the dequantized
 * operands, in double.
 */
public final class Fp8Gemm {
    private Fp8Gemm() {}

    static final VectorSpecies<Float> F = dev.jseek.kernels.Vec.F;
    static final int L = F.length();
    static final int G = TileQuantizer.TILE;
    static final int MR = 4, NR = 2 * L;

    /** Validates the operand shapes and tilings; returns nothing, throws with a message naming the problem. */
    static void check(Fp8Tensor a, Fp8Tensor b, float[] c, int cOff) {
        if (!a.rowTiled(G))
            throw new IllegalArgumentException("FP8 GEMM: A must be in 1x" + G + " tiles, got " + a.tileRows() + "x" + a.tileCols());
        boolean oneD2D = b.tileRows() == G && b.tileCols() == G;
        if (!oneD2D && !b.rowTiled(G))
            throw new IllegalArgumentException("FP8 GEMM: B must be in " + G + "x" + G + " or 1x" + G + " tiles, got " + b.tileRows() + "x" + b.tileCols());
        if (a.cols() != b.cols())
            throw new IllegalArgumentException("FP8 GEMM: A is " + a.rows() + "x" + a.cols() + ", B is " + b.rows() + "x" + b.cols() + " (K must match)");
        if (c != null && (cOff < 0 || (long) c.length - cOff < (long) a.rows() * b.rows()))
            throw new IllegalArgumentException("FP8 GEMM: C holds " + c.length + " floats, " + a.rows() + "x" + b.rows() + " needed from offset " + cOff);
    }

    /** C[M, N] = A * B^T with promotion every 128 (see the class comment). */
    public static float[] gemm(Fp8Tensor a, Fp8Tensor b) {
        float[] c = new float[a.rows() * b.rows()];
        gemm(a, b, c, false);
        return c;
    }

    /** C[M, N] (=|+=) A * B^T with promotion every 128; c is row-major with stride N; accumulate adds acc to c. */
    public static void gemm(Fp8Tensor a, Fp8Tensor b, float[] c, boolean accumulate) {
        gemm(a, b, c, 0, accumulate);
    }

    /** As {@link #gemm(Fp8Tensor, Fp8Tensor, float[], boolean)} with C starting at c[cOff]. */
    public static void gemm(Fp8Tensor a, Fp8Tensor b, float[] c, int cOff, boolean accumulate) {
        check(a, b, c, cOff);
        int m = a.rows(), n = b.rows(), k = a.cols();
        if (m == 0 || n == 0) return;
        int threads = Parallel.threads();
        int rc = Math.clamp(roundUp(Fp8Tensor.ceilDiv(m, 2 * threads), MR), MR, 64);
        int tasks = Fp8Tensor.ceilDiv(m, rc);
        Parallel.parallelFor(tasks, (t, worker) -> rowTask(a, b, c, cOff, accumulate, t * rc, Math.min(m, t * rc + rc), n, k));
    }

    private static int roundUp(int x, int q) { return (x + q - 1) / q * q; }

    private static void rowTask(Fp8Tensor a, Fp8Tensor b, float[] c, int cOff, boolean accumulate, int r0, int r1, int n, int k) {
        int rows = r1 - r0, groups = Fp8Tensor.ceilDiv(k, G);
        float[] af = new float[rows * k];
        decodeRows(a.codes(), r0 * k, rows * k, af);
        float[] sa = new float[rows * groups];                 // A's scales of these rows, [row][group]
        System.arraycopy(a.scales(), r0 * groups, sa, 0, rows * groups);
        float[] bp = new float[G * NR], sbp = new float[NR], brow = new float[G];
        float[] acc = new float[rows * NR];
        byte[] bc = b.codes();
        for (int j0 = 0; j0 < n; j0 += NR) {
            int nj = Math.min(NR, n - j0);
            java.util.Arrays.fill(acc, 0f);
            for (int g = 0; g < groups; g++) {
                int k0 = g * G, gk = Math.min(G, k - k0);
                // pack B's panel: bp[kk][jj] = value of B[j0 + jj][k0 + kk] (rows decoded with the vector trick);
                // columns past n are zero
                for (int jj = 0; jj < nj; jj++) {
                    decodeRows(bc, (j0 + jj) * k + k0, gk, brow);
                    for (int kk = 0; kk < gk; kk++) bp[kk * NR + jj] = brow[kk];
                    sbp[jj] = b.scaleAt(j0 + jj, k0);
                }
                for (int jj = nj; jj < NR; jj++) {
                    for (int kk = 0; kk < gk; kk++) bp[kk * NR + jj] = 0f;
                    sbp[jj] = 0f;
                }
                FloatVector sb0 = FloatVector.fromArray(F, sbp, 0), sb1 = FloatVector.fromArray(F, sbp, L);
                int r = 0;
                for (; r + MR <= rows; r += MR) block4(af, r * k + k0, k, gk, bp, sa, r * groups + g, groups, sb0, sb1, acc, r * NR);
                for (; r < rows; r++) block1(af, r * k + k0, gk, bp, sa[r * groups + g], sb0, sb1, acc, r * NR);
            }
            for (int r = 0; r < rows; r++) {
                int co = cOff + (r0 + r) * n + j0;
                for (int jj = 0; jj < nj; jj++) c[co + jj] = accumulate ? c[co + jj] + acc[r * NR + jj] : acc[r * NR + jj];
            }
        }
    }

    /** Four rows x NR columns of one K group, then promotion into acc (rows at accOff, accOff + NR, ...). */
    private static void block4(float[] af, int ao, int k, int gk, float[] bp, float[] sa, int so, int groups,
                               FloatVector sb0, FloatVector sb1, float[] acc, int accOff) {
        FloatVector z = FloatVector.zero(F);
        FloatVector s00 = z, s01 = z, s10 = z, s11 = z, s20 = z, s21 = z, s30 = z, s31 = z;
        int a0 = ao, a1 = ao + k, a2 = ao + 2 * k, a3 = ao + 3 * k;
        for (int kk = 0; kk < gk; kk++) {
            FloatVector b0 = FloatVector.fromArray(F, bp, kk * NR), b1 = FloatVector.fromArray(F, bp, kk * NR + L);
            FloatVector x = FloatVector.broadcast(F, af[a0 + kk]);
            s00 = x.fma(b0, s00); s01 = x.fma(b1, s01);
            x = FloatVector.broadcast(F, af[a1 + kk]);
            s10 = x.fma(b0, s10); s11 = x.fma(b1, s11);
            x = FloatVector.broadcast(F, af[a2 + kk]);
            s20 = x.fma(b0, s20); s21 = x.fma(b1, s21);
            x = FloatVector.broadcast(F, af[a3 + kk]);
            s30 = x.fma(b0, s30); s31 = x.fma(b1, s31);
        }
        promote(s00, s01, sa[so], sb0, sb1, acc, accOff);
        promote(s10, s11, sa[so + groups], sb0, sb1, acc, accOff + NR);
        promote(s20, s21, sa[so + 2 * groups], sb0, sb1, acc, accOff + 2 * NR);
        promote(s30, s31, sa[so + 3 * groups], sb0, sb1, acc, accOff + 3 * NR);
    }

    private static void block1(float[] af, int ao, int gk, float[] bp, float sa, FloatVector sb0, FloatVector sb1, float[] acc, int accOff) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0;
        for (int kk = 0; kk < gk; kk++) {
            FloatVector x = FloatVector.broadcast(F, af[ao + kk]);
            s0 = x.fma(FloatVector.fromArray(F, bp, kk * NR), s0);
            s1 = x.fma(FloatVector.fromArray(F, bp, kk * NR + L), s1);
        }
        promote(s0, s1, sa, sb0, sb1, acc, accOff);
    }

    /** acc = fma(sA * sB, S, acc), lane-wise: the scale product rounded to float, then one fused multiply-add. */
    private static void promote(FloatVector s0, FloatVector s1, float sa, FloatVector sb0, FloatVector sb1, float[] acc, int o) {
        sb0.mul(sa).fma(s0, FloatVector.fromArray(F, acc, o)).intoArray(acc, o);
        sb1.mul(sa).fma(s1, FloatVector.fromArray(F, acc, o + L)).intoArray(acc, o + L);
    }

    /** Decodes codes[off, off + len) to their float values into out[0, len) ({@link E4m3Vector#decodeMul}, times 1: exact). */
    static void decodeRows(byte[] codes, int off, int len, float[] out) {
        E4m3Vector.decodeMul(codes, off, 1f, out, 0, len);
    }

    /** The exact product of the dequantized operands, sum_k (decode(a) sA)(decode(b) sB), in double; row-parallel. */
    public static double[] referenceF64(Fp8Tensor a, Fp8Tensor b) {
        check(a, b, null, 0);
        int m = a.rows(), n = b.rows(), k = a.cols();
        double[] ad = dequantizeF64(a), bd = dequantizeF64(b);
        double[] c = new double[m * n];
        IntStream.range(0, m).parallel().forEach(i -> {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) s += ad[i * k + p] * bd[j * k + p];
                c[i * n + j] = s;
            }
        });
        return c;
    }

    /** decode(code) * scale in double (exact: 4 + 24 significant bits). */
    static double[] dequantizeF64(Fp8Tensor t) {
        int rows = t.rows(), cols = t.cols();
        double[] d = new double[rows * cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) d[r * cols + c] = (double) E4m3.decode(t.codes()[r * cols + c]) * t.scaleAt(r, c);
        return d;
    }

    /**
     * C[M, N] = A * B^T accumulated in the {@link LimitedAccumulator} {@code acc}. With {@code promote}, each 128-wide
     * group's sum of raw products is accumulated in {@code acc} and then promoted like {@link #gemm}: out =
     * fma(sA * sB, S, out) in FP32 (the hardware-faithful DeepGEMM scheme). Without, the whole K is one running sum in
     * {@code acc} with the group scales folded into each chunk sum; the result is rounded to float at the end.
     * Scalar, row-parallel.
     */
    public static float[] limited(Fp8Tensor a, Fp8Tensor b, LimitedAccumulator acc, boolean promote) {
        check(a, b, null, 0);
        int m = a.rows(), n = b.rows(), k = a.cols(), ch = acc.chunk();
        float[] ad = new float[m * k], bd = new float[n * k];
        for (int i = 0; i < ad.length; i++) ad[i] = E4m3.decode(a.codes()[i]);
        for (int i = 0; i < bd.length; i++) bd[i] = E4m3.decode(b.codes()[i]);
        float[] c = new float[m * n];
        IntStream.range(0, m).parallel().forEach(i -> {
            for (int j = 0; j < n; j++) {
                double run = 0;
                float out = 0f;
                for (int k0 = 0; k0 < k; k0 += G) {
                    int k1 = Math.min(k, k0 + G);
                    float sa = a.scaleAt(i, k0), sb = b.scaleAt(j, k0);
                    double scale = (double) sa * sb;              // exact
                    double grp = 0;
                    for (int p0 = k0; p0 < k1; p0 += ch) {
                        int p1 = Math.min(k1, p0 + ch);
                        double cs = 0;                             // exact: products are multiples of 2^-18 below 2^18
                        for (int p = p0; p < p1; p++) cs += (double) ad[i * k + p] * bd[j * k + p];
                        if (promote) grp = acc.round(grp + cs);
                        else run = acc.round(run + cs * scale);
                    }
                    if (promote) out = Math.fma(sa * sb, (float) grp, out);
                }
                c[i * n + j] = promote ? out : (float) run;
            }
        });
        return c;
    }
}
