package dev.jseek.data;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * {@code jseek data prepare}: tokenizes a {@link Corpus} into token shards ({@link ShardHeader}) and a
 * {@link Manifest} (docs/architecture.md §7.2). Per document, in corpus order with corpus index {@code d}: the split
 * ({@link Split#of(String, long, double)}), then {@link FimTransform} (FIM at {@code fimRate}, always ending with
 * EOS); empty documents are dropped. Each split's documents are appended to its current shard, which is closed
 * once it holds at least {@code shardTokens} tokens (documents never straddle shards).
 *
 * <p>Parallel and deterministic: one thread reads the corpus and cuts it into chunks, {@code threads} workers
 * tokenize chunks, and a bounded queue of futures hands results to the writer in submission order, so the bytes
 * written do not depend on the thread count.
 *
 * <p>Resumable: each finished shard is renamed into place complete and records the corpus indices of its first and
 * last document. A rerun verifies the existing shards (checksums, settings fingerprint), keeps the valid prefix
 * of each split, skips (without tokenizing) every document already in a kept shard, and continues; the result is
 * byte-identical to an uninterrupted run. A shard that fails verification is reported, deleted with the shards
 * after it, and rewritten. A directory prepared with other settings is refused.
 */
public final class DataPreparer {
    /** Settings of one preparation. {@code tokenizerName}/{@code tokenizerSha256} identify the encoder in the manifest. */
    public record Options(Corpus corpus, TextEncoder encoder, String tokenizerName, String tokenizerSha256, Path out,
                          double valFraction, double fimRate, long seed, long shardTokens, int threads, boolean progress) {
        public Options {
            if (!(valFraction >= 0 && valFraction < 1)) throw new DataFormatException("--val-fraction " + valFraction + " must be in [0, 1)");
            if (!(fimRate >= 0 && fimRate <= 1)) throw new DataFormatException("--fim-rate " + fimRate + " must be in [0, 1]");
            if (shardTokens < 1) throw new DataFormatException("--shard-tokens " + shardTokens + " must be >= 1");
            if (threads < 1) throw new DataFormatException("--threads " + threads + " must be >= 1");
        }
    }

    /** What a run did: the manifest, how many shards were kept from before, documents tokenized and time taken. */
    public record Result(Manifest manifest, int shardsKept, int shardsWritten, long documentsTokenized, long tokensWritten,
                         long documentsRead, long nanos) {
        public double seconds() { return nanos / 1e9; }
    }

    private static final Pattern SHARD_NAME = Pattern.compile("(train|val)-(\\d{5,})\\.bin");
    private static final int CHUNK_DOCS = 64;
    private static final long CHUNK_CHARS = 1 << 22;

    private final Options o;
    private final PrintStream log;

    public DataPreparer(Options options, PrintStream log) {
        this.o = options;
        this.log = log;
    }

    /** The settings fingerprint stored in every shard header and the manifest. */
    public static long configHash(Options o) {
        TextEncoder e = o.encoder();
        String canon = "jseek-tokens/" + ShardHeader.VERSION + "|corpus=" + o.corpus().spec() + "|tokenizer=" + o.tokenizerSha256()
                + "|vocab=" + e.vocabSize() + "|eos=" + e.eosId() + "|fim=" + e.fimBeginId() + "," + e.fimHoleId() + "," + e.fimEndId()
                + "|seed=" + o.seed() + "|fimRate=" + o.fimRate() + "|val=" + o.valFraction() + "|shardTokens=" + o.shardTokens();
        return Hashing.hash(canon);
    }

    public Result run() throws IOException {
        long t0 = System.nanoTime();
        Path out = o.out();
        Files.createDirectories(out);
        long cfg = configHash(o);
        deleteTemps(out);

        Manifest old = null;
        if (Files.exists(out.resolve(Manifest.FILE))) {
            old = Manifest.read(out);
            if (!old.configHash().equals(hex(cfg)))
                throw new DataFormatException(out.resolve(Manifest.FILE) + " was prepared with other settings (config hash " + old.configHash()
                        + ", these settings give " + hex(cfg) + "); use another --out or delete " + out);
        }

        Map<Split, List<ShardHeader>> kept = new EnumMap<>(Split.class);
        boolean allValid = true;
        for (Split s : Split.values()) {
            List<ShardHeader> valid = keptShards(out, s, cfg);
            kept.put(s, valid);
            if (old != null && valid.size() != old.split(s).shards().size()) allValid = false;
        }
        if (old != null && allValid) {
            log.println("data prepare: " + out + " is complete (" + old.train().shards().size() + " train + " + old.val().shards().size()
                    + " val shards verified); nothing to do");
            return new Result(old, old.train().shards().size() + old.val().shards().size(), 0, 0, 0, 0, System.nanoTime() - t0);
        }
        if (old != null) Files.delete(out.resolve(Manifest.FILE));
        int keptCount = kept.get(Split.TRAIN).size() + kept.get(Split.VAL).size();
        if (keptCount > 0) log.println("data prepare: resuming: keeping " + kept.get(Split.TRAIN).size() + " train and "
                + kept.get(Split.VAL).size() + " val shards already written");

        long[] doneUpTo = new long[2];
        for (Split s : Split.values()) {
            List<ShardHeader> k = kept.get(s);
            doneUpTo[s.code] = k.isEmpty() ? -1 : k.getLast().lastDoc();
        }
        Writers writers = new Writers(out, cfg, kept);
        long[] counts = stream(doneUpTo, writers);
        writers.finishAll();

        Manifest m = new Manifest(Manifest.FORMAT, ShardHeader.VERSION, o.corpus().spec(), counts[0],
                new Manifest.TokenizerInfo(o.tokenizerName(), o.tokenizerSha256(), o.encoder().vocabSize(), o.encoder().eosId(),
                        o.encoder().fimBeginId(), o.encoder().fimHoleId(), o.encoder().fimEndId()),
                ShardHeader.bytesPerToken(o.encoder().vocabSize()) == 2 ? "uint16" : "uint32", o.seed(), o.fimRate(), o.valFraction(),
                o.shardTokens(), hex(cfg), Manifest.SplitInfo.of(writers.headers.get(Split.TRAIN)), Manifest.SplitInfo.of(writers.headers.get(Split.VAL)));
        if (m.train().tokens() == 0)
            log.println("data prepare: warning: the train split is empty (corpus " + o.corpus().spec() + " has no non-empty training documents)");
        m.write(out);
        return new Result(m, keptCount, writers.written, counts[1], counts[2], counts[0], System.nanoTime() - t0);
    }

    /** UTF-8 encoded length of {@code s} (an unpaired surrogate counts 1 byte: '?', as String.getBytes encodes it). */
    static long utf8Length(String s) {
        long n = 0;
        for (int i = 0, len = s.length(); i < len; i++) {
            char c = s.charAt(i);
            if (c < 0x80) n++;
            else if (c < 0x800) n += 2;
            else if (Character.isHighSurrogate(c) && i + 1 < len && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else if (Character.isSurrogate(c)) n++;
            else n += 3;
        }
        return n;
    }

    static String hex(long v) {
        return String.format("%016x", v);
    }

    private void deleteTemps(Path out) throws IOException {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(out, "*.tmp")) {
            for (Path p : ds) Files.delete(p);
        }
    }

    /** The longest run train-00000, 00001, ... of valid shards with these settings; deletes the rest of the split. */
    private List<ShardHeader> keptShards(Path out, Split s, long cfg) throws IOException {
        List<ShardHeader> valid = new ArrayList<>();
        for (int i = 0; ; i++) {
            Path f = out.resolve(ShardHeader.fileName(s, i));
            if (!Files.exists(f)) break;
            ShardHeader h;
            try {
                h = Shard.verify(f);
            } catch (DataFormatException e) {
                log.println("data prepare: " + e.getMessage() + "; rewriting it");
                break;
            }
            if (h.configHash() != cfg)
                throw new DataFormatException("shard " + f + " was prepared with other settings (config hash " + hex(h.configHash()) + ", these settings give "
                        + hex(cfg) + "); use another --out or delete " + out);
            if (h.split() != s || h.shardIndex() != i || h.docCount() == 0
                    || (!valid.isEmpty() && h.firstDoc() <= valid.getLast().lastDoc())) {
                log.println("data prepare: shard " + f + " does not continue the previous shard (split " + h.split().fileName + ", index "
                        + h.shardIndex() + ", documents " + h.firstDoc() + ".." + h.lastDoc() + "); rewriting it");
                break;
            }
            valid.add(h);
        }
        // delete everything of this split past the valid prefix (an invalid shard, or shards after a gap)
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(out, s.fileName + "-*.bin")) {
            for (Path p : ds) {
                Matcher m = SHARD_NAME.matcher(p.getFileName().toString());
                if (m.matches() && Integer.parseInt(m.group(2)) >= valid.size()) Files.delete(p);
            }
        }
        return valid;
    }

    /** The open shard of each split and the headers of all finished ones. */
    private final class Writers {
        final Path out;
        final long cfg;
        final Map<Split, List<ShardHeader>> headers = new EnumMap<>(Split.class);
        final Map<Split, ShardWriter> open = new EnumMap<>(Split.class);
        int written;

        Writers(Path out, long cfg, Map<Split, List<ShardHeader>> kept) {
            this.out = out;
            this.cfg = cfg;
            for (Split s : Split.values()) headers.put(s, new ArrayList<>(kept.get(s)));
        }

        void add(Split s, int[] tokens, long docIndex, long textBytes) throws IOException {
            ShardWriter w = open.get(s);
            if (w == null) {
                int idx = headers.get(s).size();
                w = new ShardWriter(out.resolve(ShardHeader.fileName(s, idx)), s, idx, o.encoder().vocabSize(), cfg);
                open.put(s, w);
            }
            w.add(tokens, docIndex, textBytes);
            if (w.tokenCount() >= o.shardTokens()) finish(s);
        }

        void finish(Split s) throws IOException {
            ShardWriter w = open.remove(s);
            if (w == null) return;
            headers.get(s).add(w.finish());
            written++;
        }

        void finishAll() throws IOException {
            for (Split s : Split.values()) finish(s);
        }

        void abort() {
            for (ShardWriter w : open.values()) {
                try {
                    w.close();
                } catch (IOException ignored) {
                    // the temp file is deleted on the next run
                }
            }
        }
    }

    private record Chunk(long firstIndex, List<String> names, List<String> texts) {}

    private record Encoded(long index, Split split, int[] tokens, long textBytes) {}

    private record ChunkResult(int documents, List<Encoded> encoded) {}

    private static final Object END = new Object();

    /** Reads, tokenizes and writes; returns {documents read, documents tokenized, tokens written}. */
    private long[] stream(long[] doneUpTo, Writers writers) throws IOException {
        FimTransform fim = new FimTransform(o.encoder(), o.fimRate(), o.seed());
        long resumeFrom = Math.min(doneUpTo[0], doneUpTo[1]) + 1;
        ExecutorService pool = Executors.newFixedThreadPool(o.threads(), r -> {
            Thread t = new Thread(r, "jseek-tokenize");
            t.setDaemon(true);
            return t;
        });
        BlockingQueue<Object> queue = new ArrayBlockingQueue<>(Math.max(4, 4 * o.threads()));
        Thread reader = new Thread(() -> readCorpus(pool, queue, fim, doneUpTo, resumeFrom), "jseek-read-corpus");
        reader.setDaemon(true);
        OptionalLong hint = o.corpus().documentCountHint();
        ProgressBar bar = o.progress() ? new ProgressBarBuilder().setTaskName("prepare").setInitialMax(hint.orElse(-1))
                .setUnit(" docs", 1).setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500)
                .setConsumer(new ConsoleProgressBarConsumer(System.err)).continuousUpdate().build() : null;
        long docs = 0, tokenized = 0, tokens = 0;
        long start = System.nanoTime();
        boolean ok = false;
        reader.start();
        try {
            while (true) {
                Object item = take(queue);
                if (item == END) break;
                if (item instanceof Throwable t) throw rethrow(t);
                @SuppressWarnings("unchecked") Future<ChunkResult> f = (Future<ChunkResult>) item;
                ChunkResult r;
                try {
                    r = f.get();
                } catch (ExecutionException e) {
                    throw rethrow(e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted", e);
                }
                for (Encoded e : r.encoded()) {
                    writers.add(e.split(), e.tokens(), e.index(), e.textBytes());
                    tokens += e.tokens().length;
                }
                docs += r.documents();
                tokenized += r.encoded().size();
                if (bar != null) {
                    double sec = Math.max(1e-9, (System.nanoTime() - start) / 1e9);
                    bar.stepTo(docs);
                    bar.setExtraMessage(String.format(" %.0f docs/s %.2fM tok/s", tokenized / sec, tokens / sec / 1e6));
                }
            }
            ok = true;
        } finally {
            if (!ok) {
                reader.interrupt();
                pool.shutdownNow();
                writers.abort();
            }
            pool.shutdown();
            if (bar != null) bar.close();
        }
        return new long[] {docs, tokenized, tokens};
    }

    private static Object take(BlockingQueue<Object> q) {
        try {
            return q.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private static RuntimeException rethrow(Throwable t) throws IOException {
        if (t instanceof IOException io) throw io;
        if (t instanceof RuntimeException re) return re;
        if (t instanceof Error err) throw err;
        return new IllegalStateException(t);
    }

    private void readCorpus(ExecutorService pool, BlockingQueue<Object> queue, FimTransform fim, long[] doneUpTo, long resumeFrom) {
        try (Stream<Document> docs = o.corpus().documents()) {
            Iterator<Document> it = docs.iterator();
            long index = 0;
            List<String> names = new ArrayList<>(), texts = new ArrayList<>();
            long chars = 0, first = 0;
            while (it.hasNext()) {
                Document doc = it.next();
                String text = doc.text();
                if (texts.isEmpty()) first = index;
                names.add(doc.name());
                texts.add(text);
                chars += text.length();
                index++;
                if (texts.size() >= CHUNK_DOCS || chars >= CHUNK_CHARS) {
                    submit(pool, queue, fim, doneUpTo, resumeFrom, new Chunk(first, names, texts));
                    names = new ArrayList<>();
                    texts = new ArrayList<>();
                    chars = 0;
                }
            }
            if (!texts.isEmpty()) submit(pool, queue, fim, doneUpTo, resumeFrom, new Chunk(first, names, texts));
            queue.put(END);
        } catch (InterruptedException e) {
            // cancelled by the writer after a failure
        } catch (Throwable t) {
            try {
                queue.put(t);
            } catch (InterruptedException ignored) {
                // cancelled
            }
        }
    }

    private void submit(ExecutorService pool, BlockingQueue<Object> queue, FimTransform fim, long[] doneUpTo, long resumeFrom, Chunk c)
            throws InterruptedException {
        queue.put(pool.submit(() -> encode(c, fim, doneUpTo, resumeFrom)));
    }

    private ChunkResult encode(Chunk c, FimTransform fim, long[] doneUpTo, long resumeFrom) {
        List<Encoded> out = new ArrayList<>(c.texts().size());
        for (int i = 0; i < c.texts().size(); i++) {
            long d = c.firstIndex() + i;
            String text = c.texts().get(i);
            if (text.isEmpty()) continue;
            if (d < resumeFrom) continue;
            Split s = Split.of(text, o.seed(), o.valFraction());
            if (d <= doneUpTo[s.code]) continue;
            int[] tokens;
            try {
                tokens = fim.apply(d, text);
            } catch (RuntimeException e) {
                throw new DataFormatException("tokenizing document " + d + " (" + c.names().get(i) + ") of corpus " + o.corpus().spec() + " failed: " + e, e);
            }
            int vocab = o.encoder().vocabSize();
            for (int id : tokens)
                if (id < 0 || id >= vocab)
                    throw new DataFormatException("the tokenizer produced id " + id + " outside [0, " + vocab + ") for document " + d + " (" + c.names().get(i) + ")");
            out.add(new Encoded(d, s, tokens, utf8Length(text)));
        }
        return new ChunkResult(c.texts().size(), out);
    }
}
