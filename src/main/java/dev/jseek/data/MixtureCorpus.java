package dev.jseek.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.OptionalLong;
import java.util.stream.Stream;

/**
 * Several corpora one after the other (the comma-separated spec {@code a,b,c}): all documents of the first, then
 * of the second, ... Each part's documents are named {@code PART-INDEX/NAME}. The data loader shuffles sequence
 * windows, so the order of parts does not order training.
 */
public final class MixtureCorpus implements Corpus {
    private final String spec;
    private final List<Corpus> parts;

    public MixtureCorpus(String spec, List<Corpus> parts) {
        this.spec = spec;
        this.parts = List.copyOf(parts);
    }

    public List<Corpus> parts() { return parts; }

    @Override public String spec() { return spec; }

    @Override public Stream<Document> documents() {
        Stream<Document> all = Stream.empty();
        for (int i = 0; i < parts.size(); i++) {
            final int part = i;
            Stream<Document> s = Stream.of(parts.get(i)).flatMap(c -> {
                try {
                    return c.documents().map(d -> new Document(part + "/" + d.name(), d.text()));
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot open corpus " + c.spec() + ": " + e.getMessage(), e);
                }
            });
            all = Stream.concat(all, s);
        }
        return all;
    }

    @Override public OptionalLong documentCountHint() {
        long n = 0;
        for (Corpus c : parts) {
            OptionalLong h = c.documentCountHint();
            if (h.isEmpty()) return OptionalLong.empty();
            n += h.getAsLong();
        }
        return OptionalLong.of(n);
    }
}
