package dev.jseek.data;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.jseek.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code manifest.json} of a prepared data directory: how the shards were made (corpus spec, tokenizer file and
 * SHA-256, seed, FIM rate, validation fraction, shard size, config hash) and what they hold (per split: shard
 * files with token and document counts). Written last, atomically, once every shard is complete.
 */
public record Manifest(String format, int version, String corpus, long corpusDocuments, TokenizerInfo tokenizer,
                       String dtype, long seed, double fimRate, double valFraction, long shardTokens, String configHash,
                       SplitInfo train, SplitInfo val) {
    public static final String FILE = "manifest.json";
    public static final String FORMAT = "jseek-tokens";

    /** The tokenizer the shards were made with. */
    public record TokenizerInfo(String name, String sha256, int vocabSize, int eosId, int fimBeginId, int fimHoleId, int fimEndId) {}

    /**
     * One shard file. {@code textBytes} (optional, absent in manifests written before it existed): UTF-8 bytes of the
     * source text of its documents.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ShardInfo(String file, long tokens, long documents, long firstDoc, long lastDoc, String payloadCrc32c, Long textBytes) {
        static ShardInfo of(ShardHeader h) {
            return new ShardInfo(ShardHeader.fileName(h.split(), h.shardIndex()), h.tokenCount(), h.docCount(), h.firstDoc(), h.lastDoc(),
                    String.format("%08x", h.payloadCrc()), h.hasTextBytes() ? h.textBytes() : null);
        }
    }

    /**
     * All shards of one split, in order. {@code textBytes} (optional): UTF-8 bytes of the source text of the split's
     * documents (before FIM and EOS), present when every shard records it; with {@code tokens} it gives the bytes per
     * token that turn a loss in nats per token into bits per byte.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record SplitInfo(long tokens, long documents, List<ShardInfo> shards, Long textBytes) {
        static SplitInfo of(List<ShardHeader> headers) {
            long t = 0, d = 0, b = 0;
            boolean all = true;
            for (ShardHeader h : headers) {
                t += h.tokenCount();
                d += h.docCount();
                b += h.textBytes();
                all &= h.hasTextBytes();
            }
            return new SplitInfo(t, d, headers.stream().map(ShardInfo::of).toList(), all && !headers.isEmpty() ? b : null);
        }

        /** Mean UTF-8 text bytes per token, or NaN when the manifest does not record the text bytes. */
        public double bytesPerToken() {
            return textBytes == null || tokens == 0 ? Double.NaN : (double) textBytes / tokens;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    public SplitInfo split(Split s) {
        return s == Split.TRAIN ? train : val;
    }

    /** Writes {@code dir/manifest.json} via a temp file, fsync and an atomic rename. */
    public void write(Path dir) throws IOException {
        AtomicFiles.write(dir.resolve(FILE), JSON.writeValueAsBytes(this));
    }

    /** Reads {@code dir/manifest.json}; a clear error if it is missing or malformed. */
    public static Manifest read(Path dir) throws IOException {
        Path f = dir.resolve(FILE);
        if (!Files.isRegularFile(f))
            throw new DataFormatException("no " + FILE + " in " + dir + ": not a prepared data directory, or `jseek data prepare` did not finish (rerun it to resume)");
        Manifest m;
        try {
            m = JSON.readValue(f.toFile(), Manifest.class);
        } catch (JacksonException e) {
            throw new DataFormatException(f + " is malformed: " + e.getOriginalMessage());
        }
        if (!FORMAT.equals(m.format)) throw new DataFormatException(f + ": field format is '" + m.format + "', expected '" + FORMAT + "'");
        if (m.version != ShardHeader.VERSION) throw new DataFormatException(f + ": field version is " + m.version + ", expected " + ShardHeader.VERSION);
        if (m.train == null || m.val == null || m.tokenizer == null) throw new DataFormatException(f + ": missing field train, val or tokenizer");
        return m;
    }
}
