package dev.jseek.io;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A weight file's bytes held for reading, the common part of {@link SafetensorsFile} and {@code gguf.GgufFile}:
 * mapped (or, with {@code jseek.mmap=false}, read into memory; {@link FileMemory}) in an arena of its own, with the
 * file's {@link FileIdentity} when mapped, so a file changed under the mapping is noticed ({@link #checkUnchanged}).
 * Slices are valid until {@link #close()}.
 */
public final class MappedFile implements AutoCloseable {
    private final Path path;
    private final Arena arena;
    private final MemorySegment bytes;
    private final FileIdentity identity;

    private MappedFile(Path path, Arena arena, MemorySegment bytes, FileIdentity identity) {
        this.path = path;
        this.arena = arena;
        this.bytes = bytes;
        this.identity = identity;
    }

    /** Reads a format from an open file: usually its header through {@code channel}, then {@code bytes.hold(size)}. */
    @FunctionalInterface
    public interface Reader<T> {
        T read(FileChannel channel, Bytes bytes) throws IOException;
    }

    /** Keeps the bytes of the file being opened. */
    @FunctionalInterface
    public interface Bytes {
        /** The file's bytes [0, size): mapped or read into memory as it was opened ({@link FileMemory#load}). */
        MappedFile hold(long size) throws IOException;
    }

    /**
     * Opens {@code file} (to be mapped when {@code map}, its identity taken now) and returns what {@code reader} makes of
     * it. When the reader fails, the bytes it held are released; an I/O error becomes a {@link FormatException} naming
     * the file.
     */
    public static <T> T open(Path file, boolean map, Reader<T> reader) {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            FileIdentity identity = map ? FileIdentity.of(file) : null; // read into memory: later changes cannot reach it
            return reader.read(ch, size -> new MappedFile(file, arena,
                    size == 0 ? MemorySegment.ofArray(new byte[0]) : FileMemory.load(ch, size, arena, map, file), identity));
        } catch (IOException e) {
            arena.close();
            throw new FormatException(file + ": cannot read: " + e, e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path path() { return path; }

    /** All the bytes. */
    public MemorySegment bytes() { return bytes; }

    /** Zero-copy read-only slice of {@code size} bytes at {@code offset}. */
    public MemorySegment slice(long offset, long size) { return bytes.asSlice(offset, size); }

    /** Throws {@link FileChangedException} when the file changed on disk since it was opened (mapped files only). */
    public void checkUnchanged() { if (identity != null) identity.check(); }

    /** Releases the bytes; slices of them become invalid. */
    @Override public void close() { if (arena.scope().isAlive()) arena.close(); }
}
