package dev.jseek.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import org.junit.jupiter.api.Test;

/** Chunked prefill against one whole-prompt naive forward (no cache reuse), and the decode that follows it. */
class PrefillTest {
    @Test void chunkedPrefillEqualsWholePromptForward() throws Exception {
        try (DeepSeekV3 m = DeepSeekV3.open(GeneratorTest.fixture("yarn_qlora"))) {
            int V = m.config.vocabSize();
            int n = Math.min(37, m.config.maxPositionEmbeddings() - 2);
            int[] prompt = new int[n];
            for (int i = 0; i < n; i++) prompt[i] = (7 * i + 3) % V;
            float[] whole = m.forward(prompt, 0, m.newCache(n, AttnMode.NAIVE));
            for (AttnMode mode : AttnMode.values())
                for (int chunk : new int[] {1, 5, 16, n}) {
                    var cache = m.newCache(n + 1, mode);
                    float[] last = Prefill.lastLogits(m, prompt, 0, cache, chunk);
                    for (int v = 0; v < V; v++)
                        assertTrue(Math.abs(last[v] - whole[(n - 1) * V + v]) < 1e-4, mode + " chunk " + chunk + " logit " + v);
                    // the cache it left continues the sequence exactly as after a whole-prompt prefill
                    int next = Sampler.argmax(last, 0, V);
                    float[] after = m.forward(new int[] {next}, n, cache);
                    int[] seq = java.util.Arrays.copyOf(prompt, n + 1);
                    seq[n] = next;
                    float[] ref = m.forward(seq, 0, m.newCache(n + 1, AttnMode.NAIVE));
                    for (int v = 0; v < V; v++) assertTrue(Math.abs(after[v] - ref[n * V + v]) < 1e-4, mode + " chunk " + chunk + " decode logit " + v);
                }
            assertEquals(V, Prefill.lastLogits(m, prompt, 0, m.newCache(n, AttnMode.ABSORB), 4).length);
        }
    }
}
