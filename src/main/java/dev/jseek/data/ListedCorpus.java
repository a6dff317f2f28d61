package dev.jseek.data;

import java.io.IOException;
import java.util.List;

/**
 * A corpus whose documents are the items of a listing made once, on first use, in document order (the files under
 * a directory, the entries of a zip archive): its spec and that cached listing.
 */
abstract class ListedCorpus<T> implements Corpus {
    private final String spec;
    private List<T> listing;

    ListedCorpus(String spec) { this.spec = spec; }

    @Override public final String spec() { return spec; }

    /** Makes the listing, in document order (called once, by {@link #listing}). */
    abstract List<T> list() throws IOException;

    /** The listing, made on first use. */
    final synchronized List<T> listing() throws IOException {
        if (listing == null) listing = List.copyOf(list());
        return listing;
    }
}
