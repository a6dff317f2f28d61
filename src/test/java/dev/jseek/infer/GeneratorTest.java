package dev.jseek.infer;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Oracle: recomputing the whole sequence from scratch with the naive attention (no cache reuse) after each step;
 * cached absorbed decoding must choose exactly the argmax of that recomputation at every step.
 */
class GeneratorTest {
    static Path fixture(String name) throws Exception {
        return Path.of(GeneratorTest.class.getResource("/parity/" + name).toURI());
    }

    @Test
    void greedyCachedDecodeEqualsFullRecomputation() throws Exception {
        try (DeepSeekV3 m = DeepSeekV3.open(fixture("yarn_qlora"))) {
            int[] prompt = {3, 17, 42, 5};
            List<Integer> streamed = new ArrayList<>();
            Generator.Result r = new Generator(m, AttnMode.ABSORB).generate(prompt, 12, Sampler.greedy(), new int[0], streamed::add);
            assertEquals(12, r.tokens().length);
            assertEquals(Arrays.stream(r.tokens()).boxed().toList(), streamed);
            int vocab = m.config.vocabSize();
            int[] seq = prompt.clone();
            for (int t : r.tokens()) {
                float[] logits = m.forward(seq, 0, m.newCache(seq.length, AttnMode.NAIVE));
                assertEquals(Sampler.argmax(logits, (seq.length - 1) * vocab, vocab), t);
                seq = Arrays.copyOf(seq, seq.length + 1);
                seq[seq.length - 1] = t;
            }
        }
    }

    @Test
    void stopsAtTheStopTokenAndReportsWhy() throws Exception {
        try (DeepSeekV3 m = DeepSeekV3.open(fixture("no_qlora"))) {
            Generator g = new Generator(m, AttnMode.ABSORB);
            Generator.Result free = g.generate(new int[] {1, 2, 3}, 6, Sampler.greedy(), new int[0], null);
            int stopAt = free.tokens()[2];
            Generator.Result r = g.generate(new int[] {1, 2, 3}, 6, Sampler.greedy(), new int[] {stopAt}, null);
            int first = 0;
            while (free.tokens()[first] != stopAt) first++;
            assertEquals(first + 1, r.tokens().length);
            assertEquals("stop token", r.stopReason());
            assertThrows(IllegalArgumentException.class, () -> g.generate(new int[0], 3, Sampler.greedy(), null, null));
        }
    }

    @Test
    void aSeedFixesSampledOutput() throws Exception {
        try (DeepSeekV3 m = DeepSeekV3.open(fixture("no_qlora"))) {
            Generator g = new Generator(m, AttnMode.ABSORB);
            int[] a = g.generate(new int[] {4}, 10, new Sampler(1f, 20, 0.9f, 99), null, null).tokens();
            int[] b = g.generate(new int[] {4}, 10, new Sampler(1f, 20, 0.9f, 99), null, null).tokens();
            assertArrayEquals(a, b);
        }
    }

    @Test
    void theListenerCanEndGeneration() throws Exception {
        try (DeepSeekV3 m = DeepSeekV3.open(fixture("no_qlora"))) {
            Generator g = new Generator(m, AttnMode.ABSORB);
            int[] free = g.generate(new int[] {1, 2, 3}, 8, Sampler.greedy(), new int[0], null).tokens();
            int[] seen = {0};
            Generator.Result r = g.generateWhile(new int[] {1, 2, 3}, 8, Sampler.greedy(), new int[0], id -> ++seen[0] < 3);
            assertArrayEquals(Arrays.copyOf(free, 3), r.tokens());
            assertEquals(3, seen[0]);
            assertEquals("stopped by caller", r.stopReason());
            // false on the last allowed token: still "max tokens"
            Generator.Result last = g.generateWhile(new int[] {1, 2, 3}, 2, Sampler.greedy(), new int[0], id -> false);
            assertEquals(1, last.tokens().length);
            assertEquals("stopped by caller", last.stopReason());
            Generator.Result atMax = g.generateWhile(new int[] {1, 2, 3}, 1, Sampler.greedy(), new int[0], id -> false);
            assertEquals("max tokens", atMax.stopReason());
        }
    }
}
