package dev.jseek.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * BPE training: the incremental trainer against a naive twin that recounts every pair at every step; the written
 * tokenizer.json loads in HF tokenizers (DJL) and encodes exactly like jseek; fixed special ids; determinism.
 */
class BpeTrainerTest {
    @TempDir Path tmp;

    /** Naive BPE: recount all pairs each step, same tie-break (count desc, left asc, right asc). */
    static List<int[]> naiveMerges(WordCounts wc, int vocabSize, int minFreq, List<String> tokensOut) {
        List<String> tokens = new ArrayList<>(SpecialTokens.TRAINER_ORDER);
        Integer[] order = new Integer[256];
        for (int b = 0; b < 256; b++) order[b] = b;
        Arrays.sort(order, (x, y) -> Character.compare(ByteLevel.byteToChar(x), ByteLevel.byteToChar(y)));
        int[] byteId = new int[256];
        for (int b : order) {
            byteId[b] = tokens.size();
            tokens.add(String.valueOf(ByteLevel.byteToChar(b)));
        }
        String[] keys = wc.sortedKeys();
        List<int[]> words = new ArrayList<>();
        long[] counts = new long[keys.length];
        for (int w = 0; w < keys.length; w++) {
            byte[] b = Utf8.encode(keys[w]);
            int[] s = new int[b.length];
            for (int i = 0; i < b.length; i++) s[i] = byteId[b[i] & 0xFF];
            words.add(s);
            counts[w] = wc.count(keys[w]);
        }
        List<int[]> merges = new ArrayList<>();
        while (tokens.size() < vocabSize) {
            Map<Long, Long> pc = new HashMap<>();
            for (int w = 0; w < words.size(); w++) {
                int[] s = words.get(w);
                for (int i = 0; i + 1 < s.length; i++) pc.merge(BpeModel.pairKey(s[i], s[i + 1]), counts[w], Long::sum);
            }
            long bestKey = -1, best = 0;
            for (var e : pc.entrySet()) {
                long k = e.getKey(), c = e.getValue();
                if (c > best || (c == best && Long.compareUnsigned(k, bestKey) < 0)) {
                    best = c;
                    bestKey = k;
                }
            }
            if (best < minFreq) break;
            int a = (int) (bestKey >>> 32), b = (int) bestKey;
            String m = tokens.get(a) + tokens.get(b);
            int z = tokens.indexOf(m);
            if (z < 0) {
                z = tokens.size();
                tokens.add(m);
            }
            merges.add(new int[] {a, b});
            for (int w = 0; w < words.size(); w++) {
                int[] s = words.get(w);
                int[] o = new int[s.length];
                int n = 0;
                for (int i = 0; i < s.length; ) {
                    if (i + 1 < s.length && s[i] == a && s[i + 1] == b) {
                        o[n++] = z;
                        i += 2;
                    } else {
                        o[n++] = s[i++];
                    }
                }
                words.set(w, Arrays.copyOf(o, n));
            }
        }
        tokensOut.addAll(tokens);
        return merges;
    }

    static WordCounts countWords(List<String> docs) {
        PreTokenizer pre = BpeTrainer.preTokenizer();
        PreTokenizer.State st = pre.newState();
        WordCounts wc = new WordCounts(1024);
        AddedVocabulary added = BpeTrainer.specials();
        for (String d : docs) {
            added.split(d, (s, a, b, id) -> {
                if (id < 0) pre.split(st, s, a, b, (s2, x, y) -> wc.add(s2, x, y, 1));
            });
        }
        return wc;
    }

    @Test void incrementalTrainerEqualsNaiveRecount() throws Exception {
        List<String> docs = new ArrayList<>(ParityCorpus.jdkSources(8));
        docs.addAll(ParityCorpus.CJK_SENTENCES_LIST());
        docs.addAll(ParityCorpus.whitespace(41).subList(0, 50));
        WordCounts wc = countWords(docs);
        int vocab = BpeTrainer.BYTE_BASE + 256 + 400;
        List<String> naiveTokens = new ArrayList<>();
        List<int[]> naive = naiveMerges(wc, vocab, 2, naiveTokens);
        BpeTrainer.Learned l = BpeTrainer.learn(wc, new BpeTrainer.Options(vocab, 2, 1, null));
        assertEquals(naive.size(), l.merges().size());
        for (int i = 0; i < naive.size(); i++) assertArrayEquals(naive.get(i), l.merges().get(i), "merge " + i);
        assertEquals(naiveTokens, l.tokens());
    }

    @Test void trainedTokenizerLoadsInHfAndEncodesIdentically() throws Exception {
        Path dir = tmp.resolve("corpus");
        Files.createDirectories(dir);
        List<String> train = ParityCorpus.jdkSources(60);
        for (int i = 0; i < train.size(); i++) Files.writeString(dir.resolve("f" + i + ".java"), train.get(i));
        Files.writeString(dir.resolve("cjk.txt"), String.join("\n", ParityCorpus.CJK_SENTENCES_LIST()));
        Path out = tmp.resolve("tok/tokenizer.json");
        BpeTrainer.Result r = BpeTrainer.train(new TrainingCorpus(dir, null, Long.MAX_VALUE),
                new BpeTrainer.Options(3000, 2, 2, null), out);
        assertEquals(3000, r.vocabSize());
        Tokenizer t = Tokenizer.load(out);
        assertEquals(3000, t.vocabSize());
        assertEquals(0, t.bosId());
        assertEquals(1, t.eosId());
        assertEquals(2, t.padId());
        assertEquals(3, t.fimHoleId());
        assertEquals(4, t.fimBeginId());
        assertEquals(5, t.fimEndId());
        for (int i = 0; i < BpeTrainer.BYTE_BASE; i++) assertEquals(i, t.tokenId(SpecialTokens.TRAINER_ORDER.get(i)));
        List<String> test = new ArrayList<>(ParityCorpus.jdkWindows(80, 3000, 46));
        test.addAll(ParityCorpus.english(1));
        test.addAll(ParityCorpus.addedTokensInText(42));
        test.addAll(ParityCorpus.randomUnicode(300, 43));
        test.addAll(ParityCorpus.cjk(TestData.deepseekV3Tokenizer(), 50, 44));
        test.addAll(ParityCorpus.whitespace(45));
        long ids = 0;
        try (HfOracle hf = new HfOracle(out)) {
            int[][] expected = hf.encodeBatch(test);
            for (int i = 0; i < test.size(); i++) {
                int[] got = t.encode(test.get(i));
                assertArrayEquals(expected[i], got, "text #" + i);
                assertEquals(test.get(i), t.decode(got));
                ids += got.length;
            }
            assertEquals(hf.decode(new int[] {0, 6, 100, 7, 1}, true), t.decode(new int[] {0, 6, 100, 7, 1}, true));
        }
        assertTrue(ids > 50_000, "compared " + ids + " ids");
        // compression sanity: merged tokens are used
        int[] enc = t.encode(train.get(0));
        assertTrue(enc.length < Utf8.encode(train.get(0)).length / 2, "poor compression: " + enc.length);
    }

    @Test void deterministic() throws Exception {
        Path f = tmp.resolve("c.txt");
        Files.writeString(f, String.join("\n", ParityCorpus.jdkSources(10)));
        Path a = tmp.resolve("a.json"), b = tmp.resolve("b.json");
        BpeTrainer.train(new TrainingCorpus(f, null, Long.MAX_VALUE), new BpeTrainer.Options(1000, 2, 2, null), a);
        BpeTrainer.train(new TrainingCorpus(f, null, Long.MAX_VALUE), new BpeTrainer.Options(1000, 2, 1, null), b);
        assertEquals(Files.readString(a), Files.readString(b));
    }
}
