package dev.jseek.io;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pre-load memory check: which shortfall is reported, with both numbers and the fix; /proc parsing. */
class MemoryBudgetTest {
    static final long G = 1_000_000_000L;

    @Test
    void heapShortfallNamesTheHeapAndTheFlag() {
        InsufficientMemoryException e = assertThrows(InsufficientMemoryException.class,
                () -> MemoryBudget.require(Path.of("m.gguf"), 1 * G, 3 * G, 20 * G, 2 * G, 4L << 30));
        assertEquals("m.gguf: loading needs 3.00 GB of Java heap, 2.00 GB is free under the heap limit of 4.29 GB; raise the limit, "
                + "e.g. JSEEK_JAVA_OPTS=-Xmx7g", e.getMessage());
    }

    @Test
    void ramShortfallNamesTheMappedWeights() {
        InsufficientMemoryException e = assertThrows(InsufficientMemoryException.class,
                () -> MemoryBudget.require(Path.of("m.gguf"), 3_100_000_000L, 100_000_000L, 1_600_000_000L, 5 * G, 6 * G));
        assertTrue(e.getMessage().startsWith("m.gguf: the weights are 3.10 GB (mapped from the file, they must fit in RAM), but only 1.60 GB of RAM"),
                e.getMessage());
        assertTrue(e.getMessage().contains("--type q4_k_m"), e.getMessage());
    }

    @Test
    void heapNeedAfterLoadNamesWhatNeedsIt() {
        long max = Runtime.getRuntime().maxMemory();
        InsufficientMemoryException e = assertThrows(InsufficientMemoryException.class,
                () -> MemoryBudget.requireHeap("--attn naive", "its F32 kv_b_proj copies", 2 * max));
        assertTrue(e.getMessage().startsWith("--attn naive needs its F32 kv_b_proj copies: " + MemoryBudget.gb(2 * max) + " of Java heap, "),
                e.getMessage());
        assertTrue(e.getMessage().contains("JSEEK_JAVA_OPTS=-Xmx"), e.getMessage());
        MemoryBudget.requireHeap("--attn naive", "a few bytes", 1000);
    }

    @Test
    void fitsOrUnknownRamPasses() {
        MemoryBudget.require(Path.of("m.gguf"), 1 * G, 1_000_000, 2 * G, 2 * G, 4 * G);
        MemoryBudget.require(Path.of("m.gguf"), 100 * G, 1_000_000, -1, 2 * G, 4 * G); // no /proc/meminfo: no RAM check
    }

    @Test
    void procFieldsAreParsedInBytes(@TempDir Path tmp) throws Exception {
        Path p = tmp.resolve("meminfo");
        Files.writeString(p, "MemTotal:       24000000 kB\nMemAvailable:   1234 kB\n");
        assertEquals(1234 * 1024, MemoryBudget.field(p, "MemAvailable:"));
        assertEquals(-1, MemoryBudget.field(p, "Nope:"));
        assertEquals(-1, MemoryBudget.field(tmp.resolve("missing"), "MemAvailable:"));
        assertTrue(MemoryBudget.residentBytes() > 0, "VmRSS of this JVM");
    }
}
