package dev.jseek.data;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Packing, the training loader (determinism, epochs, save/restore) and the validation iterator. */
class DataLoaderTest {
    @TempDir static Path tmp;
    static TokenDataset ds;
    /** oracle: the train split as one list, and the document start positions, built from the documents directly */
    static int[] stream;
    static List<Long> docStarts = new ArrayList<>();

    @BeforeAll static void prepare() throws IOException {
        List<String> texts = ListCorpus.randomTexts(120, 60, 17);
        // small shards so windows cross shard boundaries; no val split, no FIM: the stream is enc(doc)+[eos] in order
        new DataPreparer(new DataPreparer.Options(new ListCorpus("mem", texts), new ByteTextEncoder(), "bytes", "builtin:bytes",
                tmp, 0.0, 0.0, 3, 300, 2, false), new java.io.PrintStream(new ByteArrayOutputStream())).run();
        List<Integer> all = new ArrayList<>();
        for (String t : texts) {
            docStarts.add((long) all.size());
            for (int b : FimTransformTest.bytes(t)) all.add(b);
            all.add(ByteTextEncoder.EOS);
        }
        stream = all.stream().mapToInt(Integer::intValue).toArray();
        ds = TokenDataset.open(tmp);
        assertTrue(ds.train().shards().size() >= 10, "shards " + ds.train().shards().size());
    }

    @AfterAll static void close() {
        ds.close();
    }

    @Test void storeMatchesTheDocumentStream() {
        TokenStore st = ds.train();
        assertEquals(stream.length, st.size());
        int[] got = new int[stream.length];
        st.read(0, got, 0, got.length);
        assertArrayEquals(stream, got);
        for (int i = 0; i < stream.length; i += 37) assertEquals(stream[i], st.token(i));
    }

    static int[] expectedStarts(long from, int len) {
        return docStarts.stream().filter(s -> s >= from && s < from + len).mapToInt(s -> (int) (s - from)).toArray();
    }

    @Test void packedWindowsAreStrideSeqLenSlicesWithBoundaries() {
        for (int seqLen : new int[] {1, 7, 64, 1000}) {
            PackedSequences p = new PackedSequences(ds.train(), seqLen);
            assertEquals((stream.length - 1) / seqLen, p.count());
            int[] w = new int[seqLen + 1];
            for (long k = 0; k < p.count(); k += Math.max(1, p.count() / 50)) {
                p.read(k, w, 0);
                assertArrayEquals(Arrays.copyOfRange(stream, (int) (k * seqLen), (int) (k * seqLen + seqLen + 1)), w, "seqLen " + seqLen + " k " + k);
                assertArrayEquals(expectedStarts(k * seqLen, seqLen + 1), p.docStarts(k), "seqLen " + seqLen + " k " + k);
            }
            // the last window ends inside the stream
            p.read(p.count() - 1, w, 0);
        }
        assertEquals(0, new PackedSequences(ds.train(), stream.length).count());
        assertEquals(1, new PackedSequences(ds.train(), stream.length - 1).count());
    }

    @Test void feistelIsAPermutation() {
        for (long n : new long[] {1, 2, 3, 5, 16, 17, 100, 1023, 4097}) {
            FeistelPermutation p = new FeistelPermutation(n, 77);
            boolean[] seen = new boolean[(int) n];
            int fixed = 0;
            for (long i = 0; i < n; i++) {
                long v = p.apply(i);
                assertFalse(seen[(int) v], "n " + n + " repeats " + v);
                seen[(int) v] = true;
                if (v == i) fixed++;
            }
            if (n >= 100) assertTrue(fixed < n / 10, "n " + n + " looks like identity: " + fixed + " fixed points");
        }
        // different keys give different orders
        FeistelPermutation a = new FeistelPermutation(1000, 1), b = new FeistelPermutation(1000, 2);
        int same = 0;
        for (long i = 0; i < 1000; i++) if (a.apply(i) == b.apply(i)) same++;
        assertTrue(same < 20, "same " + same);
    }

    @Test void batchesHaveRowsOfWindowsAndAnEpochVisitsEveryWindowOnce() {
        int seqLen = 16, batch = 5;
        DataLoader l = new DataLoader(ds.train(), batch, seqLen, 42, true);
        long n = l.sequencesPerEpoch();
        boolean[] seen = new boolean[(int) n];
        long visited = 0;
        while (visited < n) {
            Batch b = l.next();
            assertEquals(batch, b.rows());
            assertEquals(batch * (seqLen + 1), b.tokens().length);
            for (int r = 0; r < b.rows(); r++) {
                long k = b.sequences()[r];
                int[] want = Arrays.copyOfRange(stream, (int) (k * seqLen), (int) (k * seqLen + seqLen + 1));
                assertArrayEquals(want, Arrays.copyOfRange(b.tokens(), r * (seqLen + 1), (r + 1) * (seqLen + 1)));
                assertEquals(want[3], b.input(r, 3));
                assertEquals(want[4], b.target(r, 3));
                assertArrayEquals(expectedStarts(k * seqLen, seqLen + 1), b.docStarts()[r]);
                if (visited < n) {
                    assertFalse(seen[(int) k], "window " + k + " twice in epoch 0");
                    seen[(int) k] = true;
                }
                visited++;
            }
        }
        for (boolean s : seen) assertTrue(s);
        // the order is shuffled, not sequential
        DataLoader m = new DataLoader(ds.train(), 8, seqLen, 42, false);
        long[] ids = m.next().sequences();
        assertFalse(Arrays.equals(ids, new long[] {0, 1, 2, 3, 4, 5, 6, 7}));
        assertNull(m.next().docStarts());
    }

    @Test void sameSeedSameBatchesOtherSeedOtherBatches() {
        DataLoader a = new DataLoader(ds.train(), 4, 32, 7, false), b = new DataLoader(ds.train(), 4, 32, 7, false), c = new DataLoader(ds.train(), 4, 32, 8, false);
        int differ = 0;
        for (int i = 0; i < 50; i++) {
            Batch x = a.next(), y = b.next(), z = c.next();
            assertArrayEquals(x.tokens(), y.tokens());
            assertArrayEquals(x.sequences(), y.sequences());
            if (!Arrays.equals(x.sequences(), z.sequences())) differ++;
        }
        assertTrue(differ > 40, "differ " + differ);
    }

    @Test void restoredLoaderYieldsExactlyTheNextBatchesAcrossEpochs() throws Exception {
        int seqLen = 24, batch = 7;
        DataLoader ref = new DataLoader(ds.train(), batch, seqLen, 5, true);
        long perEpoch = ref.sequencesPerEpoch();
        assertTrue(perEpoch % batch != 0, "a batch straddles the epoch end");
        // run well into the second epoch, saving the state before every batch
        int steps = (int) (perEpoch / batch) * 2 + 3;
        List<LoaderState> states = new ArrayList<>();
        List<Batch> batches = new ArrayList<>();
        for (int i = 0; i < steps; i++) {
            states.add(ref.state());
            batches.add(ref.next());
        }
        assertEquals(2, ref.epoch());
        ObjectMapper json = new ObjectMapper();
        for (int i : new int[] {0, 1, (int) (perEpoch / batch) - 1, (int) (perEpoch / batch), (int) (perEpoch / batch) + 1, steps - 2}) {
            // restore through Java serialization and through JSON into fresh loaders
            LoaderState viaJava = roundTrip(states.get(i));
            LoaderState viaJson = json.readValue(json.writeValueAsString(states.get(i)), LoaderState.class);
            assertEquals(states.get(i), viaJava);
            assertEquals(states.get(i), viaJson);
            DataLoader fresh = new DataLoader(ds.train(), batch, seqLen, 5, true);
            fresh.restore(viaJson);
            for (int j = i; j < Math.min(steps, i + 3); j++) {
                Batch got = fresh.next();
                assertArrayEquals(batches.get(j).tokens(), got.tokens(), "step " + j + " after restoring state " + i);
                assertArrayEquals(batches.get(j).sequences(), got.sequences());
                assertTrue(Arrays.deepEquals(batches.get(j).docStarts(), got.docStarts()));
            }
        }
        // a state from another configuration is refused
        DataLoader other = new DataLoader(ds.train(), batch, seqLen + 1, 5, false);
        assertThrows(DataFormatException.class, () -> other.restore(states.get(1)));
        DataLoader otherSeed = new DataLoader(ds.train(), batch, seqLen, 6, false);
        assertThrows(DataFormatException.class, () -> otherSeed.restore(states.get(1)));
    }

    static LoaderState roundTrip(LoaderState s) throws Exception {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (ObjectOutputStream o = new ObjectOutputStream(bo)) {
            o.writeObject(s);
        }
        try (ObjectInputStream i = new ObjectInputStream(new ByteArrayInputStream(bo.toByteArray()))) {
            return (LoaderState) i.readObject();
        }
    }

    @Test void validationIteratorWalksWindowsInOrder() {
        int seqLen = 50;
        Iterator<Batch> it = DataLoader.validation(ds.train(), 6, seqLen, true);
        long k = 0;
        int lastRows = 0;
        while (it.hasNext()) {
            Batch b = it.next();
            lastRows = b.rows();
            for (int r = 0; r < b.rows(); r++, k++) {
                assertEquals(k, b.sequences()[r]);
                assertArrayEquals(Arrays.copyOfRange(stream, (int) (k * seqLen), (int) (k * seqLen + seqLen + 1)),
                        Arrays.copyOfRange(b.tokens(), r * (seqLen + 1), (r + 1) * (seqLen + 1)));
                assertArrayEquals(expectedStarts(k * seqLen, seqLen + 1), b.docStarts()[r]);
            }
        }
        long n = (stream.length - 1) / seqLen;
        assertEquals(n, k);
        assertEquals(n % 6 == 0 ? 6 : n % 6, lastRows);
        assertFalse(DataLoader.validation(ds.val(), 6, seqLen, false).hasNext(), "empty val split");
    }

    @Test void tooLittleDataIsAClearError() {
        DataFormatException e = assertThrows(DataFormatException.class, () -> new DataLoader(ds.train(), 1, stream.length, 1, false));
        assertTrue(e.getMessage().contains("fewer than seq_len + 1"), e.getMessage());
    }
}
