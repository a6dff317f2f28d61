package dev.jseek.data;

import java.io.IOException;
import java.util.OptionalLong;
import java.util.stream.Stream;

/**
 * A source of {@link Document}s for pre-training (docs/architecture.md §7.2), streamed one at a time in a deterministic order
 * (sorted paths / entry names, or file order for JSONL), so that document indices — which seed FIM and name
 * documents in shards — are the same on every run. Built from a spec string by {@link CorpusSpec#parse}.
 */
public interface Corpus {
    /** The spec string this corpus was built from (recorded in the manifest). */
    String spec();

    /**
     * Streams the documents in order. The caller must close the stream (it may hold open files). Reading errors
     * surface as {@link java.io.UncheckedIOException} or {@link DataFormatException} naming the file.
     */
    Stream<Document> documents() throws IOException;

    /** Number of documents if known without reading them (for the progress bar); empty when unknown. */
    default OptionalLong documentCountHint() { return OptionalLong.empty(); }
}
