package dev.jseek.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.source.ModelSource;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BitsPerByteTest {
    @TempDir Path tmp;

    private static int[][] windows(int n, int len, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[][] w = new int[n][len];
        for (int[] x : w) for (int i = 0; i < len; i++) x[i] = r.nextInt(vocab);
        return w;
    }

    /** Every matrix zero: the logits are all 0, so each token costs ln V nats and bits/byte = log2(V) / bytesPerToken. */
    @Test void uniformModelGivesLog2VocabPerToken() {
        try (DeepSeekV3 m = ModelSource.open(EvalFixtures.tinyModel(tmp, 512, 1, 0.0))) {
            BitsPerByte.Result r = BitsPerByte.evaluate(m, windows(3, 20, 512, 5), 3.0, 7);
            assertEquals(57, r.tokens());
            assertEquals(Math.log(512), r.natsPerToken(), 1e-9);
            assertEquals(9.0 / 3.0, r.bitsPerByte(), 1e-9); // log2(512) = 9 bits per token, 3 bytes per token
        }
    }

    /** A random model: chunked scoring equals -log softmax of one whole-window forward, summed by hand. */
    @Test void matchesWholeWindowForward() {
        try (DeepSeekV3 m = ModelSource.open(EvalFixtures.tinyModel(tmp, 512, 2, 0.05))) {
            int[][] w = windows(2, 17, 512, 9);
            int V = 512;
            double nats = 0;
            for (int[] x : w) {
                int n = x.length - 1;
                float[] logits = m.forward(java.util.Arrays.copyOf(x, n), 0, m.newCache(n, AttnMode.NAIVE));
                for (int t = 0; t < n; t++) {
                    double max = Double.NEGATIVE_INFINITY, s = 0;
                    for (int v = 0; v < V; v++) max = Math.max(max, logits[t * V + v]);
                    for (int v = 0; v < V; v++) s += Math.exp(logits[t * V + v] - max);
                    nats += max + Math.log(s) - logits[t * V + x[t + 1]];
                }
            }
            double expected = nats / 32 / (Math.log(2) * 2.5);
            for (int chunk : new int[] {1, 5, 64}) {
                BitsPerByte.Result r = BitsPerByte.evaluate(m, w, 2.5, chunk);
                assertEquals(32, r.tokens());
                assertEquals(expected, r.bitsPerByte(), 1e-5 * expected, "chunk " + chunk);
            }
        }
    }
}
