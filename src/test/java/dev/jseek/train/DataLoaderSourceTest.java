package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.data.Batch;
import dev.jseek.data.ByteTextEncoder;
import dev.jseek.data.DataLoader;
import dev.jseek.data.DataPreparer;
import dev.jseek.data.DirectoryCorpus;
import dev.jseek.data.TokenDataset;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The DataLoader adapter: windows split into inputs/targets as the loader defines them; state round trip through JSON. */
class DataLoaderSourceTest {
    @TempDir Path tmp;

    @Test
    void batchesMatchTheLoaderAndStateRoundTrips() throws Exception {
        Path corpus = Files.createDirectories(tmp.resolve("c"));
        for (int i = 0; i < 20; i++) Files.writeString(corpus.resolve("d" + i + ".txt"), "document " + i + " text ".repeat(i % 4 + 1));
        Path out = tmp.resolve("data");
        new DataPreparer(new DataPreparer.Options(new DirectoryCorpus("dir:" + corpus, corpus, Set.of("txt")), new ByteTextEncoder(), "bytes",
                "builtin:bytes", out, 0.0, 0.0, 3, 200, 1, false), new PrintStream(new ByteArrayOutputStream())).run();
        try (TokenDataset ds = TokenDataset.open(out)) {
            DataLoader ref = new DataLoader(ds.train(), 3, 10, 5, false);
            DataLoaderSource src = new DataLoaderSource(new DataLoader(ds.train(), 3, 10, 5, false));
            assertEquals(3, src.microBatchRows());
            byte[] saved = null;
            TokenBatch[] after = new TokenBatch[4];
            for (int k = 0; k < 10; k++) {
                if (k == 6) saved = src.saveState();
                Batch b = ref.next();
                TokenBatch t = src.next();
                if (k >= 6) after[k - 6] = t;
                assertEquals(30, src.tokens(t));
                for (int r = 0; r < 3; r++)
                    for (int i = 0; i < 10; i++) {
                        assertEquals(b.input(r, i), t.inputs()[r * 10 + i]);
                        assertEquals(b.target(r, i), t.targets()[r * 10 + i]);
                    }
            }
            assertTrue(new String(saved).contains("\"cursor\""), new String(saved));
            DataLoaderSource again = new DataLoaderSource(new DataLoader(ds.train(), 3, 10, 5, false));
            again.restoreState(saved);
            for (TokenBatch t : after) {
                TokenBatch u = again.next();
                assertArrayEquals(t.inputs(), u.inputs());
                assertArrayEquals(t.targets(), u.targets());
            }
            DataLoaderSource other = new DataLoaderSource(new DataLoader(ds.train(), 3, 10, 6, false));
            byte[] st = saved;
            assertThrows(RuntimeException.class, () -> other.restoreState(st), "a state of another seed is refused");
            assertThrows(dev.jseek.io.FormatException.class, () -> other.restoreState("garbage".getBytes()));
        }
    }
}
