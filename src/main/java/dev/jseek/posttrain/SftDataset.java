package dev.jseek.posttrain;

import dev.jseek.data.DataFormatException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The SFT examples of a chat JSONL file ({@link ChatJsonl}), tokenized by an {@link SftEncoder} and cut to at most
 * {@code maxTokens} tokens (seq-len + 1: inputs and the shifted targets). A conversation whose assistant tokens all
 * lie beyond the cut is dropped (and counted); if every one is dropped the file is rejected.
 */
public final class SftDataset {
    /** Counts over the file: conversations read, dropped (nothing left to train after the cut), truncated, tokens. */
    public record Stats(int conversations, int dropped, int truncated, long tokens, long trainedTokens) {}

    private final Path file;
    private final List<SftExample> examples;
    private final Stats stats;

    private SftDataset(Path file, List<SftExample> examples, Stats stats) {
        this.file = file;
        this.examples = List.copyOf(examples);
        this.stats = stats;
    }

    public static SftDataset load(Path file, SftEncoder encoder, int maxTokens) {
        if (maxTokens < 2) throw new IllegalArgumentException("max tokens must be >= 2, got " + maxTokens);
        List<ChatJsonl.Conversation> convs = ChatJsonl.read(file);
        List<SftExample> out = new ArrayList<>();
        int dropped = 0, truncated = 0;
        long tokens = 0, trained = 0;
        for (ChatJsonl.Conversation c : convs) {
            SftExample e;
            try {
                e = encoder.encode(c.messages());
            } catch (IllegalArgumentException ex) {
                throw new DataFormatException(c.where() + ": " + ex.getMessage(), ex);
            }
            if (e.length() > maxTokens) {
                truncated++;
                e = e.truncate(maxTokens);
            }
            int t = e.trainedTargets(e.length());
            if (t == 0) {
                dropped++;
                continue;
            }
            tokens += e.length();
            trained += t;
            out.add(e);
        }
        if (out.isEmpty())
            throw new DataFormatException(file + ": none of the " + convs.size() + " conversations has an assistant token within the first "
                    + maxTokens + " tokens (raise --seq-len)");
        return new SftDataset(file, out, new Stats(convs.size(), dropped, truncated, tokens, trained));
    }

    public Path file() { return file; }

    public List<SftExample> examples() { return examples; }

    public Stats stats() { return stats; }
}
