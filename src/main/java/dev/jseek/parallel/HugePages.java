package dev.jseek.parallel;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Native buffers for MPI transfers backed by transparent huge pages where the kernel offers them. With THP in
 * {@code madvise} mode (the common default) a plain allocation gets 4 KiB pages; Open MPI's shared-memory transport
 * then copies and (for single-copy CMA) pins the buffer page by page, about half the speed of the same transfer
 * from a 2 MiB-page buffer (numpy asks for huge pages on its large arrays, so mpi4py gets them). Buffers of 2 MiB
 * and more are aligned to 2 MiB and marked {@code MADV_HUGEPAGE}; where {@code madvise} is missing or refuses, the
 * buffer is simply an ordinary one. {@code -Djseek.comm.hugePages=false} turns the hint off.
 */
public final class HugePages {
    private HugePages() {}

    static final long HUGE = 2L << 20;
    private static final int MADV_HUGEPAGE = 14;
    private static final boolean ENABLED = Boolean.parseBoolean(System.getProperty("jseek.comm.hugePages", "true"));
    private static final MethodHandle MADVISE = lookup();

    private static MethodHandle lookup() {
        try {
            Linker l = Linker.nativeLinker();
            return l.defaultLookup().find("madvise").map(a -> l.downcallHandle(a,
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT))).orElse(null);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** {@code bytes} of zeroed native memory from {@code arena}, on huge pages when it is at least 2 MiB. */
    public static MemorySegment allocate(Arena arena, long bytes) {
        if (!ENABLED || MADVISE == null || bytes < HUGE) return arena.allocate(Math.max(1, bytes), 64);
        long rounded = (bytes + HUGE - 1) / HUGE * HUGE;
        MemorySegment s = arena.allocate(rounded, HUGE);
        try {
            int rc = (int) MADVISE.invokeExact(s, rounded, MADV_HUGEPAGE);
            assert rc == 0 || rc == -1;
        } catch (Throwable t) {
            // a hint only: the buffer works either way
        }
        return s.asSlice(0, bytes);
    }
}
