package dev.jseek.tokenizer;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;

/**
 * Trains a byte-level BPE tokenizer with the DeepSeek-V3 pre-tokenizer (docs/architecture.md §7.8: the three Split stages — digit
 * groups of at most 3, CJK runs, the main regex — then ByteLevel) and writes a HF {@code tokenizer.json} that both
 * jseek and HF tokenizers load and encode identically.
 *
 * <p><b>Ids.</b> Fixed, independent of the vocabulary size: 0 BOS, 1 EOS, 2 pad (DeepSeek's ids), then 3
 * {@code <｜fim▁hole｜>}, 4 {@code <｜fim▁begin｜>}, 5 {@code <｜fim▁end｜>}, 6 {@code <｜User｜>}, 7
 * {@code <｜Assistant｜>}, 8 {@code <|EOT|>}, 9..17 the tool tokens in release order (calls begin/end, call begin/end,
 * outputs begin/end, output begin/end, sep) — see {@link SpecialTokens#TRAINER_ORDER}; 18..273 the 256 byte symbols
 * in code point order of their GPT-2 chars (as DeepSeek-V3 orders them); then one id per learned merge. These tokens
 * are both in the model vocab and in {@code added_tokens} (flags as in DeepSeek-V3: special for BOS/EOS/pad/EOT),
 * so they are cut out of the text before pre-tokenization and never merged. {@code vocabSize} counts all ids.
 *
 * <p><b>Algorithm.</b> The corpus is pre-tokenized in parallel into distinct words with counts. Each word is a
 * sequence of byte symbols. Pair counts are kept incrementally: each pair knows the words it occurs in (a list,
 * checked lazily), and an indexed max-heap orders pairs by (count desc, left id asc, right id asc). Each step pops the
 * best pair, rewrites only the words that contain it, and applies the resulting count changes of neighbouring pairs
 * to the heap (no recount). A merge whose string already exists reuses that id, as HF's trainer does. Training stops
 * at {@code vocabSize} ids or when the best pair occurs fewer than {@code minFrequency} times. Deterministic: no
 * randomness, words sorted, ties broken by ids.
 */
public final class BpeTrainer {
    private BpeTrainer() {}

    /** First id of the byte symbols; the special tokens take 0..BYTE_BASE-1. */
    public static final int BYTE_BASE = SpecialTokens.TRAINER_ORDER.size();

    /** Progress of a run (e.g. for progress bars); called on the training thread. */
    public interface Listener {
        /** Documents read so far and their UTF-8 bytes (called as the corpus is read). */
        void counted(long documents, long bytes);

        /** The vocabulary has {@code size} of {@code target} ids (called as merges are learned). */
        void merged(int size, int target);
    }

    /** Training options. {@code progress} (text lines) and {@code listener} may be null. */
    public record Options(int vocabSize, int minFrequency, int threads, PrintStream progress, Listener listener) {
        public Options(int vocabSize, int minFrequency, int threads, PrintStream progress) {
            this(vocabSize, minFrequency, threads, progress, null);
        }

        public Options {
            if (vocabSize < BYTE_BASE + 256) {
                throw new IllegalArgumentException("vocab size " + vocabSize + " is below the " + (BYTE_BASE + 256)
                        + " fixed ids (" + BYTE_BASE + " special tokens + 256 bytes)");
            }
            if (minFrequency < 1) throw new IllegalArgumentException("min frequency must be >= 1, got " + minFrequency);
            if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
    }

    /** What a run did. */
    public record Result(int vocabSize, int merges, long documents, long bytes, long words, int distinctWords,
                         double countSeconds, double mergeSeconds) {}

    /** Trains on {@code corpus} and writes {@code out} (via a temp file, then an atomic rename). */
    public static Result train(TrainingCorpus corpus, Options o, Path out) throws IOException {
        long t0 = System.nanoTime();
        Counted c = countWords(corpus, o.threads(), o.listener());
        long t1 = System.nanoTime();
        if (o.progress() != null) {
            o.progress().printf("counted %d documents, %.1f MB, %d words, %d distinct, in %.1f s%n", c.docs, c.bytes / 1e6,
                    c.words.counts.length == 0 ? 0 : total(c.words), c.words.size, (t1 - t0) / 1e9);
        }
        Learned l = learn(c.words, o);
        long t2 = System.nanoTime();
        write(out, l);
        if (o.progress() != null) {
            o.progress().printf("learned %d merges (vocab %d) in %.1f s; wrote %s%n", l.merges.size(), l.tokens.size(),
                    (t2 - t1) / 1e9, out);
        }
        return new Result(l.tokens.size(), l.merges.size(), c.docs, c.bytes, total(c.words), c.words.size,
                (t1 - t0) / 1e9, (t2 - t1) / 1e9);
    }

    private static long total(WordCounts w) {
        long n = 0;
        for (int i = 0; i < w.keys.length; i++) if (w.keys[i] != null) n += w.counts[i];
        return n;
    }

    // ---------------- counting ----------------

    private record Counted(WordCounts words, long docs, long bytes) {}

    /** The pre-tokenizer of trained tokenizers (DeepSeek-V3's three Split stages; bytes are handled here). */
    static PreTokenizer preTokenizer() {
        return new PreTokenizer(List.of(FastSplitters.stage(FastSplitters.DS3_DIGITS), FastSplitters.stage(FastSplitters.DS3_CJK),
                FastSplitters.stage(FastSplitters.DS3_MAIN)));
    }

    static AddedVocabulary specials() {
        List<AddedVocabulary.AddedToken> list = new ArrayList<>();
        for (int i = 0; i < BYTE_BASE; i++) {
            String t = SpecialTokens.TRAINER_ORDER.get(i);
            boolean special = SpecialTokens.isSpecialInV3(t);
            list.add(new AddedVocabulary.AddedToken(i, t, special, !special, false, false, false));
        }
        return new AddedVocabulary(list);
    }

    private static Counted countWords(TrainingCorpus corpus, int threads, Listener listener) throws IOException {
        PreTokenizer pre = preTokenizer();
        AddedVocabulary added = specials();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        Semaphore inFlight = new Semaphore(threads * 2);
        List<Future<WordCounts>> futures = new ArrayList<>();
        long[] docs = {0}, bytes = {0};
        List<String> batch = new ArrayList<>();
        long[] batchChars = {0};
        try {
            corpus.forEach(doc -> {
                docs[0]++;
                if (listener != null && (docs[0] & 15) == 0) listener.counted(docs[0], corpus.bytesRead());
                batch.add(doc);
                batchChars[0] += doc.length();
                if (batchChars[0] >= 4_000_000) {
                    futures.add(submit(pool, inFlight, List.copyOf(batch), pre, added));
                    batch.clear();
                    batchChars[0] = 0;
                }
            });
            if (!batch.isEmpty()) futures.add(submit(pool, inFlight, List.copyOf(batch), pre, added));
            bytes[0] = corpus.bytesRead();
            if (listener != null) listener.counted(docs[0], bytes[0]);
            WordCounts all = null;
            for (Future<WordCounts> f : futures) {
                WordCounts w = f.get();
                if (all == null) all = w;
                else all.addAll(w);
            }
            return new Counted(all == null ? new WordCounts(16) : all, docs[0], bytes[0]);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw new IOException(e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }

    private static Future<WordCounts> submit(ExecutorService pool, Semaphore inFlight, List<String> docs, PreTokenizer pre,
                                             AddedVocabulary added) {
        inFlight.acquireUninterruptibly();
        return pool.submit(() -> {
            try {
                WordCounts wc = new WordCounts(1 << 16);
                PreTokenizer.State st = pre.newState();
                PreTokenizer.PieceSink sink = (s, a, b) -> wc.add(s, a, b, 1);
                AddedVocabulary.SegmentSink seg = (s, a, b, id) -> {
                    if (id < 0) pre.split(st, s, a, b, sink);
                };
                for (String d : docs) added.split(Utf8.replaceLoneSurrogates(d), seg);
                return wc;
            } finally {
                inFlight.release();
            }
        });
    }

    // ---------------- learning ----------------

    /** Learned vocabulary (id -> token string) and merges (left id, right id) in rank order. */
    record Learned(List<String> tokens, List<int[]> merges) {}

    static Learned learn(WordCounts counts, Options o) {
        // initial vocabulary: specials, then byte symbols in char order
        List<String> tokens = new ArrayList<>(SpecialTokens.TRAINER_ORDER);
        int[] byteId = new int[256];
        Integer[] bytesByChar = new Integer[256];
        for (int b = 0; b < 256; b++) bytesByChar[b] = b;
        Arrays.sort(bytesByChar, (x, y) -> Character.compare(ByteLevel.byteToChar(x), ByteLevel.byteToChar(y)));
        for (int b : bytesByChar) {
            byteId[b] = tokens.size();
            tokens.add(String.valueOf(ByteLevel.byteToChar(b)));
        }
        Map<String, Integer> tokenToId = new HashMap<>();
        for (int i = 0; i < tokens.size(); i++) tokenToId.put(tokens.get(i), i);

        // words as symbol arrays
        String[] keys = counts.sortedKeys();
        int nw = keys.length;
        int[][] sym = new int[nw][];
        int[] len = new int[nw];
        long[] wcount = new long[nw];
        for (int w = 0; w < nw; w++) {
            byte[] b = Utf8.encode(keys[w]);
            sym[w] = new int[b.length];
            for (int i = 0; i < b.length; i++) sym[w][i] = byteId[b[i] & 0xFF];
            len[w] = b.length;
            wcount[w] = counts.count(keys[w]);
        }
        PairTable pairs = new PairTable();
        for (int w = 0; w < nw; w++) {
            int[] s = sym[w];
            for (int i = 0; i + 1 < len[w]; i++) {
                int p = pairs.getOrCreate(s[i], s[i + 1]);
                pairs.count[p] += wcount[w];
                pairs.addWord(p, w);
            }
        }
        PairHeap heap = new PairHeap(pairs);
        for (int p = 0; p < pairs.size; p++) if (pairs.count[p] > 0) heap.insert(p);

        List<int[]> merges = new ArrayList<>();
        int[] visited = new int[nw];
        Arrays.fill(visited, -1);
        Delta delta = new Delta();
        long lastReport = System.nanoTime();
        int step = 0;
        while (tokens.size() < o.vocabSize() && heap.size > 0) {
            if (o.listener() != null && (tokens.size() & 63) == 0) o.listener().merged(tokens.size(), o.vocabSize());
            int top = heap.peek();
            if (pairs.count[top] < o.minFrequency()) break;
            long topCount = pairs.count[top];
            heap.remove(top);
            int a = pairs.left[top], b = pairs.right[top];
            String merged = tokens.get(a) + tokens.get(b);
            Integer existing = tokenToId.get(merged);
            int z;
            if (existing != null) {
                z = existing;
            } else {
                z = tokens.size();
                tokens.add(merged);
                tokenToId.put(merged, z);
            }
            merges.add(new int[] {a, b});
            int[] ws = pairs.where[top];
            int wn = pairs.whereLen[top];
            pairs.where[top] = null;
            pairs.whereLen[top] = 0;
            for (int k = 0; k < wn; k++) {
                int w = ws[k];
                if (visited[w] == step) continue;
                visited[w] = step;
                len[w] = mergeWord(sym[w], len[w], a, b, z, wcount[w], w, pairs, delta);
            }
            for (int k = 0; k < delta.n; k++) {
                int p = delta.touched[k];
                pairs.count[p] += delta.d[p];
                delta.d[p] = 0;
                delta.mark[p] = false;
                if (p == top) continue;
                if (heap.contains(p)) {
                    if (pairs.count[p] <= 0) heap.remove(p);
                    else heap.update(p);
                } else if (pairs.count[p] > 0) {
                    heap.insert(p);
                }
            }
            delta.n = 0;
            pairs.count[top] = 0;
            step++;
            if (o.progress() != null && System.nanoTime() - lastReport > 10_000_000_000L) {
                lastReport = System.nanoTime();
                o.progress().printf("  %d merges, vocab %d, last pair count %d%n", merges.size(), tokens.size(), topCount);
            }
        }
        return new Learned(tokens, merges);
    }

    /**
     * Replaces every non-overlapping (a, b) in {@code s[0, n)} (left to right) by z, recording the count changes of the
     * pairs around each replacement, and registers word w with the new pairs. Returns the new length.
     */
    private static int mergeWord(int[] s, int n, int a, int b, int z, long c, int w, PairTable pairs, Delta delta) {
        int out = 0;
        int i = 0;
        while (i < n) {
            if (i + 1 < n && s[i] == a && s[i + 1] == b) {
                if (out > 0) {
                    int x = s[out - 1];
                    delta.add(pairs.get(x, a), -c);
                    int p = pairs.getOrCreate(x, z);
                    delta.add(p, c);
                    pairs.addWord(p, w);
                }
                delta.add(pairs.get(a, b), -c);
                if (i + 2 < n) {
                    int y = s[i + 2];
                    delta.add(pairs.get(b, y), -c);
                    int p = pairs.getOrCreate(z, y);
                    delta.add(p, c);
                    pairs.addWord(p, w);
                }
                s[out++] = z;
                i += 2;
            } else {
                s[out++] = s[i++];
            }
        }
        return out;
    }

    /** Pending count changes of the current merge step. */
    private static final class Delta {
        long[] d = new long[1024];
        boolean[] mark = new boolean[1024];
        int[] touched = new int[1024];
        int n;

        void add(int p, long v) {
            if (p >= d.length) {
                int cap = Math.max(p + 1, d.length * 2);
                d = Arrays.copyOf(d, cap);
                mark = Arrays.copyOf(mark, cap);
            }
            if (!mark[p]) {
                mark[p] = true;
                if (n == touched.length) touched = Arrays.copyOf(touched, n * 2);
                touched[n++] = p;
            }
            d[p] += v;
        }
    }

    /** Pairs (left, right) -> dense index, with counts and the words they occur in. */
    static final class PairTable {
        private long[] keys = new long[1 << 16];
        private int[] vals = new int[1 << 16];
        private int mask = (1 << 16) - 1;
        int size;
        int[] left = new int[1 << 14], right = new int[1 << 14];
        long[] count = new long[1 << 14];
        int[][] where = new int[1 << 14][];
        int[] whereLen = new int[1 << 14];

        PairTable() { Arrays.fill(keys, -1L); }

        private static int slot(long key, int mask) { return (int) ((key * 0x9E3779B97F4A7C15L) >>> 40) & mask; }

        int get(int a, int b) {
            long key = BpeModel.pairKey(a, b);
            int i = slot(key, mask);
            while (true) {
                if (keys[i] == key) return vals[i];
                if (keys[i] == -1L) throw new IllegalStateException("pair (" + a + ", " + b + ") unknown");
                i = (i + 1) & mask;
            }
        }

        int getOrCreate(int a, int b) {
            long key = BpeModel.pairKey(a, b);
            int i = slot(key, mask);
            while (true) {
                if (keys[i] == key) return vals[i];
                if (keys[i] == -1L) break;
                i = (i + 1) & mask;
            }
            int p = size++;
            if (p == left.length) {
                int cap = p * 2;
                left = Arrays.copyOf(left, cap);
                right = Arrays.copyOf(right, cap);
                count = Arrays.copyOf(count, cap);
                where = Arrays.copyOf(where, cap);
                whereLen = Arrays.copyOf(whereLen, cap);
            }
            left[p] = a;
            right[p] = b;
            keys[i] = key;
            vals[i] = p;
            if (size * 2 > keys.length) rehash();
            return p;
        }

        private void rehash() {
            long[] ok = keys;
            int[] ov = vals;
            keys = new long[ok.length * 2];
            vals = new int[ok.length * 2];
            Arrays.fill(keys, -1L);
            mask = keys.length - 1;
            for (int j = 0; j < ok.length; j++) {
                if (ok[j] == -1L) continue;
                int i = slot(ok[j], mask);
                while (keys[i] != -1L) i = (i + 1) & mask;
                keys[i] = ok[j];
                vals[i] = ov[j];
            }
        }

        /** Adds word w to the pair's list unless it was the last one added. */
        void addWord(int p, int w) {
            int[] l = where[p];
            int n = whereLen[p];
            if (l == null) {
                where[p] = l = new int[2];
            } else if (n > 0 && l[n - 1] == w) {
                return;
            } else if (n == l.length) {
                where[p] = l = Arrays.copyOf(l, n * 2);
            }
            l[n] = w;
            whereLen[p] = n + 1;
        }
    }

    /** Indexed binary max-heap of pair indices by (count desc, left asc, right asc). */
    static final class PairHeap {
        private final PairTable t;
        int[] heap = new int[1 << 14];
        int[] pos = new int[1 << 14];
        int size;

        PairHeap(PairTable t) {
            this.t = t;
            Arrays.fill(pos, -1);
        }

        private boolean before(int p, int q) {
            long cp = t.count[p], cq = t.count[q];
            if (cp != cq) return cp > cq;
            if (t.left[p] != t.left[q]) return t.left[p] < t.left[q];
            return t.right[p] < t.right[q];
        }

        boolean contains(int p) { return p < pos.length && pos[p] >= 0; }

        int peek() { return heap[0]; }

        void insert(int p) {
            if (p >= pos.length) {
                int old = pos.length;
                pos = Arrays.copyOf(pos, Math.max(p + 1, old * 2));
                Arrays.fill(pos, old, pos.length, -1);
            }
            if (size == heap.length) heap = Arrays.copyOf(heap, size * 2);
            heap[size] = p;
            pos[p] = size;
            size++;
            up(size - 1);
        }

        void remove(int p) {
            int i = pos[p];
            size--;
            pos[p] = -1;
            if (i == size) return;
            int last = heap[size];
            heap[i] = last;
            pos[last] = i;
            up(i);
            down(pos[last]);
        }

        void update(int p) {
            up(pos[p]);
            down(pos[p]);
        }

        private void up(int i) {
            int p = heap[i];
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (!before(p, heap[parent])) break;
                heap[i] = heap[parent];
                pos[heap[i]] = i;
                i = parent;
            }
            heap[i] = p;
            pos[p] = i;
        }

        private void down(int i) {
            int p = heap[i];
            while (true) {
                int c = 2 * i + 1;
                if (c >= size) break;
                if (c + 1 < size && before(heap[c + 1], heap[c])) c++;
                if (!before(heap[c], p)) break;
                heap[i] = heap[c];
                pos[heap[i]] = i;
                i = c;
            }
            heap[i] = p;
            pos[p] = i;
        }
    }

    // ---------------- output ----------------

    private static void write(Path out, Learned l) throws IOException {
        Path parent = out.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        Path tmp = Files.createTempFile(parent, out.getFileName().toString(), ".tmp");
        try {
            try (var os = Files.newOutputStream(tmp);
                 JsonGenerator g = new ObjectMapper().getFactory().createGenerator(os, JsonEncoding.UTF8)) {
                g.useDefaultPrettyPrinter();
                g.writeStartObject();
                g.writeStringField("version", "1.0");
                g.writeNullField("truncation");
                g.writeNullField("padding");
                g.writeArrayFieldStart("added_tokens");
                for (int i = 0; i < BYTE_BASE; i++) {
                    String t = SpecialTokens.TRAINER_ORDER.get(i);
                    boolean special = SpecialTokens.isSpecialInV3(t);
                    g.writeStartObject();
                    g.writeNumberField("id", i);
                    g.writeStringField("content", t);
                    g.writeBooleanField("single_word", false);
                    g.writeBooleanField("lstrip", false);
                    g.writeBooleanField("rstrip", false);
                    g.writeBooleanField("normalized", !special);
                    g.writeBooleanField("special", special);
                    g.writeEndObject();
                }
                g.writeEndArray();
                g.writeObjectFieldStart("normalizer");
                g.writeStringField("type", "Sequence");
                g.writeArrayFieldStart("normalizers");
                g.writeEndArray();
                g.writeEndObject();
                g.writeFieldName("pre_tokenizer");
                g.writeTree(Tokenizer.deepSeekV3PreTokenizer());
                byteLevel(g, "post_processor", true, false, true);
                byteLevel(g, "decoder", true, true, true);
                g.writeObjectFieldStart("model");
                g.writeStringField("type", "BPE");
                g.writeNullField("dropout");
                g.writeNullField("unk_token");
                g.writeNullField("continuing_subword_prefix");
                g.writeNullField("end_of_word_suffix");
                g.writeBooleanField("fuse_unk", false);
                g.writeBooleanField("byte_fallback", false);
                g.writeBooleanField("ignore_merges", false);
                g.writeObjectFieldStart("vocab");
                for (int i = 0; i < l.tokens.size(); i++) g.writeNumberField(l.tokens.get(i), i);
                g.writeEndObject();
                g.writeArrayFieldStart("merges");
                for (int[] m : l.merges) g.writeString(l.tokens.get(m[0]) + " " + l.tokens.get(m[1]));
                g.writeEndArray();
                g.writeEndObject();
                g.writeEndObject();
            }
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void byteLevel(JsonGenerator g, String field, boolean addPrefixSpace, boolean trimOffsets, boolean useRegex)
            throws IOException {
        if (field != null) g.writeObjectFieldStart(field);
        else g.writeStartObject();
        g.writeStringField("type", "ByteLevel");
        g.writeBooleanField("add_prefix_space", addPrefixSpace);
        g.writeBooleanField("trim_offsets", trimOffsets);
        g.writeBooleanField("use_regex", useRegex);
        g.writeEndObject();
    }
}
