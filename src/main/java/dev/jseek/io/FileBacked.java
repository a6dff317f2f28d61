package dev.jseek.io;

/** Something whose memory lives in opened files (mapped weights): it can tell whether those files changed since. */
public interface FileBacked {
    /** Throws {@link FileChangedException} when a file it was opened from changed on disk (see {@link FileIdentity}). */
    void checkUnchanged();
}
