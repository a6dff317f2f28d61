package dev.jseek.kernels;

import dev.jseek.tensor.Matrix;

/**
 * Cache-blocked, multi-threaded F32 GEMM (BLIS structure): C[m, n] = beta*C + alpha * op(A)[m, k] * op(B)[k, n]
 * with C row-major. For each NC-wide column block and each KC-deep slice of k, the whole op(A) slice and the
 * op(B) block are packed into micro-panels (in parallel), then the {@link MicroKernel} runs over tiles, in
 * parallel over (MC-row block x group of NR-wide B panels) tasks. op(B) comes either from a row-major float
 * array (optionally transposed) or from a weight {@link Matrix} of any dtype, decoded while packing
 * (op(B) = W^T, the Linear layer).
 *
 * <p>Blocking (system properties for tuning): {@code jseek.gemm.kc} (default 256, a multiple of 128 so FP8
 * scale blocks never straddle a slice), {@code jseek.gemm.mc} (default 192, a multiple of MR = 12),
 * {@code jseek.gemm.nc} (default 3072). Tiles never cross a slice; ragged edges go through a small tile buffer.
 */
final class GemmDriver {
    private GemmDriver() {}

    static final int MR = MicroKernel.MR;
    static final int NR = MicroKernel.NR;
    static final int KC = roundUp(Integer.getInteger("jseek.gemm.kc", 256), 128);
    static final int MC = roundUp(Integer.getInteger("jseek.gemm.mc", 192), MR);
    static final int NC = roundUp(Integer.getInteger("jseek.gemm.nc", 3072), NR);
    /** Max B panels per compute task, so a task's B panels (KC x NR each) stay in L2. */
    static final int JR_CHUNK = Integer.getInteger("jseek.gemm.jrChunk", 24);
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
        boolean serial = (long) m * n * k < SERIAL_MACS;
        Scratch scratch = Scratch.acquire();
        try {
            int mPanels = (m + MR - 1) / MR;
            for (int jc = 0; jc < n; jc += NC) {
                int nc = Math.min(NC, n - jc);
                int nPanels = (nc + NR - 1) / NR;
                for (int pc = 0; pc < k; pc += KC) {
                    int kc = Math.min(KC, k - pc);
                    float[] aBuf = scratch.get(0, mPanels * MR * kc);
                    float[] bBuf = scratch.get(1, nPanels * NR * kc);
                    final int jcF = jc, pcF = pc;
                    // phase 1: pack the op(A) slice and the op(B) block
                    final int aGroup = 8, bGroup = 2;
                    int aTasks = (mPanels + aGroup - 1) / aGroup, bTasks = (nPanels + bGroup - 1) / bGroup;
                    run(serial, aTasks + bTasks, (t, w) -> {
                        if (t < bTasks) {
                            Scratch s = Scratch.acquire();
                            try {
                                float[] tmp = s.get(2, kc);
                                for (int jp = t * bGroup, e = Math.min(nPanels, jp + bGroup); jp < e; jp++) {
                                    int j0 = jp * NR;
                                    b.pack(pcF, kc, jcF + j0, Math.min(NR, nc - j0), bBuf, jp * NR * kc, tmp);
                                }
                            } finally {
                                s.release();
                            }
                        } else {
                            int t2 = t - bTasks;
                            for (int ip = t2 * aGroup, e = Math.min(mPanels, ip + aGroup); ip < e; ip++) {
                                int i0 = ip * MR;
                                Packing.packA(transA, a, aOff, lda, i0, Math.min(MR, m - i0), pcF, kc, alpha, aBuf, ip * MR * kc);
                            }
                        }
                    });
                    // phase 2: micro-kernels over tiles
                    float betaEff = pc == 0 ? beta : 1f;
                    int icBlocks = (m + MC - 1) / MC;
                    int want = Math.max(1, 4 * Parallel.threads() / icBlocks);
                    int chunk = Math.max(1, Math.min(JR_CHUNK, (nPanels + want - 1) / want));
                    int jChunks = (nPanels + chunk - 1) / chunk;
                    run(serial, icBlocks * jChunks, (t, w) -> {
                        int ic = t / jChunks, jch = t % jChunks;
                        int i0 = ic * MC, i1 = Math.min(m, i0 + MC);
                        int jp0 = jch * chunk, jp1 = Math.min(nPanels, jp0 + chunk);
                        float[] tile = null;
                        for (int i = i0; i < i1; i += MR) {
                            int rows = Math.min(MR, i1 - i);
                            int aPanel = (i / MR) * MR * kc;
                            for (int jp = jp0; jp < jp1; jp++) {
                                int j0 = jp * NR;
                                int cols = Math.min(NR, nc - j0);
                                int cTile = cOff + i * ldc + jcF + j0;
                                if (rows == MR && cols == NR) {
                                    MicroKernel.kernel(kc, aBuf, aPanel, bBuf, jp * NR * kc, c, cTile, ldc, betaEff);
                                } else {
                                    if (tile == null) tile = new float[MR * NR];
                                    MicroKernel.kernel(kc, aBuf, aPanel, bBuf, jp * NR * kc, tile, 0, NR, 0f);
                                    for (int r = 0; r < rows; r++) {
                                        int cr = cTile + r * ldc, tr = r * NR;
                                        if (betaEff == 0f) for (int q = 0; q < cols; q++) c[cr + q] = tile[tr + q];
                                        else for (int q = 0; q < cols; q++) c[cr + q] = tile[tr + q] + betaEff * c[cr + q];
                                    }
                                }
                            }
                        }
                    });
                }
            }
        } finally {
            scratch.release();
        }
    }

    private static void run(boolean serial, int n, Parallel.Task body) {
        if (serial) for (int i = 0; i < n; i++) body.run(i, 0);
        else Parallel.parallelFor(n, body);
    }
}
