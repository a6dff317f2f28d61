package dev.jseek.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A mapped weight file is handed out as a segment of the same class as arena memory (the kernels' vector loads are
 * compiled per segment class; a model whose weights come in two classes decodes 1.5-1.7x slower), with the file's
 * bytes, read-only, and dead once its arena is closed.
 */
class FileMemoryTest {
    @Test
    void mappedFileIsAPlainReadOnlySegmentOfTheArena(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("w.bin");
        byte[] bytes = new byte[10_000];
        for (int i = 0; i < bytes.length; i++) bytes[i] = (byte) (i * 31 + 7);
        Files.write(f, bytes);
        MemorySegment m;
        try (Arena arena = Arena.ofShared(); FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            m = FileMemory.load(ch, bytes.length, arena, true, f);
            assertEquals(arena.allocate(16).getClass(), m.getClass(), "mapped and arena weights must be one segment class");
            assertEquals(bytes.length, m.byteSize());
            for (int i = 0; i < bytes.length; i++) assertEquals(bytes[i], m.get(ValueLayout.JAVA_BYTE, i), "byte " + i);
            assertTrue(m.isReadOnly());
            MemorySegment mm = m;
            assertThrows(RuntimeException.class, () -> mm.set(ValueLayout.JAVA_BYTE, 0, (byte) 1));
        }
        MemorySegment dead = m;
        assertThrows(IllegalStateException.class, () -> dead.get(ValueLayout.JAVA_BYTE, 0));
    }
}
