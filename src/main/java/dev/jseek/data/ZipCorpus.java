package dev.jseek.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.Predicate;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * The file entries of a zip archive accepted by an entry-name filter, in entry-name order; each entry is a
 * document named by its entry name, decoded as UTF-8 (malformed bytes become U+FFFD). The default code corpus is
 * the JDK's {@code lib/src.zip} with {@link JdkSourceFilter} (see {@link #jdkSources}).
 */
public final class ZipCorpus extends ListedCorpus<String> {
    /** The JDK source archive of the running JDK, {@code $java.home/lib/src.zip}. */
    public static Path defaultJdkSrcZip() {
        return Path.of(System.getProperty("java.home"), "lib", "src.zip");
    }

    /** The JDK's src.zip filtered by {@link JdkSourceFilter}. */
    public static ZipCorpus jdkSources(String spec, Path srcZip) {
        return new ZipCorpus(spec, srcZip, new JdkSourceFilter());
    }

    private final Path zip;
    private final Predicate<String> filter;

    public ZipCorpus(String spec, Path zip, Predicate<String> entryFilter) {
        super(spec);
        this.zip = zip;
        this.filter = entryFilter;
    }

    private ZipFile open() throws IOException {
        if (!Files.isRegularFile(zip)) throw new DataFormatException("zip corpus " + zip + " does not exist");
        try {
            return new ZipFile(zip.toFile(), StandardCharsets.UTF_8);
        } catch (ZipException e) {
            throw new DataFormatException("zip corpus " + zip + " is not a readable zip archive: " + e.getMessage(), e);
        }
    }

    @Override List<String> list() throws IOException {
        try (ZipFile zf = open()) {
            List<String> out = new ArrayList<>();
            for (ZipEntry e : Collections.list(zf.entries()))
                if (!e.isDirectory() && filter.test(e.getName())) out.add(e.getName());
            Collections.sort(out);
            return out;
        }
    }

    /** The names of the selected entries, in document order. */
    public List<String> entryNames() throws IOException { return listing(); }

    @Override public Stream<Document> documents() throws IOException {
        List<String> selected = listing();
        ZipFile zf = open();
        return selected.stream().map(name -> {
            ZipEntry e = zf.getEntry(name);
            try (InputStream in = zf.getInputStream(e)) {
                return new Document(name, new String(in.readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException ex) {
                throw new UncheckedIOException("cannot read entry " + name + " of " + zip + ": " + ex.getMessage(), ex);
            }
        }).onClose(() -> {
            try {
                zf.close();
            } catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
        });
    }

    @Override public OptionalLong documentCountHint() {
        try {
            return OptionalLong.of(entryNames().size());
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();
        }
    }
}
