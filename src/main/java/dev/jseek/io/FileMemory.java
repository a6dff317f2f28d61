package dev.jseek.io;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * A weight file's bytes in memory: mapped (the default; pages load on first touch and are shared with the page
 * cache) or, with the system property {@code jseek.mmap=false} (the CLI's {@code --no-mmap}), read whole into the
 * arena, so that later changes to the file cannot reach the loaded model.
 */
public final class FileMemory {
    private FileMemory() {}

    /** The system property that turns mapping off. */
    public static final String MMAP_PROPERTY = "jseek.mmap";

    /** Whether weight files are mapped ({@code jseek.mmap}, default true). */
    public static boolean mmap() { return !"false".equalsIgnoreCase(System.getProperty(MMAP_PROPERTY, "true")); }

    /** Bytes 0..size-1 of {@code ch} in {@code arena}: mapped read-only when {@code map}, else read into memory. */
    public static MemorySegment load(FileChannel ch, long size, Arena arena, boolean map, Path file) throws IOException {
        if (map) return ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
        MemorySegment m;
        try {
            m = arena.allocate(size, 64);
        } catch (OutOfMemoryError e) {
            throw new FormatException(file + ": " + size + " bytes do not fit in memory without mapping; drop --no-mmap or give "
                    + "the JVM more memory (JSEEK_JAVA_OPTS=-Xmx... and -XX:MaxDirectMemorySize=...)", e);
        }
        long pos = 0;
        while (pos < size) {
            int n = (int) Math.min(1 << 30, size - pos);
            ByteBuffer b = m.asSlice(pos, n).asByteBuffer();
            while (b.hasRemaining()) {
                int r = ch.read(b, pos + b.position());
                if (r < 0) throw new FormatException(file + ": unexpected end of file at byte " + (pos + b.position()) + " (it is shrinking?)");
            }
            pos += n;
        }
        return m;
    }
}
