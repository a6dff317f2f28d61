package dev.jseek.io;

import java.nio.file.Path;

/**
 * A weight file changed on disk after it was opened (see {@link FileIdentity}): its mapped memory can no longer be
 * trusted, and reading it may crash the JVM. The message says what changed and what to do.
 */
public final class FileChangedException extends RuntimeException {
    private final Path file;

    public FileChangedException(Path file, String what) {
        super("the model file " + file + " changed on disk after it was loaded: " + what + "; restart to load it again "
                + "(replace model files by rename, never in place; or run with --no-mmap to hold the weights in memory)", null, false, false);
        this.file = file;
    }

    public Path file() { return file; }
}
