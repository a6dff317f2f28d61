package dev.jseek.cli;

import dev.jseek.data.ByteTextEncoder;
import dev.jseek.data.Corpus;
import dev.jseek.data.CorpusSpec;
import dev.jseek.data.DataFormatException;
import dev.jseek.data.DataPreparer;
import dev.jseek.data.TextEncoder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jseek data prepare}: tokenizes a corpus into token shards plus a manifest ({@link DataPreparer}, docs/architecture.md §7.2).
 */
@Command(name = "prepare", mixinStandardHelpOptions = true,
        description = {"Tokenize a corpus into binary token shards (train/val) with a manifest; FIM (PSM) per document at --fim-rate.",
                "A rerun with the same settings verifies finished shards and resumes."})
public final class DataPrepareCommand implements Callable<Integer> {
    @Option(names = "--corpus", required = true, paramLabel = "SPEC", description = "Corpus: " + CorpusSpec.SYNTAX)
    String corpus;

    @Option(names = "--tokenizer", required = true, paramLabel = "FILE|bytes",
            description = "tokenizer.json to encode with, or 'bytes' for the built-in byte-level test encoder (one id per UTF-8 byte).")
    String tokenizer;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory (shards + manifest.json).")
    Path out;

    /** Defaults of {@code --val-fraction}, {@code --fim-rate} and {@code --shard-tokens}. */
    static final double VAL_FRACTION = 0.01, FIM_RATE = 0.1;
    static final long SHARD_TOKENS = 50_000_000L;

    @Option(names = "--val-fraction", defaultValue = "" + VAL_FRACTION, description = "Fraction of documents held out for validation (default ${DEFAULT-VALUE}).")
    double valFraction;

    @Option(names = "--fim-rate", defaultValue = "" + FIM_RATE, description = "Fraction of documents in FIM PSM layout (default ${DEFAULT-VALUE}).")
    double fimRate;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the FIM choices and the validation split (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--shard-tokens", defaultValue = "" + SHARD_TOKENS, description = "Tokens per shard, at least (default ${DEFAULT-VALUE}).")
    long shardTokens;

    @Option(names = "--threads", description = "Tokenizer threads (default: available processors).")
    Integer threads;

    @Option(names = "--no-progress", description = "No progress bar.")
    boolean noProgress;

    /** A tokenizer for the data pipeline plus its identity for the manifest. */
    public record LoadedTokenizer(TextEncoder encoder, String name, String sha256) {}

    /**
     * Loads the {@code --tokenizer} argument: {@code bytes} = {@link ByteTextEncoder}; a file = the DeepSeek-V3
     * tokenizer.json (via dev.jseek.tokenizer once it is merged).
     */
    static LoadedTokenizer loadTokenizer(String arg) {
        if (arg.equals("bytes")) return new LoadedTokenizer(new ByteTextEncoder(), "bytes", "builtin:bytes");
        Path p = Path.of(arg);
        if (!Files.isRegularFile(p)) throw new UserException("--tokenizer " + arg + ": no such file (give a tokenizer.json or 'bytes')");
        dev.jseek.tokenizer.Tokenizer t = TokenizerFiles.load(p);
        return new LoadedTokenizer(encoder(t), p.toString(), sha256(p));
    }

    /** The data pipeline's view of a tokenizer: ids of the text alone (no BOS), plus EOS and the FIM ids. */
    static dev.jseek.data.TextEncoder encoder(dev.jseek.tokenizer.Tokenizer t) {
        return new dev.jseek.data.TextEncoder() {
            @Override public int[] encode(String text) { return t.encode(text); }
            @Override public int eosId() { return t.eosId(); }
            @Override public int fimBeginId() { return t.fimBeginId(); }
            @Override public int fimHoleId() { return t.fimHoleId(); }
            @Override public int fimEndId() { return t.fimEndId(); }
            @Override public int vocabSize() { return t.vocabSize(); }
        };
    }

    static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new UserException("cannot read tokenizer " + file + ": " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override public Integer call() throws IOException {
        prepare(corpus, tokenizer, out, valFraction, fimRate, seed, shardTokens, threads, noProgress);
        return 0;
    }

    /**
     * Tokenizes the corpus {@code corpus} (a {@link CorpusSpec}) with {@code tokenizer} (a tokenizer.json or "bytes")
     * into shards under {@code out}, printing what it did; {@code threads} null = all cores.
     */
    static void prepare(String corpus, String tokenizer, Path out, double valFraction, double fimRate, long seed, long shardTokens,
                        Integer threads, boolean noProgress) throws IOException {
        try {
            LoadedTokenizer tok = loadTokenizer(tokenizer);
            if (fimRate > 0 && (tok.encoder().fimBeginId() < 0 || tok.encoder().fimHoleId() < 0 || tok.encoder().fimEndId() < 0))
                throw new UserException("--tokenizer " + tokenizer + " has no <｜fim▁begin｜>/<｜fim▁hole｜>/<｜fim▁end｜> tokens; use --fim-rate 0 or a tokenizer with them");
            Corpus c = CorpusSpec.parse(corpus);
            int n = threads != null ? threads : Runtime.getRuntime().availableProcessors();
            DataPreparer.Options o = new DataPreparer.Options(c, tok.encoder(), tok.name(), tok.sha256(), out, valFraction, fimRate, seed,
                    shardTokens, n, !noProgress);
            DataPreparer.Result r = new DataPreparer(o, System.err).run();
            var m = r.manifest();
            System.out.printf("prepared %s: train %,d tokens in %d shards (%,d docs), val %,d tokens in %d shards (%,d docs), %s%n",
                    out, m.train().tokens(), m.train().shards().size(), m.train().documents(), m.val().tokens(), m.val().shards().size(),
                    m.val().documents(), m.dtype());
            if (r.documentsRead() > 0)
                System.out.printf("this run: read %,d documents, tokenized %,d (%,d tokens) in %.1f s with %d threads: %.0f docs/s, %.0f tokens/s; kept %d shards, wrote %d%n",
                        r.documentsRead(), r.documentsTokenized(), r.tokensWritten(), r.seconds(), n, r.documentsTokenized() / r.seconds(),
                        r.tokensWritten() / r.seconds(), r.shardsKept(), r.shardsWritten());
        } catch (DataFormatException e) {
            throw new UserException(e.getMessage(), e);
        }
    }
}
