package dev.jseek.parallel;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Native buffers for MPI transfers backed by transparent huge pages where the kernel offers them. With THP in
 * {@code madvise} mode (the common default) a plain allocation gets 4 KiB pages; Open MPI's shared-memory transport
 * then copies and (for single-copy CMA) pins the buffer page by page, about half the speed of the same transfer
 * from a 2 MiB-page buffer (numpy asks for huge pages on its large arrays, so mpi4py gets them).
 *
 * <p>Buffers of 2 MiB and more are a fresh anonymous {@code mmap}, aligned to 2 MiB inside the mapping and marked
 * {@code MADV_HUGEPAGE} before any page is touched, so the first fault of each 2 MiB range can take a huge page.
 * (Marking a {@code malloc} block does not work reliably: malloc may hand back memory that is already faulted in
 * with 4 KiB pages, and the zeroing of {@link Arena#allocate} touches every page before the hint.) The kernel
 * zeroes the pages; the mapping is unmapped when the arena closes. Where {@code mmap} or {@code madvise} is
 * missing the buffer is an ordinary arena allocation. {@code -Djseek.comm.hugePages=false} turns this off.
 */
public final class HugePages {
    private HugePages() {}

    static final long HUGE = 2L << 20;
    private static final int PROT_READ_WRITE = 0x1 | 0x2, MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20, MADV_HUGEPAGE = 14;
    private static final boolean ENABLED = Boolean.parseBoolean(System.getProperty("jseek.comm.hugePages", "true"));
    private static final MethodHandle MMAP, MUNMAP, MADVISE;

    static {
        MethodHandle mmap = null, munmap = null, madvise = null;
        try {
            Linker l = Linker.nativeLinker();
            SymbolLookup libc = l.defaultLookup();
            mmap = libc.find("mmap").map(a -> l.downcallHandle(a, FunctionDescriptor.of(ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG))).orElse(null);
            munmap = libc.find("munmap").map(a -> l.downcallHandle(a, FunctionDescriptor.of(ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_LONG))).orElse(null);
            madvise = libc.find("madvise").map(a -> l.downcallHandle(a, FunctionDescriptor.of(ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT))).orElse(null);
        } catch (RuntimeException e) {
            mmap = null;
        }
        boolean all = mmap != null && munmap != null && madvise != null;
        MMAP = all ? mmap : null;
        MUNMAP = all ? munmap : null;
        MADVISE = all ? madvise : null;
    }

    /** {@code bytes} of zeroed native memory that lives as long as {@code arena}, on huge pages when it is at least 2 MiB. */
    public static MemorySegment allocate(Arena arena, long bytes) {
        if (!ENABLED || MMAP == null || bytes < HUGE) return arena.allocate(Math.max(1, bytes), 64);
        long rounded = (bytes + HUGE - 1) / HUGE * HUGE;
        long mapped = rounded + HUGE; // room to start on a 2 MiB boundary
        MemorySegment base;
        try {
            base = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, mapped, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0L);
        } catch (Throwable t) {
            base = MemorySegment.NULL;
        }
        if (base.address() == -1L || base.address() == 0L) return arena.allocate(bytes, 64);
        final long start = base.address();
        MemorySegment whole = base.reinterpret(mapped, arena, s -> unmap(start, mapped));
        long skip = (HUGE - start % HUGE) % HUGE;
        MemorySegment aligned = whole.asSlice(skip, rounded);
        try {
            int rc = (int) MADVISE.invokeExact(aligned, rounded, MADV_HUGEPAGE);
            assert rc == 0 || rc == -1; // a hint only: the buffer works either way
        } catch (Throwable t) {
            // a hint only
        }
        return aligned.asSlice(0, bytes);
    }

    private static void unmap(long address, long bytes) {
        int rc;
        try {
            rc = (int) MUNMAP.invokeExact(MemorySegment.ofAddress(address), bytes);
        } catch (Throwable t) {
            throw new IllegalStateException("munmap of a " + bytes + "-byte MPI staging buffer failed", t);
        }
        if (rc != 0) throw new IllegalStateException("munmap of a " + bytes + "-byte MPI staging buffer at 0x"
                + Long.toHexString(address) + " returned " + rc);
    }
}
