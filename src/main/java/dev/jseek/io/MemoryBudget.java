package dev.jseek.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a model load needs against what the machine and the JVM have, checked before loading, and the resident memory
 * after it. Mapped weights (the bytes of a GGUF or safetensors file that stay in the page cache) are compared with the
 * RAM available ({@code MemAvailable} of /proc/meminfo: free memory plus reclaimable cache, the file's own cached
 * pages included); what goes on the Java heap with the heap room left ({@code Runtime.maxMemory()} minus used). A
 * shortfall is an {@link InsufficientMemoryException} naming the file, both numbers and what to do.
 */
public final class MemoryBudget {
    private MemoryBudget() {}

    /** Bytes of RAM available for new use (Linux MemAvailable), or -1 when unknown. */
    public static long availableRam() { return meminfo("MemAvailable:"); }

    /** Resident set size of this process (VmRSS of /proc/self/status), or -1 when unknown. */
    public static long residentBytes() { return field(Path.of("/proc/self/status"), "VmRSS:"); }

    /** Heap bytes the JVM can still allocate (max heap minus what is in use). */
    public static long heapRoom() {
        Runtime r = Runtime.getRuntime();
        return r.maxMemory() - (r.totalMemory() - r.freeMemory());
    }

    private static long meminfo(String key) { return field(Path.of("/proc/meminfo"), key); }

    /** A "Key:   N kB" line of a /proc file, in bytes; -1 when the file or key is missing. */
    static long field(Path p, String key) {
        try {
            for (String line : Files.readAllLines(p)) {
                if (!line.startsWith(key)) continue;
                String[] f = line.substring(key.length()).trim().split("\\s+");
                long v = Long.parseLong(f[0]);
                return f.length > 1 && f[1].equalsIgnoreCase("kB") ? v * 1024 : v;
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /**
     * Fails when {@code mappedBytes} exceed the available RAM or {@code heapBytes} the heap room, before anything is
     * loaded. {@code what} names the model file.
     */
    public static void require(Path what, long mappedBytes, long heapBytes) {
        require(what, mappedBytes, heapBytes, availableRam(), heapRoom(), Runtime.getRuntime().maxMemory());
    }

    static void require(Path what, long mappedBytes, long heapBytes, long ram, long heapRoom, long maxHeap) {
        if (heapBytes > heapRoom) throw heapShort(what + ": loading needs ", heapBytes, heapRoom, maxHeap);
        if (ram >= 0 && mappedBytes > ram)
            throw new InsufficientMemoryException(what + ": the weights are " + gb(mappedBytes) + " (mapped from the file, they must fit in RAM), "
                    + "but only " + gb(ram) + " of RAM is available; free memory, or use a smaller weight type "
                    + "(jseek export --type q4_k_m writes about 0.3x the size of BF16)");
    }

    /**
     * Fails when {@code heapBytes} that {@code what} is about to allocate ({@code purpose}) exceed the heap room left
     * (after a load: a mode that builds copies on first use, for instance).
     */
    public static void requireHeap(String what, String purpose, long heapBytes) {
        Runtime r = Runtime.getRuntime();
        if (heapBytes > heapRoom()) {
            System.gc();
            long room = heapRoom();
            if (heapBytes > room) throw heapShort(what + " needs " + purpose + ": ", heapBytes, room, r.maxMemory());
        }
    }

    static InsufficientMemoryException heapShort(String head, long heapBytes, long heapRoom, long maxHeap) {
        return new InsufficientMemoryException(head + gb(heapBytes) + " of Java heap, " + gb(heapRoom)
                + " is free under the heap limit of " + gb(maxHeap) + "; raise the limit, e.g. JSEEK_JAVA_OPTS=-Xmx"
                + Math.max(1, (long) Math.ceil((maxHeap - heapRoom + heapBytes) * 1.25 / (1L << 30))) + "g");
    }

    /** A byte count as "1.62 GB" (10^9) or "312 MB". */
    public static String gb(long bytes) {
        return bytes >= 1_000_000_000L ? String.format("%.2f GB", bytes / 1e9) : String.format("%.0f MB", bytes / 1e6);
    }
}
