package dev.jseek.data;

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

    /** One shard file. */
    public record ShardInfo(String file, long tokens, long documents, long firstDoc, long lastDoc, String payloadCrc32c) {
        static ShardInfo of(ShardHeader h) {
            return new ShardInfo(ShardHeader.fileName(h.split(), h.shardIndex()), h.tokenCount(), h.docCount(), h.firstDoc(), h.lastDoc(),
                    String.format("%08x", h.payloadCrc()));
        }
    }

    /** All shards of one split, in order. */
    public record SplitInfo(long tokens, long documents, List<ShardInfo> shards) {
        static SplitInfo of(List<ShardHeader> headers) {
            long t = 0, d = 0;
            for (ShardHeader h : headers) {
                t += h.tokenCount();
                d += h.docCount();
            }
            return new SplitInfo(t, d, headers.stream().map(ShardInfo::of).toList());
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
