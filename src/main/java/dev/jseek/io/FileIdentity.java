package dev.jseek.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;

/**
 * What a weight file was when it was opened: size, modification time and file key (device + inode on Linux). A
 * mapped file that is truncated or overwritten in place would fault the JVM (SIGBUS) on the next read of a lost page;
 * {@link #check} notices the change first, so a server can refuse further work with a message. Replacing a model by
 * rename (write elsewhere, {@code mv} over) keeps the open file intact and is always safe.
 */
public record FileIdentity(Path file, long size, long modifiedMillis, Object fileKey) {
    /** The identity of {@code file} now. */
    public static FileIdentity of(Path file) throws IOException {
        BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
        return new FileIdentity(file, a.size(), a.lastModifiedTime().toMillis(), a.fileKey());
    }

    /** Throws {@link FileChangedException} when {@link #file} is no longer what it was (size, mtime or inode), or is gone. */
    public void check() {
        FileIdentity now;
        try {
            now = of(file);
        } catch (IOException e) {
            throw new FileChangedException(file, "it can no longer be read (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")");
        }
        if (now.size != size) throw new FileChangedException(file, "its size changed from " + size + " to " + now.size + " bytes");
        if (!Objects.equals(now.fileKey, fileKey)) throw new FileChangedException(file, "it was replaced (another file now has its name)");
        if (now.modifiedMillis != modifiedMillis) throw new FileChangedException(file, "it was modified (mtime changed)");
    }
}
