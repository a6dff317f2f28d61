package dev.jseek.kernels;

import dev.jseek.tensor.Matrix;

/**
 * Cache-blocked, multi-threaded F32 GEMM (BLIS structure): C[m, n] = beta*C + alpha * op(A)[m, k] * op(B)[k, n]
 * with C row-major. C is cut into (row range x column range) blocks, one parallel task each (a single
 * {@link Parallel} job per product, no barriers). A task walks k in KC slices: it packs its op(B) columns
 * (at most NC) for the slice into KC x NR micro-panels, then for each MC-row block packs op(A) into MR x KC
 * micro-panels and runs the {@link MicroKernel} over all tile pairs. op(B) comes either from a row-major float
 * array (optionally transposed) or from a weight {@link Matrix} of any dtype, decoded while packing
 * (op(B) = W^T, the Linear layer).
 *
 * <p>Blocking (system properties for tuning): {@code jseek.gemm.kc} (default 256, a multiple of 128 so FP8
 * scale blocks never straddle a slice), {@code jseek.gemm.mc} (default 192, a multiple of MR = 12),
 * {@code jseek.gemm.nc} (default 768, the widest column block one task packs per k slice, sized for L2). Tiles never cross a slice; ragged edges go through a small tile buffer.
 */
final class GemmDriver {
    private GemmDriver() {}

    static final int MR = MicroKernel.MR;
    static final int NR = MicroKernel.NR;
    static final int KC = roundUp(Integer.getInteger("jseek.gemm.kc", 256), 128);
    static final int MC = roundUp(Integer.getInteger("jseek.gemm.mc", 192), MR);
    static final int NC = roundUp(Integer.getInteger("jseek.gemm.nc", 768), NR);
    /** Parallel tasks per thread (load balance vs. packing redundancy). */
    static final int TASKS_PER_THREAD = Integer.getInteger("jseek.gemm.tasksPerThread", 4);
    /** Below this many multiply-adds the whole product runs on the calling thread. */
    static final long SERIAL_MACS = 1L << 18;

    private static int roundUp(int v, int m) { return Math.max(m, (v + m - 1) / m * m); }

    /** Where op(B) [k, n] comes from. */
    interface BSource {
        /** Packs op(B) rows [p0, p0+kc), cols [j0, j0+cols) (cols <= NR) as one B micro-panel at dst[dstOff..]. */
        void pack(int p0, int kc, int j0, int cols, float[] dst, int dstOff, float[] tmp);
    }

    static BSource arrayB(boolean transB, float[] b, int bOff, int ldb) {
        return (p0, kc, j0, cols, dst, dstOff, tmp) -> Packing.packB(transB, b, bOff, ldb, p0, kc, j0, cols, dst, dstOff);
    }

    static BSource weightB(Matrix w) {
        return (p0, kc, j0, cols, dst, dstOff, tmp) -> Packing.packWeight(w, p0, kc, j0, cols, dst, dstOff, tmp);
    }

    /** C = beta*C + alpha * op(A) op(B); k >= 1, m, n >= 1, beta == 0 ignores C's old values. */
    static void gemm(int m, int n, int k, float alpha, boolean transA, float[] a, int aOff, int lda,
                     BSource b, float beta, float[] c, int cOff, int ldc) {
        boolean serial = (long) m * n * k < SERIAL_MACS || Parallel.threads() == 1;
        // One parallel job per product: tasks are (row range x column range) blocks of C, each running the whole
        // k loop with its own packed panels. No barriers inside, so a descheduled thread delays at most one task.
        // Packing redundancy is about 1/rowsPerTask (B) + 1/colsPerTask (A) of the multiply-adds.
        int threads = serial ? 1 : Parallel.threads();
        int target = serial ? 1 : TASKS_PER_THREAD * threads;
        double side = Math.sqrt((double) m * n / target);
        int colTasks = (int) Math.min((n + NR - 1) / NR, Math.ceil(n / Math.min(NC, Math.max(NR, side))));
        int maxRowTasks = (m + MR - 1) / MR;
        int rowTasks = Math.min(maxRowTasks, Math.max(1, (target + colTasks - 1) / colTasks));
        // a task count that is a multiple of the thread count keeps the last round full
        while ((rowTasks * colTasks) % threads != 0 && rowTasks < maxRowTasks) rowTasks++;
        int ct = ((n + colTasks - 1) / colTasks + NR - 1) / NR * NR;
        int rt = ((m + rowTasks - 1) / rowTasks + MR - 1) / MR * MR;
        final int ctF = ct, rtF = rt;
        final int cTasks = (n + ct - 1) / ct, rTasks = (m + rt - 1) / rt;
        Parallel.Task body = (t, w) -> {
            int ri = t / cTasks, ci = t % cTasks;
            int r0 = ri * rtF, r1 = Math.min(m, r0 + rtF);
            int c0 = ci * ctF, c1 = Math.min(n, c0 + ctF);
            Scratch s = Scratch.acquire();
            try {
                block(r0, r1, c0, c1, k, alpha, transA, a, aOff, lda, b, beta, c, cOff, ldc, s);
            } finally {
                s.release();
            }
        };
        int tasks = rTasks * cTasks;
        if (serial) for (int t = 0; t < tasks; t++) body.run(t, 0);
        else Parallel.parallelFor(tasks, body);
    }

    /** C[r0:r1, c0:c1] over all of k, on the calling thread. */
    private static void block(int r0, int r1, int c0, int c1, int k, float alpha, boolean transA, float[] a, int aOff,
                              int lda, BSource b, float beta, float[] c, int cOff, int ldc, Scratch s) {
        int nc = c1 - c0;
        int nPanels = (nc + NR - 1) / NR;
        float[] tile = null;
        for (int pc = 0; pc < k; pc += KC) {
            int kc = Math.min(KC, k - pc);
            float[] bBuf = s.get(1, nPanels * NR * kc);
            float[] tmp = s.get(2, NR * kc);
            for (int jp = 0; jp < nPanels; jp++) {
                int j0 = jp * NR;
                b.pack(pc, kc, c0 + j0, Math.min(NR, nc - j0), bBuf, jp * NR * kc, tmp);
            }
            if (pc == 0 && beta != 1f) scaleC(r0, r1, c0, c1, beta, c, cOff, ldc);
            for (int ic = r0; ic < r1; ic += MC) {
                int mc = Math.min(MC, r1 - ic);
                int mPanels = (mc + MR - 1) / MR;
                float[] aBuf = s.get(0, mPanels * MR * kc);
                for (int ip = 0; ip < mPanels; ip++) {
                    int i0 = ic + ip * MR;
                    Packing.packA(transA, a, aOff, lda, i0, Math.min(MR, r1 - i0), pc, kc, alpha, aBuf, ip * MR * kc);
                }
                for (int ip = 0; ip < mPanels; ip++) {
                    int i0 = ic + ip * MR;
                    int rows = Math.min(MR, r1 - i0);
                    for (int jp = 0; jp < nPanels; jp++) {
                        int j0 = jp * NR;
                        int cols = Math.min(NR, nc - j0);
                        int cTile = cOff + i0 * ldc + c0 + j0;
                        if (rows == MR && cols == NR) {
                            MicroKernel.kernel(kc, aBuf, ip * MR * kc, bBuf, jp * NR * kc, c, cTile, ldc);
                        } else {
                            if (tile == null) tile = s.get(3, MR * NR);
                            java.util.Arrays.fill(tile, 0, MR * NR, 0f);
                            MicroKernel.kernel(kc, aBuf, ip * MR * kc, bBuf, jp * NR * kc, tile, 0, NR);
                            for (int r = 0; r < rows; r++) {
                                int cr = cTile + r * ldc, tr = r * NR;
                                for (int q = 0; q < cols; q++) c[cr + q] += tile[tr + q];
                            }
                        }
                    }
                }
            }
        }
    }

    /** C[r0:r1, c0:c1] = beta * C, with beta == 0 writing zeros (old NaN/inf ignored). */
    private static void scaleC(int r0, int r1, int c0, int c1, float beta, float[] c, int cOff, int ldc) {
        for (int i = r0; i < r1; i++) {
            int o = cOff + i * ldc;
            if (beta == 0f) java.util.Arrays.fill(c, o + c0, o + c1, 0f);
            else for (int j = o + c0; j < o + c1; j++) c[j] *= beta;
        }
    }
}
