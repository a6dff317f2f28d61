package dev.jseek.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.Set;
import java.util.stream.Stream;

/**
 * All regular files under a directory (recursively, symbolic links not followed) whose name ends with one of the
 * given extensions, in the order of their relative paths ('/'-separated, compared as strings). A document's name
 * is its relative path; its text is the file decoded as UTF-8 (malformed bytes become U+FFFD). Empty extension set
 * = every file.
 */
public final class DirectoryCorpus extends ListedCorpus<Path> {
    private final Path root;
    private final Set<String> extensions;

    /** @param extensions file-name suffixes without the dot, case-insensitive ({@code "txt"}, {@code "java"}); empty = all */
    public DirectoryCorpus(String spec, Path root, Set<String> extensions) {
        super(spec);
        this.root = root;
        this.extensions = extensions.stream().map(e -> e.toLowerCase(Locale.ROOT)).collect(java.util.stream.Collectors.toUnmodifiableSet());
    }

    @Override List<Path> list() throws IOException {
        if (!Files.isDirectory(root)) throw new DataFormatException("corpus directory " + root + " does not exist or is not a directory");
        List<Path> out = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(root)) {
            walk.filter(Files::isRegularFile).filter(this::accepted).forEach(out::add);
        }
        out.sort((a, b) -> relative(a).compareTo(relative(b)));
        return out;
    }

    private boolean accepted(Path p) {
        if (extensions.isEmpty()) return true;
        String name = p.getFileName().toString().toLowerCase(Locale.ROOT);
        int dot = name.lastIndexOf('.');
        return dot >= 0 && extensions.contains(name.substring(dot + 1));
    }

    private String relative(Path p) {
        return root.relativize(p).toString().replace(p.getFileSystem().getSeparator(), "/");
    }

    @Override public Stream<Document> documents() throws IOException {
        return listing().stream().map(p -> {
            try {
                return new Document(relative(p), new String(Files.readAllBytes(p), StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read corpus file " + p + ": " + e.getMessage(), e);
            }
        });
    }

    @Override public OptionalLong documentCountHint() {
        try {
            return OptionalLong.of(listing().size());
        } catch (IOException e) {
            return OptionalLong.empty();
        }
    }
}
