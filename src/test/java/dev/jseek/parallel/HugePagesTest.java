package dev.jseek.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** HugePages against the kernel's own account of the mapping (/proc/self/smaps). */
class HugePagesTest {

    @Test
    void smallBuffersAreOrdinaryZeroedAllocations() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = HugePages.allocate(a, 1000);
            assertEquals(1000, s.byteSize());
            assertEquals(0, s.address() % 64);
            for (long i = 0; i < s.byteSize(); i++) assertEquals(0, s.get(ValueLayout.JAVA_BYTE, i));
        }
    }

    @Test
    void largeBuffersAreAlignedZeroedAndOnHugePagesWhereTheKernelOffersThem() throws IOException {
        String mode = Files.readString(Path.of("/sys/kernel/mm/transparent_hugepage/enabled")).trim();
        try (Arena a = Arena.ofConfined()) {
            long bytes = 16L << 20;
            MemorySegment s = HugePages.allocate(a, bytes);
            assertEquals(bytes, s.byteSize());
            assertEquals(0, s.address() % HugePages.HUGE, "2 MiB aligned");
            for (long i = 0; i < bytes; i += 4096) assertEquals(0, s.get(ValueLayout.JAVA_BYTE, i));
            long fallbackBefore = vmstat("thp_fault_fallback");
            for (long i = 0; i < bytes; i += 4096) s.set(ValueLayout.JAVA_BYTE, i, (byte) 1);
            long fallbacks = vmstat("thp_fault_fallback") - fallbackBefore;
            long huge = anonHugeKiB(s.address());
            // "[never]": the kernel gives no huge pages to anyone, and the hint must not break the buffer.
            // Otherwise the faults of the hinted range either got huge pages, or the kernel tried and had no free
            // 2 MiB page (fragmented memory): it counts that as thp_fault_fallback. Without the hint it does neither.
            if (!mode.contains("[never]"))
                assertTrue(huge >= 2048 || fallbacks > 0, "THP mode " + mode + ": AnonHugePages of the buffer's mapping is "
                        + huge + " kB and the kernel counted no huge-page fault fallback");
            for (long i = 0; i < bytes; i += 4096) assertEquals(1, s.get(ValueLayout.JAVA_BYTE, i));
        }
    }

    /** A counter of /proc/vmstat (0 where the kernel does not keep it). */
    private static long vmstat(String name) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/vmstat")))
            if (line.startsWith(name + " ")) return Long.parseLong(line.substring(name.length() + 1).trim());
        return 0;
    }

    @Test
    void buffersOutliveNothingButTheirArena() {
        // many mappings opened and closed: munmap runs at close (a leak would exhaust nothing here, but a wrong
        // length or address makes munmap fail, and the close then throws)
        for (int k = 0; k < 64; k++) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment s = HugePages.allocate(a, (2L << 20) + 4096L * k);
                s.set(ValueLayout.JAVA_LONG, s.byteSize() - 8, k);
                assertEquals(k, s.get(ValueLayout.JAVA_LONG, s.byteSize() - 8));
            }
        }
    }

    /** The AnonHugePages (kB) of the /proc/self/smaps mapping that contains {@code address}. */
    private static long anonHugeKiB(long address) throws IOException {
        List<String> lines = Files.readAllLines(Path.of("/proc/self/smaps"));
        boolean inside = false;
        for (String line : lines) {
            if (line.matches("^[0-9a-f]+-[0-9a-f]+ .*")) {
                String[] range = line.substring(0, line.indexOf(' ')).split("-");
                long lo = Long.parseUnsignedLong(range[0], 16), hi = Long.parseUnsignedLong(range[1], 16);
                inside = Long.compareUnsigned(address, lo) >= 0 && Long.compareUnsigned(address, hi) < 0;
            } else if (inside && line.startsWith("AnonHugePages:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new AssertionError("no mapping in /proc/self/smaps contains 0x" + Long.toHexString(address));
    }
}
