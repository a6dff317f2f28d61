package dev.jseek.parallel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Every {@link Communicator} operation against an oracle computed locally: each rank's input is a pure function of
 * (rank, index), so every rank can compute what every other rank sent and the rank-ordered sums with plain scalar
 * loops. Run by {@link ThreadCommTest} on thread ranks and by {@link MpiCheckMain} under mpirun.
 */
final class CommChecks {
    private CommChecks() {}

    /** Rank r's i-th input: values of varied magnitude and sign, so the summation order shows in the low bits. */
    static float x(int r, int i, int salt) {
        long h = (r * 0x9E3779B97F4A7C15L) ^ (i * 0xC2B2AE3D27D4EB4FL) ^ (salt * 0x165667B19E3779F9L);
        h ^= h >>> 29; h *= 0xBF58476D1CE4E5B9L; h ^= h >>> 32;
        float u = (h & 0xFFFFFF) / (float) (1 << 24) - 0.5f;
        return u * (float) Math.pow(10, (int) ((h >>> 24) & 7) - 3);
    }

    /** Runs all checks; throws AssertionError naming the first mismatch. */
    static void all(Communicator c, boolean nativeBuffers) {
        int n = c.size(), r = c.rank();
        try (Arena a = Arena.ofShared()) {
            // all-reduce (odd length, so pieces differ in size) — bitwise the scalar rank-ordered sum, on every rank
            for (int len : new int[] {0, 1, 7, 1000, 4099}) {
                MemorySegment buf = alloc(a, nativeBuffers, 4L * len);
                for (int i = 0; i < len; i++) buf.setAtIndex(ValueLayout.JAVA_FLOAT, i, x(r, i, len));
                c.allReduceSum(buf, len);
                for (int i = 0; i < len; i++) {
                    float e = x(0, i, len);
                    for (int k = 1; k < n; k++) e += x(k, i, len);
                    expect(buf.getAtIndex(ValueLayout.JAVA_FLOAT, i), e, "all-reduce len " + len + " element " + i, r);
                }
            }
            // reduce-scatter with uneven counts
            int[] counts = new int[n];
            for (int k = 0; k < n; k++) counts[k] = 3 + 5 * k;
            int total = Communicator.sum(counts);
            MemorySegment send = alloc(a, nativeBuffers, 4L * total), recv = alloc(a, nativeBuffers, 4L * counts[r]);
            for (int i = 0; i < total; i++) send.setAtIndex(ValueLayout.JAVA_FLOAT, i, x(r, i, 77));
            c.reduceScatterSum(send, recv, counts);
            int off = Communicator.displs(counts)[r];
            for (int i = 0; i < counts[r]; i++) {
                float e = x(0, off + i, 77);
                for (int k = 1; k < n; k++) e += x(k, off + i, 77);
                expect(recv.getAtIndex(ValueLayout.JAVA_FLOAT, i), e, "reduce-scatter element " + i, r);
            }
            // all-gather-v of bytes
            int[] bc = new int[n];
            for (int k = 0; k < n; k++) bc[k] = 2 * k + 1;
            MemorySegment bs = alloc(a, nativeBuffers, bc[r]), br = alloc(a, nativeBuffers, Communicator.sum(bc));
            for (int i = 0; i < bc[r]; i++) bs.set(ValueLayout.JAVA_BYTE, i, (byte) (r * 16 + i));
            c.allGatherV(bs, br, bc, ElemType.BYTE);
            int[] bd = Communicator.displs(bc);
            for (int k = 0; k < n; k++)
                for (int i = 0; i < bc[k]; i++)
                    if (br.get(ValueLayout.JAVA_BYTE, bd[k] + i) != (byte) (k * 16 + i)) throw new AssertionError("rank " + r + ": all-gather byte " + k + "/" + i);
            // all-to-all-v: rank r sends (r + j) % 3 + j floats to rank j, value x(r, j*100 + i)
            int[] sc = new int[n], rc = new int[n];
            for (int j = 0; j < n; j++) { sc[j] = (r + j) % 3 + j; rc[j] = (j + r) % 3 + r; }
            int[] sd = Communicator.displs(sc), rd = Communicator.displs(rc);
            MemorySegment as = alloc(a, nativeBuffers, 4L * Communicator.sum(sc)), ar = alloc(a, nativeBuffers, 4L * Communicator.sum(rc));
            for (int j = 0; j < n; j++) for (int i = 0; i < sc[j]; i++) as.setAtIndex(ValueLayout.JAVA_FLOAT, sd[j] + i, x(r, j * 100 + i, 5));
            c.allToAllV(as, sc, sd, ar, rc, rd, ElemType.FLOAT);
            for (int k = 0; k < n; k++)
                for (int i = 0; i < rc[k]; i++)
                    expect(ar.getAtIndex(ValueLayout.JAVA_FLOAT, rd[k] + i), x(k, r * 100 + i, 5), "all-to-all-v from " + k + " element " + i, r);
            // all-to-all-v into pieces with gaps between them: the gaps keep their values
            int[] gd = new int[n];
            for (int k = 0; k < n; k++) gd[k] = (k == 0 ? 1 : gd[k - 1] + rc[k - 1] + 2);
            int glen = gd[n - 1] + rc[n - 1] + 1;
            MemorySegment gr = alloc(a, nativeBuffers, 4L * glen);
            for (int i = 0; i < glen; i++) gr.setAtIndex(ValueLayout.JAVA_FLOAT, i, -1000f - i);
            c.allToAllV(as, sc, sd, gr, rc, gd, ElemType.FLOAT);
            for (int i = 0, k = 0; i < glen; i++) {
                while (k < n && i >= gd[k] + rc[k]) k++;
                boolean in = k < n && i >= gd[k];
                expect(gr.getAtIndex(ValueLayout.JAVA_FLOAT, i), in ? x(k, r * 100 + i - gd[k], 5) : -1000f - i,
                        "all-to-all-v with gaps, element " + i + (in ? " from " + k : " (a gap)"), r);
            }
            // broadcast from the last rank
            float[] bb = new float[9];
            if (r == n - 1) for (int i = 0; i < 9; i++) bb[i] = x(99, i, 1);
            c.broadcast(bb, 0, 9, n - 1);
            for (int i = 0; i < 9; i++) expect(bb[i], x(99, i, 1), "broadcast element " + i, r);
            // gathered doubles and longs
            double[] d = c.allGather(new double[] {r + 0.5, -r});
            long[] l = c.allGather(new long[] {1L << 40 | r});
            for (int k = 0; k < n; k++) {
                if (d[2 * k] != k + 0.5 || d[2 * k + 1] != -k) throw new AssertionError("rank " + r + ": gathered doubles " + Arrays.toString(d));
                if (l[k] != (1L << 40 | k)) throw new AssertionError("rank " + r + ": gathered longs " + Arrays.toString(l));
            }
            c.barrier();
            // batched send/recv: a ring both ways with two tags, heap and native buffers mixed
            if (n > 1) {
                int next = (r + 1) % n, prev = (r + n - 1) % n;
                float[] toNext = new float[17], fromPrev = new float[17];
                for (int i = 0; i < 17; i++) toNext[i] = x(r, i, 11);
                MemorySegment toPrev = alloc(a, nativeBuffers, 4 * 5), fromNext = alloc(a, nativeBuffers, 4 * 5);
                for (int i = 0; i < 5; i++) toPrev.setAtIndex(ValueLayout.JAVA_FLOAT, i, x(r, i, 12));
                List<Transfer> t = new ArrayList<>();
                t.add(Transfer.recv(prev, 1, fromPrev, 0, 17));
                t.add(Transfer.recv(next, 2, fromNext, 5, ElemType.FLOAT));
                t.add(Transfer.send(next, 1, toNext, 0, 17));
                t.add(Transfer.send(prev, 2, toPrev, 5, ElemType.FLOAT));
                c.exchange(t);
                for (int i = 0; i < 17; i++) expect(fromPrev[i], x(prev, i, 11), "ring receive element " + i, r);
                for (int i = 0; i < 5; i++) expect(fromNext.getAtIndex(ValueLayout.JAVA_FLOAT, i), x(next, i, 12), "reverse ring element " + i, r);
            }
        }
    }

    /**
     * {@link SubComm} groups of {@code world} (4 ranks): {3, 1} and {0, 2} (reversed and interleaved) pass
     * {@link #all} at once on band 1 while {1, 0, 3, 2} (every rank, another order) does on band 2 in between; then two
     * all-to-alls of different roles are in flight at once, posted in one order and completed in the other, each
     * against the rows computed directly.
     */
    static void subGroups(Communicator world, boolean nativeBuffers) {
        int w = world.rank();
        int[] pair = w % 2 == 1 ? new int[] {3, 1} : new int[] {0, 2};
        SubComm g = new SubComm(world, pair, 1), all = new SubComm(world, new int[] {1, 0, 3, 2}, 2);
        if (g.rank() != (w == 3 || w == 0 ? 0 : 1)) throw new AssertionError("rank " + w + ": group rank " + g.rank());
        all(g, nativeBuffers);
        all(all, nativeBuffers);
        all(g, nativeBuffers);
        int n = all.size(), r = all.rank(), len = 5;
        float[][] send = new float[2][n * len], recv = new float[2][n * len];
        int[] counts = new int[n], displs = new int[n];
        for (int j = 0; j < n; j++) { counts[j] = len; displs[j] = j * len; }
        Communicator.Pending[] p = new Communicator.Pending[2];
        for (int role = 1; role <= 2; role++) {
            for (int i = 0; i < n * len; i++) send[role - 1][i] = x(r, i, 100 + role);
            p[role - 1] = all.role(role).postAllToAllV(MemorySegment.ofArray(send[role - 1]), counts, displs,
                    MemorySegment.ofArray(recv[role - 1]), counts, displs, ElemType.FLOAT);
        }
        p[1].await();
        p[0].await();
        for (int role = 1; role <= 2; role++)
            for (int j = 0; j < n; j++)
                for (int i = 0; i < len; i++)
                    expect(recv[role - 1][j * len + i], x(j, r * len + i, 100 + role), "posted all-to-all role " + role + " from group rank " + j, w);
    }

    private static MemorySegment alloc(Arena a, boolean nat, long bytes) {
        return nat ? a.allocate(Math.max(bytes, 1), 64).asSlice(0, bytes) : MemorySegment.ofArray(new float[(int) ((bytes + 3) / 4)]).asSlice(0, bytes);
    }

    private static void expect(float got, float want, String what, int rank) {
        if (Float.floatToRawIntBits(got) != Float.floatToRawIntBits(want))
            throw new AssertionError("rank " + rank + ": " + what + ": got " + got + ", want " + want);
    }
}
