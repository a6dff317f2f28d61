package dev.jseek.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --in FILE}, or standard input when it is not given. */
final class InputOption {
    @Option(names = "--in", description = "input file (default: standard input)")
    Path path;

    /** The name errors give the input: the file, or "standard input". */
    String name() { return path == null ? "standard input" : path.toString(); }

    /** Opens the input; a missing file is a {@link UserException}. */
    InputStream open() throws IOException {
        if (path == null) return System.in;
        try {
            return Files.newInputStream(path);
        } catch (NoSuchFileException e) {
            throw new UserException("input not found: " + e.getFile(), e);
        }
    }
}
