package dev.jseek.model;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The KV cache takes memory as positions arrive (issue 10 §6): a cache whose capacity is the whole context holds,
 * after n positions, at most max(64, 2n) of them; and a prefill and decoding through its growth step (64 -> 128) give the
 * logits of one forward over the whole sequence with an exactly sized naive cache (the oracle: no cache reuse).
 */
class KvCacheGrowthTest {
    @Test void theCacheGrowsAsTokensArriveAndDecodesTheSame() throws Exception {
        try (DeepSeekV3 m = DeepSeekV3.open(Path.of(KvCacheGrowthTest.class.getResource("/parity/no_qlora").toURI()))) {
            int ctx = m.config.maxPositionEmbeddings(), vocab = m.config.vocabSize(), n = 70;
            KvCache cache = m.newCache(ctx, AttnMode.ABSORB);
            assertEquals(0, cache.bytes(), "nothing is held before the first forward");
            int[] seq = new Random(4).ints(n, 0, vocab).toArray();
            int prefill = 60; // one prefill forward, then one token at a time across the 64 -> 128 step
            float[] logits = m.forward(java.util.Arrays.copyOf(seq, prefill), 0, cache);
            assertEquals(64, cache.held());
            for (int p = prefill; p < n; p++) {
                logits = m.forward(new int[] {seq[p]}, p, cache);
                assertTrue(cache.held() >= p + 1 && cache.held() <= Math.max(64, 2 * (p + 1)), "held " + cache.held() + " at " + (p + 1));
            }
            assertEquals(128, cache.held());
            assertEquals(128 * cache.bytesPerPosition(), cache.bytes());
            assertTrue(cache.bytes() * 100 < ctx * cache.bytesPerPosition(), "the cache holds the whole context up front");
            float[] full = m.forward(seq, 0, m.newCache(n, AttnMode.NAIVE));
            double worst = 0;
            for (int v = 0; v < vocab; v++) worst = Math.max(worst, Math.abs(full[(n - 1) * vocab + v] - logits[v]));
            assertTrue(worst < 1e-4, "decode through growth vs one full forward: max |diff| " + worst);
        }
    }
}
