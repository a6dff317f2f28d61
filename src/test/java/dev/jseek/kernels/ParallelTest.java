package dev.jseek.kernels;

import static org.junit.jupiter.api.Assertions.*;

import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

@org.junit.jupiter.api.Timeout(120)
class ParallelTest {
    @Test
    void everyIndexRunsExactlyOnce() {
        for (int n : new int[] {0, 1, 2, 3, 7, 100, 10007}) {
            AtomicIntegerArray hits = new AtomicIntegerArray(Math.max(1, n));
            Parallel.parallelFor(n, (i, w) -> {
                assertTrue(w >= 0 && w < Parallel.threads());
                hits.incrementAndGet(i);
            });
            for (int i = 0; i < n; i++) assertEquals(1, hits.get(i), "n=" + n + " i=" + i);
        }
    }

    /** Contiguous runs per participant, the rest taken from the others' ends: still every task once, any n. */
    @Test
    void contiguousRunsEveryIndexExactlyOnce() {
        for (int n : new int[] {1, 2, 3, 7, 100, 10007}) {
            AtomicIntegerArray hits = new AtomicIntegerArray(n);
            Parallel.parallelForContiguous(n, (i, w) -> {
                assertTrue(w >= 0 && w < Parallel.threads());
                hits.incrementAndGet(i);
            });
            for (int i = 0; i < n; i++) assertEquals(1, hits.get(i), "n=" + n + " i=" + i);
        }
        RuntimeException e = assertThrows(IllegalStateException.class,
                () -> Parallel.parallelForContiguous(100, (i, w) -> { if (i == 57) throw new IllegalStateException("boom"); }));
        assertEquals("boom", e.getMessage());
        AtomicInteger total = new AtomicInteger();
        Parallel.parallelForContiguous(8, (i, w) -> Parallel.parallelForContiguous(5, (j, w2) -> total.incrementAndGet()));
        assertEquals(40, total.get());
    }

    @Test
    void rangesCoverExactlyOnce() {
        int n = 1001;
        AtomicIntegerArray hits = new AtomicIntegerArray(n);
        Parallel.parallelForRange(n, 64, (lo, hi) -> {
            assertTrue(hi - lo <= 64 && lo < hi);
            for (int i = lo; i < hi; i++) hits.incrementAndGet(i);
        });
        for (int i = 0; i < n; i++) assertEquals(1, hits.get(i));
    }

    @Test
    void nestedCallsRunSeriallyAndComplete() {
        AtomicInteger total = new AtomicInteger();
        Parallel.parallelFor(8, (i, w) -> Parallel.parallelFor(5, (j, w2) -> {
            total.incrementAndGet();
            // nested bodies run serially on the participant that made the nested call
            assertEquals(w, w2);
        }));
        assertEquals(40, total.get());
    }

    @Test
    void callsFromSeveralThreadsAreAllCompleted() throws Exception {
        int callers = 4, rounds = 200;
        AtomicInteger total = new AtomicInteger();
        Thread[] ts = new Thread[callers];
        for (int c = 0; c < callers; c++) {
            ts[c] = new Thread(() -> {
                for (int r = 0; r < rounds; r++) Parallel.parallelFor(17, (i, w) -> total.incrementAndGet());
            });
            ts[c].start();
        }
        for (Thread t : ts) t.join(60_000);
        assertEquals(callers * rounds * 17, total.get());
    }

    @Test
    void exceptionsReachTheCallerAndThePoolKeepsWorking() {
        RuntimeException e = assertThrows(IllegalStateException.class,
                () -> Parallel.parallelFor(100, (i, w) -> { if (i == 57) throw new IllegalStateException("boom"); }));
        assertEquals("boom", e.getMessage());
        AtomicInteger total = new AtomicInteger();
        Parallel.parallelFor(100, (i, w) -> total.incrementAndGet());
        assertEquals(100, total.get());
    }

    @Test
    void grainIsAMultipleAndCoversN() {
        int g = Parallel.grain(1000, 4, 16);
        assertEquals(0, g % 16);
        assertTrue(g * (long) Parallel.threads() * 4 >= 1000);
    }
}
