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

    /**
     * Whether a mapped file is handed out as a plain native segment over the mapping's address (system property
     * {@code jseek.plainMapping}, default true) rather than as the mapped-segment class {@link FileChannel#map}
     * returns. The kernels' vector loads ({@code fromMemorySegment}) are compiled for the segment classes they have
     * seen: a model whose weights are mostly mapped but partly in arena memory (GGUF's kv_b, rebuilt at load from
     * attn_k_b and attn_v_b) made every BF16 GEMV of a decode step about 1.3x slower than with one class
     * (docs/quantization.md, "Where the step's time goes"). With plain segments mapped and arena weights are one
     * class. Same bytes, same lifetime (the arena), read-only by the mapping's protection.
     */
    public static final boolean PLAIN_MAPPING = !"false".equalsIgnoreCase(System.getProperty("jseek.plainMapping", "true"));

    /** Bytes 0..size-1 of {@code ch} in {@code arena}: mapped read-only when {@code map}, else read into memory. */
    public static MemorySegment load(FileChannel ch, long size, Arena arena, boolean map, Path file) throws IOException {
        if (map) {
            MemorySegment m = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return PLAIN_MAPPING ? MemorySegment.ofAddress(m.address()).reinterpret(size, arena, null).asReadOnly() : m;
        }
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
