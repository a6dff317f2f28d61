package dev.jseek.parallel;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The thread backend: every operation against locally computed oracles, deadlines, failing ranks, mismatches. */
class ThreadCommTest {
    private static final long LONG = TimeUnit.SECONDS.toNanos(60);

    @Test void everyOperationMatchesTheOracleOnOneToFourRanks() {
        for (int n = 1; n <= 4; n++) {
            List<Integer> ok = ThreadRanks.run(n, LONG, c -> { CommChecks.all(c, false); CommChecks.all(c, true); return c.rank(); });
            assertEquals(n, ok.size());
        }
    }

    @Test void subCommunicatorsMatchTheOracleAndKeepTwoRolesApart() {
        List<Integer> ok = ThreadRanks.run(4, LONG, c -> { CommChecks.subGroups(c, false); CommChecks.subGroups(c, true); return c.rank(); });
        assertEquals(4, ok.size());
    }

    @Test void rankOrderSumIsBitwiseItsScalarTwin() {
        for (int n : new int[] {1, 2, 3, 5})
            for (int count : new int[] {0, 1, 15, 16, 17, 100, 1031}) {
                float[] parts = new float[n * count];
                for (int i = 0; i < parts.length; i++) parts[i] = CommChecks.x(i % 7, i, count);
                float[] a = new float[count], b = new float[count];
                RankOrderSum.sum(MemorySegment.ofArray(parts), n, count, MemorySegment.ofArray(a));
                RankOrderSum.sumScalar(MemorySegment.ofArray(parts), n, count, MemorySegment.ofArray(b));
                assertArrayEquals(b, a, "n " + n + " count " + count);
                for (int j = 0; j < count; j++) {                     // and the plain loop, order i = 0, 1, ...
                    float e = parts[j];
                    for (int i = 1; i < n; i++) e += parts[i * count + j];
                    assertEquals(Float.floatToRawIntBits(e), Float.floatToRawIntBits(a[j]));
                }
            }
    }

    @Test void aRankThatNeverArrivesFailsTheCollectiveNamingIt() {
        long t0 = System.nanoTime();
        CommException e = assertThrows(CommException.class, () -> ThreadRanks.run(3, TimeUnit.MILLISECONDS.toNanos(400), c -> {
            if (c.rank() == 2) {
                try { Thread.sleep(60_000); } catch (InterruptedException ie) { return null; }
            }
            c.barrier();
            return null;
        }));
        double sec = (System.nanoTime() - t0) / 1e9;
        assertTrue(e.getMessage().contains("rank 2 did not arrive within 0.4 s"), e.getMessage());
        assertTrue(e.getMessage().contains("barrier"), e.getMessage());
        assertTrue(sec < 10, "took " + sec + " s");
    }

    @Test void aMissingReceiveTimesOutNamingThePeer() {
        CommException e = assertThrows(CommException.class, () -> ThreadRanks.run(2, TimeUnit.MILLISECONDS.toNanos(300), c -> {
            float[] b = new float[4];
            if (c.rank() == 0) c.exchange(List.of(Transfer.recv(1, 7, b, 0, 4)));
            return null;
        }));
        assertTrue(e.getMessage().contains("receives from rank 1 (tag 7) did not arrive"), e.getMessage());
    }

    @Test void aRankThatThrowsStopsTheOthersWithoutWaitingForTheDeadline() {
        long t0 = System.nanoTime();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> ThreadRanks.run(3, LONG, c -> {
            if (c.rank() == 1) throw new IllegalStateException("boom on rank 1");
            c.allReduceSum(new float[8], 0, 8);
            return null;
        }));
        assertEquals("boom on rank 1", e.getMessage());
        assertTrue((System.nanoTime() - t0) / 1e9 < 10);
    }

    @Test void mismatchedCollectivesAndCountsAreNamed() {
        CommException e = assertThrows(CommException.class, () -> ThreadRanks.run(2, LONG, c -> {
            if (c.rank() == 0) c.barrier();
            else c.broadcast(new float[2], 0, 2, 0);
            return null;
        }));
        assertTrue(e.getMessage().contains("called barrier") && e.getMessage().contains("called broadcast"), e.getMessage());
        CommException f = assertThrows(CommException.class, () -> ThreadRanks.run(2, LONG, c -> {
            int[] sc = {1, 1}, rc = {1, c.rank() == 1 ? 2 : 1};
            c.allToAllV(MemorySegment.ofArray(new float[2]), sc, new int[] {0, 1}, MemorySegment.ofArray(new float[3]), rc, new int[] {0, 1}, ElemType.FLOAT);
            return null;
        }));
        assertTrue(f.getMessage().contains("rank 1 sends 1 elements to rank 1, which expects 2"), f.getMessage());
    }

    @Test void splitCoversTheCountInNearEqualPieces() {
        assertArrayEquals(new int[] {4, 3, 3}, Communicator.split(10, 3));
        assertArrayEquals(new int[] {0, 0}, Communicator.split(0, 2));
        assertArrayEquals(new int[] {0, 3, 7}, Communicator.displs(new int[] {3, 4, 1}));
    }
}
