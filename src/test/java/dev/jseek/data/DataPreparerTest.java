package dev.jseek.data;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataPreparerTest {
    @TempDir Path tmp;

    static final List<String> TEXTS = ListCorpus.randomTexts(300, 120, 3);

    /** Counts the documents it encodes (FIM documents call encode three times). */
    static class CountingEncoder implements TextEncoder {
        final ByteTextEncoder inner = new ByteTextEncoder();
        final AtomicLong calls = new AtomicLong();
        @Override public int[] encode(String t) { calls.incrementAndGet(); return inner.encode(t); }
        @Override public int eosId() { return inner.eosId(); }
        @Override public int fimBeginId() { return inner.fimBeginId(); }
        @Override public int fimHoleId() { return inner.fimHoleId(); }
        @Override public int fimEndId() { return inner.fimEndId(); }
        @Override public int vocabSize() { return inner.vocabSize(); }
    }

    static DataPreparer.Options opts(Corpus c, TextEncoder enc, Path out, int threads) {
        return new DataPreparer.Options(c, enc, "bytes", "builtin:bytes", out, 0.2, 0.3, 9, 2000, threads, false);
    }

    static DataPreparer.Result run(DataPreparer.Options o, ByteArrayOutputStream log) throws IOException {
        return new DataPreparer(o, new PrintStream(log, true)).run();
    }

    static DataPreparer.Result run(DataPreparer.Options o) throws IOException {
        return run(o, new ByteArrayOutputStream());
    }

    /** All files of a directory with their bytes, for byte-identity comparisons. */
    static TreeMap<String, byte[]> snapshot(Path dir) throws IOException {
        TreeMap<String, byte[]> m = new TreeMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) m.put(p.getFileName().toString(), Files.readAllBytes(p));
        }
        return m;
    }

    static void assertSameFiles(TreeMap<String, byte[]> a, TreeMap<String, byte[]> b) {
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) assertArrayEquals(a.get(k), b.get(k), k);
    }

    @Test void shardsHoldExactlyTheTransformedDocumentsOfEachSplit() throws IOException {
        Path out = tmp.resolve("out");
        List<String> texts = new ArrayList<>(TEXTS);
        texts.set(17, ""); // empty documents are dropped
        DataPreparer.Result r = run(opts(new ListCorpus("mem", texts), new ByteTextEncoder(), out, 2));
        // oracle: the documented per-document pipeline, run sequentially
        FimTransform fim = new FimTransform(new ByteTextEncoder(), 0.3, 9);
        List<Integer> train = new ArrayList<>(), val = new ArrayList<>();
        List<Long> trainStarts = new ArrayList<>(), valStarts = new ArrayList<>();
        int valDocs = 0;
        for (int d = 0; d < texts.size(); d++) {
            if (texts.get(d).isEmpty()) continue;
            boolean isVal = Split.of(texts.get(d), 9, 0.2) == Split.VAL;
            List<Integer> dst = isVal ? val : train;
            (isVal ? valStarts : trainStarts).add((long) dst.size());
            for (int t : fim.apply(d, texts.get(d))) dst.add(t);
            if (isVal) valDocs++;
        }
        assertTrue(valDocs > 30 && valDocs < 90, "val docs " + valDocs);
        long trainBytes = 0, valBytes = 0; // oracle: String.getBytes(UTF_8) of each kept document's text
        for (String t : texts) {
            if (t.isEmpty()) continue;
            long n = t.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
            if (Split.of(t, 9, 0.2) == Split.VAL) valBytes += n;
            else trainBytes += n;
        }
        Manifest m = r.manifest();
        assertEquals(300, m.corpusDocuments());
        assertEquals(train.size(), m.train().tokens());
        assertEquals(val.size(), m.val().tokens());
        assertEquals(valDocs, m.val().documents());
        assertEquals(trainBytes, m.train().textBytes(), "train text bytes");
        assertEquals(valBytes, m.val().textBytes(), "val text bytes");
        assertEquals((double) valBytes / val.size(), m.val().bytesPerToken(), 0);
        assertEquals(trainBytes, m.train().shards().stream().mapToLong(Manifest.ShardInfo::textBytes).sum());
        assertEquals(299 - valDocs, m.train().documents());
        assertEquals("uint16", m.dtype());
        assertTrue(m.train().shards().size() >= 4, "shards " + m.train().shards().size());
        try (TokenDataset ds = TokenDataset.open(out)) {
            for (Split s : Split.values()) {
                List<Integer> want = s == Split.TRAIN ? train : val;
                TokenStore st = ds.split(s);
                int[] got = new int[(int) st.size()];
                st.read(0, got, 0, got.length);
                assertArrayEquals(want.stream().mapToInt(Integer::intValue).toArray(), got, s.fileName);
                List<Long> starts = new ArrayList<>();
                for (Shard sh : st.shards()) {
                    assertTrue(sh.tokenCount() >= 2000 || sh == st.shards().getLast(), "only the last shard may be short");
                    for (long x : sh.docStarts()) starts.add(x + offset(st, sh));
                }
                assertEquals(s == Split.TRAIN ? trainStarts : valStarts, starts);
            }
        }
    }

    static long offset(TokenStore st, Shard sh) {
        long o = 0;
        for (Shard x : st.shards()) {
            if (x == sh) return o;
            o += x.tokenCount();
        }
        throw new AssertionError();
    }

    @Test void utf8LengthEqualsGetBytes() {
        for (String t : List.of("", "abc", "γάμμα", "😀x", "日本語", "a\uD800b", "\uDC00", "x\uD83D")) // incl. unpaired surrogates
            assertEquals(t.getBytes(java.nio.charset.StandardCharsets.UTF_8).length, DataPreparer.utf8Length(t), t);
    }

    /** A manifest of an older jseek (no textBytes fields) still reads; bits per byte is then unknown (NaN). */
    @Test void manifestWithoutTextBytesStillReads() throws IOException {
        Path out = tmp.resolve("old");
        run(opts(new ListCorpus("mem", TEXTS), new ByteTextEncoder(), out, 1));
        Path mf = out.resolve(Manifest.FILE);
        String json = Files.readString(mf).replaceAll(",\\s*\"textBytes\"\\s*:\\s*\\d+", "");
        assertFalse(json.contains("textBytes"));
        Files.writeString(mf, json);
        Manifest m = Manifest.read(out);
        assertNull(m.val().textBytes());
        assertTrue(Double.isNaN(m.val().bytesPerToken()));
        try (TokenDataset ds = TokenDataset.open(out)) {
            assertEquals(m.val().tokens(), ds.val().size());
        }
    }

    @Test void outputDoesNotDependOnThreadCount() throws IOException {
        run(opts(new ListCorpus("mem", TEXTS), new ByteTextEncoder(), tmp.resolve("t1"), 1));
        run(opts(new ListCorpus("mem", TEXTS), new ByteTextEncoder(), tmp.resolve("t3"), 3));
        assertSameFiles(snapshot(tmp.resolve("t1")), snapshot(tmp.resolve("t3")));
    }

    @Test void resumeAfterLosingTheLastShardAndManifestIsByteIdentical() throws IOException {
        Path ref = tmp.resolve("ref"), out = tmp.resolve("out");
        run(opts(new ListCorpus("mem", TEXTS), new ByteTextEncoder(), ref, 2));
        run(opts(new ListCorpus("mem", TEXTS), new ByteTextEncoder(), out, 2));
        TreeMap<String, byte[]> want = snapshot(ref);
        List<String> trainShards = want.keySet().stream().filter(k -> k.startsWith("train-")).toList();
        int n = trainShards.size();
        // a kill between shards: the last two train shards and the manifest were never written
        Files.delete(out.resolve(Manifest.FILE));
        Files.delete(out.resolve(trainShards.get(n - 1)));
        Files.delete(out.resolve(trainShards.get(n - 2)));
        Files.writeString(out.resolve(trainShards.get(n - 2) + ".tmp"), "half-written");
        CountingEncoder enc = new CountingEncoder();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        DataPreparer.Result r = run(opts(new ListCorpus("mem", TEXTS), enc, out, 2), log);
        assertTrue(log.toString().contains("resuming"), log.toString());
        assertEquals(2, r.shardsWritten(), "only the missing shards are rewritten, val shards kept: " + log);
        assertEquals(want.size() - 3, r.shardsKept());
        long docsInMissing = 0;
        Manifest m = Manifest.read(ref);
        for (Manifest.ShardInfo si : m.train().shards().subList(n - 2, n)) docsInMissing += si.documents();
        // documents of kept shards are not tokenized again (FIM documents encode 3 parts, so calls >= docs)
        assertEquals(docsInMissing, r.documentsTokenized());
        assertTrue(enc.calls.get() < TEXTS.size() / 2, "calls " + enc.calls.get());
        assertSameFiles(want, snapshot(out));
    }

    @Test void resumeAfterLosingOnlyTheManifestTokenizesNothing() throws IOException {
        Path out = tmp.resolve("out");
        run(opts(new ListCorpus("mem", TEXTS), new ByteTextEncoder(), out, 2));
        TreeMap<String, byte[]> want = snapshot(out);
        Files.delete(out.resolve(Manifest.FILE));
        CountingEncoder enc = new CountingEncoder();
        DataPreparer.Result r = run(opts(new ListCorpus("mem", TEXTS), enc, out, 2));
        assertEquals(0, enc.calls.get());
        assertEquals(0, r.shardsWritten());
        assertSameFiles(want, snapshot(out));
    }

    @Test void completeDirectoryIsVerifiedAndLeftAlone() throws IOException {
        Path out = tmp.resolve("out");
        run(opts(new ListCorpus("mem", TEXTS), new ByteTextEncoder(), out, 2));
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        CountingEncoder enc = new CountingEncoder();
        run(opts(new ListCorpus("mem", TEXTS), enc, out, 2), log);
        assertTrue(log.toString().contains("nothing to do"), log.toString());
        assertEquals(0, enc.calls.get());
    }

    @Test void corruptedMiddleShardIsReportedAndRewritten() throws IOException {
        Path out = tmp.resolve("out");
        run(opts(new ListCorpus("mem", TEXTS), new ByteTextEncoder(), out, 2));
        TreeMap<String, byte[]> want = snapshot(out);
        Path bad = out.resolve("train-00001.bin");
        try (RandomAccessFile f = new RandomAccessFile(bad.toFile(), "rw")) {
            f.seek(200);
            int v = f.read();
            f.seek(200);
            f.write(v ^ 1);
        }
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        DataPreparer.Result r = run(opts(new ListCorpus("mem", TEXTS), new ByteTextEncoder(), out, 2), log);
        assertTrue(log.toString().contains(bad.toString()) && log.toString().contains("corrupted token data"), log.toString());
        long trainShards = want.keySet().stream().filter(k -> k.startsWith("train-")).count();
        assertEquals(trainShards - 1, r.shardsWritten());
        assertSameFiles(want, snapshot(out));
        // a truncated shard likewise
        try (RandomAccessFile f = new RandomAccessFile(out.resolve("val-00000.bin").toFile(), "rw")) {
            f.setLength(f.length() - 3);
        }
        log.reset();
        run(opts(new ListCorpus("mem", TEXTS), new ByteTextEncoder(), out, 2), log);
        assertTrue(log.toString().contains("val-00000.bin") && log.toString().contains("truncated"), log.toString());
        assertSameFiles(want, snapshot(out));
    }

    @Test void otherSettingsAreRefused() throws IOException {
        Path out = tmp.resolve("out");
        run(opts(new ListCorpus("mem", TEXTS), new ByteTextEncoder(), out, 2));
        DataPreparer.Options other = new DataPreparer.Options(new ListCorpus("mem", TEXTS), new ByteTextEncoder(), "bytes", "builtin:bytes",
                out, 0.2, 0.3, 10, 2000, 2, false);
        DataFormatException e = assertThrows(DataFormatException.class, () -> run(other));
        assertTrue(e.getMessage().contains("other settings"), e.getMessage());
        Files.delete(out.resolve(Manifest.FILE));
        e = assertThrows(DataFormatException.class, () -> run(other));
        assertTrue(e.getMessage().contains("train-00000.bin") && e.getMessage().contains("other settings"), e.getMessage());
    }

    @Test void uint32ShardsForLargeVocabularies() throws IOException {
        TextEncoder big = new TextEncoder() {
            @Override public int[] encode(String t) { return t.chars().map(c -> 100_000 + c).toArray(); }
            @Override public int eosId() { return 1; }
            @Override public int fimBeginId() { return 128801; }
            @Override public int fimHoleId() { return 128800; }
            @Override public int fimEndId() { return 128802; }
            @Override public int vocabSize() { return 129280; }
        };
        Path out = tmp.resolve("big");
        DataPreparer.Result r = run(new DataPreparer.Options(new ListCorpus("mem", List.of("ab", "c")), big, "t", "h", out, 0, 0, 1, 100, 1, false));
        assertEquals("uint32", r.manifest().dtype());
        try (TokenDataset ds = TokenDataset.open(out)) {
            int[] got = new int[5];
            ds.train().read(0, got, 0, 5);
            assertArrayEquals(new int[] {100_000 + 'a', 100_000 + 'b', 1, 100_000 + 'c', 1}, got);
            assertEquals(0, ds.val().size());
        }
    }

    @Test void badTokenizerOutputNamesTheDocument() {
        TextEncoder bad = new CountingEncoder() {
            @Override public int[] encode(String t) { return t.contains("boom") ? new int[] {999} : super.encode(t); }
        };
        List<String> texts = List.of("fine", "also fine", "boom here");
        DataFormatException e = assertThrows(DataFormatException.class,
                () -> run(new DataPreparer.Options(new ListCorpus("mem", texts), bad, "t", "h", tmp.resolve("o"), 0, 0, 1, 100, 2, false)));
        assertTrue(e.getMessage().contains("id 999") && e.getMessage().contains("document 2 (doc-2)"), e.getMessage());
    }

    @Test void validationSplitIsStableUnderReorderingAndGrowth() throws IOException {
        List<String> shuffled = new ArrayList<>(TEXTS);
        Collections.shuffle(shuffled, new java.util.Random(5));
        List<String> grown = new ArrayList<>(shuffled);
        grown.addAll(ListCorpus.randomTexts(50, 80, 99));
        Set<String> valA = valTexts(TEXTS, tmp.resolve("a")), valB = valTexts(grown, tmp.resolve("b"));
        Set<String> expectedB = new HashSet<>(valA);
        for (String t : grown.subList(300, 350)) if (Split.of(t, 9, 0.2) == Split.VAL) expectedB.add(t);
        assertEquals(expectedB, valB);
        assertFalse(valA.isEmpty());
        // the fraction is close to the requested one on many documents: binomial(20000, 0.01), sd 14
        int n = 0;
        for (int i = 0; i < 20_000; i++) if (Split.of("document " + i, 1, 0.01) == Split.VAL) n++;
        assertEquals(200, n, 70);
    }

    /** Texts of the val documents, recovered from val shards by splitting at EOS and undoing plain/FIM layouts. */
    static Set<String> valTexts(List<String> texts, Path out) throws IOException {
        run(new DataPreparer.Options(new ListCorpus("mem", texts), new ByteTextEncoder(), "bytes", "builtin:bytes", out, 0.2, 0.3, 9, 500, 2, false));
        Set<String> got = new HashSet<>();
        try (TokenDataset ds = TokenDataset.open(out)) {
            TokenStore v = ds.val();
            int[] all = new int[(int) v.size()];
            v.read(0, all, 0, all.length);
            int start = 0;
            for (int i = 0; i < all.length; i++) {
                if (all[i] != ByteTextEncoder.EOS) continue;
                got.add(untransform(Arrays.copyOfRange(all, start, i)));
                start = i + 1;
            }
        }
        return got;
    }

    static String untransform(int[] t) {
        if (t.length > 0 && t[0] == ByteTextEncoder.FIM_BEGIN) {
            int h = indexOf(t, ByteTextEncoder.FIM_HOLE), e = indexOf(t, ByteTextEncoder.FIM_END);
            return text(Arrays.copyOfRange(t, 1, h)) + text(Arrays.copyOfRange(t, e + 1, t.length)) + text(Arrays.copyOfRange(t, h + 1, e));
        }
        return text(t);
    }

    static int indexOf(int[] a, int v) {
        for (int i = 0; i < a.length; i++) if (a[i] == v) return i;
        throw new AssertionError("no " + v);
    }

    static String text(int[] bytes) {
        byte[] b = new byte[bytes.length];
        for (int i = 0; i < b.length; i++) b[i] = (byte) bytes[i];
        return new String(b, java.nio.charset.StandardCharsets.UTF_8);
    }
}
