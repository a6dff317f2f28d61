package dev.jseek.kernels;

import dev.jseek.tensor.Matrix;

/**
 * Cache-blocked, multi-threaded F32 GEMM (BLIS structure): C[m, n] = beta*C + alpha * op(A)[m, k] * op(B)[k, n]
 * with C row-major. op(B) comes either from a row-major float array (optionally transposed) or from a weight
 * {@link Matrix} of any dtype, decoded while packing (op(B) = W^T, the Linear layer).
 *
 * <p>Work split (one {@link Parallel} task per block of C, no barriers inside a task):
 * <ul>
 *   <li>Wide products (at least 2 x threads x {@link #MIN_TASK_PANELS} column panels, e.g. every Linear with
 *       N >= 512 on 2 threads): C is cut into column blocks only, balanced over the threads
 *       ({@link #unitsPerTask}). Each task walks k in KC slices, packs its op(B) columns for the slice into KC x NR
 *       micro-panels (L2-resident; weights are decoded here) and runs the {@link MicroKernel} over all rows, so
 *       every op(B) element is packed exactly once. op(A) is packed once per product into MR x KC micro-panels
 *       shared by all tasks: a first parallel job packs a k chunk of A (as much of k as fits in
 *       {@link #A_SHARED_FLOATS}), a second computes with it, chunk after chunk.</li>
 *   <li>Narrower products: as few column blocks as NC allows, rows split over the threads; the first job of each
 *       k chunk packs both op(A) and op(B) (each element once), the second computes.</li>
 *   <li>A product that is one block (small, or one thread and at most NC columns) packs inside that block.</li>
 * </ul>
 * Very tall products (more than {@link #M_CHUNK} rows) go in equal row chunks.
 *
 * <p>Every C element is summed in the same order whatever the split, thread count or chunking: KC slices in
 * order, within a slice p in order in the kernel's accumulator, each slice's sum added to C. So results do not
 * depend on the thread count.
 *
 * <p>Blocking (system properties for tuning): {@code jseek.gemm.kc} (default 256, a multiple of 128 so FP8
 * scale blocks never straddle a slice), {@code jseek.gemm.mc} (default 192, a multiple of MR = 12: rows per A block
 * kept in L2 while the task's B panels stream past), {@code jseek.gemm.nc} (default 768, the widest column block
 * one task packs per k slice, sized for L2). Tiles never cross a slice; ragged edges go through a small tile buffer.
 */
final class GemmDriver {
    private GemmDriver() {}

    static final int MR = MicroKernel.MR;
    static final int NR = MicroKernel.NR;
    static final int KC = roundUp(Integer.getInteger("jseek.gemm.kc", 256), 128);
    static final int MC = roundUp(Integer.getInteger("jseek.gemm.mc", 192), MR);
    static final int NC = roundUp(Integer.getInteger("jseek.gemm.nc", 768), NR);
    /** Parallel tasks per thread aimed at (load balance on a shared machine vs. per-task overheads). */
    static final int TASKS_PER_THREAD = Integer.getInteger("jseek.gemm.tasksPerThread", 4);
    /** Below this many multiply-adds the whole product runs on the calling thread. */
    static final long SERIAL_MACS = 1L << 18;
    /** A product is wide (column blocks only) with at least 2 x threads x this many column panels. */
    static final int MIN_TASK_PANELS = 8;
    /** Panels packed per task of the packing job. */
    static final int PACK_UNITS = 8;
    /** Most floats of op(A) (and op(B) when shared) packed at once for sharing (16 MiB); longer k is done in chunks. */
    static final int A_SHARED_FLOATS = Math.max(MR * KC, Integer.getInteger("jseek.gemm.aSharedFloats", 1 << 22));

    /** Rows per {@link #gemmRows} call: a shared A chunk of this many rows covers at least 4 k slices. */
    static final int M_CHUNK = Math.max(MR, A_SHARED_FLOATS / (4 * KC) / MR * MR);

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
        // very tall products in equal row chunks, so that a shared A chunk still spans several k slices
        int chunks = (m + M_CHUNK - 1) / M_CHUNK;
        int rows = ((m + chunks - 1) / chunks + MR - 1) / MR * MR;
        for (int i0 = 0; i0 < m; i0 += rows)
            gemmRows(Math.min(rows, m - i0), n, k, alpha, transA, a, transA ? aOff + i0 : aOff + i0 * lda, lda, b, beta,
                    c, cOff + i0 * ldc, ldc);
    }

    private static void gemmRows(int m, int n, int k, float alpha, boolean transA, float[] a, int aOff, int lda,
                                 BSource b, float beta, float[] c, int cOff, int ldc) {
        boolean serial = (long) m * n * k < SERIAL_MACS || Parallel.threads() == 1;
        int threads = serial ? 1 : Parallel.threads();
        int colPanels = (n + NR - 1) / NR, rowPanels = (m + MR - 1) / MR;
        int maxCpt = Math.max(1, NC / NR);
        int cpt, rpt;
        boolean wide = colPanels >= 2 * threads * Math.min(maxCpt, MIN_TASK_PANELS);
        if (wide) {
            // column blocks only: every B element packed once, inside its task (L2-hot); A packed once, shared
            cpt = unitsPerTask(colPanels, threads, maxCpt);
            rpt = rowPanels;
        } else {
            // few columns: as few column blocks as NC allows, rows split for the threads; A and B packed once, shared
            cpt = Math.min(colPanels, maxCpt);
            int colTasks = (colPanels + cpt - 1) / cpt;
            rpt = threads == 1 ? rowPanels : unitsPerTask(rowPanels, (threads + colTasks - 1) / colTasks, rowPanels);
        }
        final int colTasks = (colPanels + cpt - 1) / cpt, rowTasks = (rowPanels + rpt - 1) / rpt;
        final int ct = cpt * NR, rt = rpt * MR, tasks = rowTasks * colTasks;
        if (tasks == 1) {
            // one block: everything packed inside it
            Scratch s = Scratch.acquire();
            try {
                block(0, m, 0, n, 0, k, alpha, transA, a, aOff, lda, null, 0, null, 0, b, beta, c, cOff, ldc, s);
            } finally {
                s.release();
            }
            return;
        }
        final boolean shareB = !wide;
        int aPanel = MR * KC + Packing.A_SLACK, bPanel = NR * KC;
        long perSlice = (long) rowPanels * aPanel + (shareB ? (long) colPanels * bPanel : 0);
        int chunk = (int) Math.min(k, Math.max(KC, A_SHARED_FLOATS / perSlice * KC));
        int chunkSlices = (chunk + KC - 1) / KC;
        Scratch own = Scratch.acquire();
        try {
            float[] ap = own.get(4, (int) Math.min((long) rowPanels * aPanel * chunkSlices, Integer.MAX_VALUE - 16));
            float[] bp = shareB ? own.get(0, (int) Math.min((long) colPanels * bPanel * chunkSlices, Integer.MAX_VALUE - 16)) : null;
            for (int k0 = 0; k0 < k; k0 += chunk) {
                final int kc0 = k0, k1 = Math.min(k, k0 + chunk);
                int slices = (k1 - k0 + KC - 1) / KC;
                // job 1: pack op(A)[:, k0:k1] as (slice, row panel) micro-panels, then (shareB) op(B) as (slice, col panel)
                int aUnits = slices * rowPanels, units = aUnits + (shareB ? slices * colPanels : 0);
                Parallel.Task pack = (t, w) -> {
                    int u0 = t * PACK_UNITS, u1 = Math.min(units, u0 + PACK_UNITS);
                    Scratch s = Scratch.acquire();
                    try {
                        for (int u = u0; u < u1; u++) {
                            if (u < aUnits) {
                                int sl = u / rowPanels, ip = u % rowPanels, p0 = kc0 + sl * KC, i0 = ip * MR;
                                Packing.packA(transA, a, aOff, lda, i0, Math.min(MR, m - i0), p0, Math.min(KC, k1 - p0),
                                        alpha, ap, u * aPanel);
                            } else {
                                int v = u - aUnits, sl = v / colPanels, jp = v % colPanels, p0 = kc0 + sl * KC, j0 = jp * NR;
                                int kc = Math.min(KC, k1 - p0);
                                b.pack(p0, kc, j0, Math.min(NR, n - j0), bp, v * bPanel, s.get(2, NR * kc));
                            }
                        }
                    } finally {
                        s.release();
                    }
                };
                int packTasks = (units + PACK_UNITS - 1) / PACK_UNITS;
                if (serial) for (int t = 0; t < packTasks; t++) pack.run(t, 0);
                else Parallel.parallelFor(packTasks, pack);
                // job 2: the blocks of C over this chunk
                Parallel.Task body = (t, w) -> {
                    int r0 = (t / colTasks) * rt, c0 = (t % colTasks) * ct;
                    Scratch s = Scratch.acquire();
                    try {
                        block(r0, Math.min(m, r0 + rt), c0, Math.min(n, c0 + ct), kc0, k1, alpha, transA, a, aOff, lda,
                                ap, rowPanels, bp, colPanels, b, kc0 == 0 ? beta : 1f, c, cOff, ldc, s);
                    } finally {
                        s.release();
                    }
                };
                if (serial) for (int t = 0; t < tasks; t++) body.run(t, 0);
                else Parallel.parallelFor(tasks, body);
            }
        } finally {
            own.release();
        }
    }

    /**
     * Panels per task for splitting {@code panels} panels over {@code threads} threads in tasks of at most
     * {@code maxPerTask} panels: among the splits whose busiest thread (tasks taken in order by the least loaded
     * thread) has at most 3% more panels than the best split's, the one whose task count is nearest
     * TASKS_PER_THREAD * threads.
     */
    static int unitsPerTask(int panels, int threads, int maxPerTask) {
        int colPanels = panels;
        int maxCpt = Math.min(colPanels, Math.max(1, maxPerTask));
        if (threads <= 1) return maxCpt;
        int target = TASKS_PER_THREAD * threads;
        long[] span = new long[maxCpt + 1];
        long best = Long.MAX_VALUE;
        for (int cpt = 1; cpt <= maxCpt; cpt++) {
            int tasks = (colPanels + cpt - 1) / cpt;
            long[] load = new long[threads];
            for (int t = 0; t < tasks; t++) {
                int min = 0;
                for (int i = 1; i < threads; i++) if (load[i] < load[min]) min = i;
                load[min] += Math.min(cpt, colPanels - t * cpt);
            }
            for (long l : load) span[cpt] = Math.max(span[cpt], l);
            best = Math.min(best, span[cpt]);
        }
        int bestCpt = maxCpt, bestDist = Integer.MAX_VALUE;
        for (int cpt = maxCpt; cpt >= 1; cpt--) {
            if (span[cpt] * 100 > best * 103) continue;
            int dist = Math.abs((colPanels + cpt - 1) / cpt - target);
            if (dist < bestDist) {
                bestDist = dist;
                bestCpt = cpt;
            }
        }
        return bestCpt;
    }

    /**
     * C[r0:r1, c0:c1] over k range [k0, k1), on the calling thread. With {@code ap} != null op(A) is already packed
     * there (chunk layout of {@link #gemmRows}: panel (slice, row panel) at (slice * rowPanels + panel) *
     * (MR * KC + A_SLACK)), otherwise it is packed here, MC rows at a time; with {@code bp} != null op(B) likewise
     * (panel (slice, col panel) at (slice * colPanels + panel) * NR * KC), otherwise packed here per slice. beta
     * (applied when k0 == 0 only) scales the block first.
     */
    private static void block(int r0, int r1, int c0, int c1, int k0, int k1, float alpha, boolean transA, float[] a,
                              int aOff, int lda, float[] ap, int rowPanels, float[] bp, int colPanels, BSource b,
                              float beta, float[] c, int cOff, int ldc, Scratch s) {
        int nc = c1 - c0;
        int nPanels = (nc + NR - 1) / NR;
        float[] tile = null;
        for (int pc = k0; pc < k1; pc += KC) {
            int kc = Math.min(KC, k1 - pc);
            float[] bBuf;
            int bBase, bStride;
            if (bp != null) {
                bBuf = bp;
                bStride = NR * KC;
                bBase = (((pc - k0) / KC) * colPanels + c0 / NR) * bStride;
            } else {
                bStride = NR * kc;
                bBase = 0;
                bBuf = s.get(1, nPanels * bStride);
                float[] tmp = s.get(2, NR * kc);
                for (int jp = 0; jp < nPanels; jp++) {
                    int j0 = jp * NR;
                    b.pack(pc, kc, c0 + j0, Math.min(NR, nc - j0), bBuf, jp * bStride, tmp);
                }
            }
            if (pc == 0 && beta != 1f) scaleC(r0, r1, c0, c1, beta, c, cOff, ldc);
            for (int ic = r0; ic < r1; ic += MC) {
                int mc = Math.min(MC, r1 - ic);
                int mPanels = (mc + MR - 1) / MR;
                float[] aBuf;
                int aBase, aStride;
                if (ap != null) {
                    aBuf = ap;
                    aStride = MR * KC + Packing.A_SLACK;
                    aBase = (((pc - k0) / KC) * rowPanels + ic / MR) * aStride;
                } else {
                    aStride = MR * kc + Packing.A_SLACK;
                    aBuf = s.get(0, mPanels * aStride);
                    aBase = 0;
                    for (int ip = 0; ip < mPanels; ip++) {
                        int i0 = ic + ip * MR;
                        Packing.packA(transA, a, aOff, lda, i0, Math.min(MR, r1 - i0), pc, kc, alpha, aBuf, ip * aStride);
                    }
                }
                for (int ip = 0; ip < mPanels; ip++) {
                    int i0 = ic + ip * MR;
                    int rows = Math.min(MR, r1 - i0);
                    int aPanel = aBase + ip * aStride;
                    for (int jp = 0; jp < nPanels; jp++) {
                        int j0 = jp * NR;
                        int cols = Math.min(NR, nc - j0);
                        int cTile = cOff + i0 * ldc + c0 + j0;
                        int bPanel = bBase + jp * bStride;
                        if (rows == MR && cols == NR) {
                            MicroKernel.kernel(kc, aBuf, aPanel, bBuf, bPanel, c, cTile, ldc);
                        } else {
                            if (tile == null) tile = s.get(3, MR * NR);
                            java.util.Arrays.fill(tile, 0, MR * NR, 0f);
                            MicroKernel.kernel(kc, aBuf, aPanel, bBuf, bPanel, tile, 0, NR);
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
