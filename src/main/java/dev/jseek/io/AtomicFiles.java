package dev.jseek.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Crash-safe file writing: the content goes to a temporary file next to the target, is forced to disk, and is then
 * renamed over the target (atomically where the file system allows). A failed write leaves the old target intact
 * and removes the temporary file.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** Writes through a channel. */
    @FunctionalInterface
    public interface ChannelWriter { void write(FileChannel ch) throws IOException; }

    /** Writes {@code target} atomically with {@code writer}; I/O errors become {@link FormatException}s naming the file. */
    public static void write(Path target, ChannelWriter writer) {
        Path abs = target.toAbsolutePath();
        Path parent = abs.getParent();
        Path tmp = null;
        try {
            if (parent != null) Files.createDirectories(parent);
            tmp = Files.createTempFile(parent, "." + abs.getFileName() + ".", ".tmp");
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                writer.write(ch);
                ch.force(true);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException e) {
            throw new FormatException(target + ": cannot write: " + e, e);
        } finally {
            if (tmp != null) try { Files.deleteIfExists(tmp); } catch (IOException ignored) { /* best effort */ }
        }
    }

    /** Writes {@code bytes} to {@code target} atomically. */
    public static void write(Path target, byte[] bytes) {
        write(target, ch -> writeFully(ch, java.nio.ByteBuffer.wrap(bytes)));
    }

    /** Writes all remaining bytes of {@code b}. */
    public static void writeFully(FileChannel ch, java.nio.ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }
}
