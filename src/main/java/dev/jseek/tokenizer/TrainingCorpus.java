package dev.jseek.tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The documents a BPE training run reads (kept minimal; corpus readers proper live in {@code dev.jseek.data}):
 * a single text file, a directory (all regular files below it, recursively), or a {@code .zip} (its entries). An
 * optional glob (e.g. {@code *.java}) filters file / entry names; files are visited in sorted path order; a byte
 * budget stops the walk. Each file is one document, decoded as UTF-8 (ill-formed bytes become U+FFFD); files with a
 * NUL byte in their first 8 KB are taken for binary and skipped.
 */
public final class TrainingCorpus {
    private final Path path;
    private final PathMatcher include;
    private final String includeGlob;
    private final long maxBytes;
    private long bytesRead;

    /**
     * @param path        file, directory or .zip
     * @param includeGlob glob on the file name (e.g. {@code *.java}), or null for all
     * @param maxBytes    stop after this many bytes (the file that crosses it is the last), or {@code Long.MAX_VALUE}
     */
    public TrainingCorpus(Path path, String includeGlob, long maxBytes) {
        this.path = path;
        this.includeGlob = includeGlob;
        this.include = includeGlob == null ? null : FileSystems.getDefault().getPathMatcher("glob:" + includeGlob);
        this.maxBytes = maxBytes;
    }

    private boolean included(String name) {
        if (include == null) return true;
        int slash = name.lastIndexOf('/');
        return include.matches(Path.of(name.substring(slash + 1)));
    }

    /** Calls {@code sink} with every document, in order. */
    public void forEach(Consumer<String> sink) throws IOException {
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString(), null, "corpus not found");
        long[] bytes = {0};
        try {
            walk(bytes, sink);
        } finally {
            bytesRead = bytes[0];
        }
    }

    /** UTF-8 bytes of the documents the last {@link #forEach} passed on. */
    public long bytesRead() { return bytesRead; }

    private void walk(long[] bytes, Consumer<String> sink) throws IOException {
        if (Files.isDirectory(path)) {
            List<Path> files;
            try (Stream<Path> s = Files.walk(path)) {
                files = s.filter(Files::isRegularFile).filter(p -> included(p.getFileName().toString())).sorted().toList();
            }
            for (Path f : files) {
                if (bytes[0] >= maxBytes) break;
                byte[] b = Files.readAllBytes(f);
                emit(b, bytes, sink);
            }
        } else if (path.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".zip")) {
            try (ZipFile z = new ZipFile(path.toFile())) {
                List<? extends ZipEntry> entries = z.stream().filter(e -> !e.isDirectory() && included(e.getName()))
                        .sorted(Comparator.comparing(ZipEntry::getName)).toList();
                for (ZipEntry e : entries) {
                    if (bytes[0] >= maxBytes) break;
                    try (InputStream in = z.getInputStream(e)) {
                        emit(in.readAllBytes(), bytes, sink);
                    }
                }
            }
        } else {
            emit(Files.readAllBytes(path), bytes, sink);
        }
    }

    private static void emit(byte[] b, long[] bytes, Consumer<String> sink) {
        for (int i = 0, n = Math.min(b.length, 8192); i < n; i++) if (b[i] == 0) return;
        bytes[0] += b.length;
        sink.accept(Utf8.decodeLossy(b));
    }

    /** All documents as a list. */
    public List<String> readAll() throws IOException {
        List<String> out = new ArrayList<>();
        forEach(out::add);
        return out;
    }

    @Override public String toString() {
        return path + (includeGlob == null ? "" : " (" + includeGlob + ")") + (maxBytes == Long.MAX_VALUE ? "" : ", max " + maxBytes + " bytes");
    }

}
