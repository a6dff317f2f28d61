package dev.jseek.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jseek.data.Batch;
import dev.jseek.data.DataLoader;
import dev.jseek.data.LoaderState;
import dev.jseek.io.FormatException;
import java.io.IOException;

/**
 * Adapts the data engineer's {@link DataLoader} (shuffled packed windows, docs/architecture.md §7.2) to the {@link Trainer}'s
 * {@link BatchSource}: each loader batch of [rows, seqLen + 1] tokens becomes a {@link TokenBatch} of inputs and
 * shifted targets (documents are packed without cross-document masking, as in pre-training); the position is the
 * loader's {@link LoaderState} as JSON.
 */
public final class DataLoaderSource implements BatchSource<TokenBatch> {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final DataLoader loader;

    public DataLoaderSource(DataLoader loader) { this.loader = loader; }

    public DataLoader loader() { return loader; }

    @Override public TokenBatch next() {
        Batch b = loader.next();
        return TokenBatch.fromWindows(b.rows(), b.seqLen(), b.tokens());
    }

    @Override public int microBatchRows() { return loader.batchSize(); }

    @Override public long tokens(TokenBatch b) { return b.tokens(); }

    @Override public byte[] saveState() {
        try {
            return JSON.writeValueAsBytes(loader.state());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override public void restoreState(byte[] state) {
        LoaderState s;
        try {
            s = JSON.readValue(state, LoaderState.class);
        } catch (IOException e) {
            throw new FormatException("data loader state in the checkpoint is not a LoaderState JSON: " + e.getMessage(), e);
        }
        loader.restore(s);
    }
}
