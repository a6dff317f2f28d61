package dev.jseek.infer;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.model.AttnMode;
import dev.jseek.model.ConfigEdits;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.ModelConfig;
import dev.jseek.model.Presets;
import dev.jseek.model.RandomInit;
import dev.jseek.tensor.DType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Continuous batching. Oracles: {@link Generator} (one sequence, contiguous cache, one prefill forward) for prompts
 * of at most one prefill chunk, and the same request run alone on an engine without the prefix cache and without
 * stacked prefill (one chunk per forward) for longer ones. Mixed concurrent requests (greedy and seeded, prompts of 3..150 tokens, some sharing a prefix, joining while
 * others decode) must give exactly the alone tokens.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class BatchEngineTest {
    @TempDir static Path dir;
    static DeepSeekV3 model;
    static int vocab;

    @BeforeAll
    static void build() {
        ModelConfig cfg = ConfigEdits.edit(Presets.get("tiny"), o -> o.put("max_position_embeddings", 256).putNull("rope_scaling"));
        RandomInit.write(cfg, dir, 3, 0.3, DType.BF16);
        model = DeepSeekV3.open(dir);
        vocab = model.config.vocabSize();
    }

    @AfterAll
    static void close() { model.close(); }

    static EngineOptions opts() { return EngineOptions.defaults().withCacheBytes(64L << 20); }

    static int[] prompt(Random r, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = r.nextInt(vocab);
        return p;
    }

    static GenerationRequest req(int[] prompt, int max, int i) {
        boolean greedy = i % 2 == 0;
        return new GenerationRequest(prompt, max, greedy ? 0f : 0.9f, greedy ? 0 : 40, greedy ? 1f : 0.95f, 1000 + i,
                null, -1, 0);
    }

    @Test
    void aloneEqualsGeneratorForPromptsOfOneChunk() throws Exception {
        Random r = new Random(1);
        try (BatchEngine e = new BatchEngine(model, opts())) {
            for (int i = 0; i < 4; i++) {
                int[] p = prompt(r, 1 + r.nextInt(64));
                GenerationRequest q = req(p, 20, i);
                int[] expect = new Generator(model, AttnMode.ABSORB).generate(p, 20, q.sampler(), null, null).tokens();
                assertArrayEquals(expect, e.generate(q), "request " + i + " (prompt " + p.length + " tokens)");
            }
        }
    }

    @Test
    void concurrentRequestsGiveTheirAloneTokens() throws Exception {
        Random r = new Random(2);
        int[] shared = prompt(r, 140);
        int[] lens = {3, 70, 20, 130, 9, 64, 65, 150, 45, 1};
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < lens.length; i++) {
            int[] p = prompt(r, lens[i]);
            if (i == 3 || i == 7) System.arraycopy(shared, 0, p, 0, Math.min(p.length - 2, shared.length)); // a common prefix
            reqs.add(req(p, 8 + 3 * i, i));
        }
        reqs.add(req(Arrays.copyOf(shared, 131), 10, 10));
        List<int[]> alone = new ArrayList<>();
        try (BatchEngine e = new BatchEngine(model, opts().withPrefixCache(false).withPrefillTokens(0))) {
            for (GenerationRequest q : reqs) alone.add(e.generate(q));
        }
        assertTrue(model.canStackPrefill(opts().prefillChunk()));
        // stacked prefill (several sequences' chunks in one forward) with the default budget and with one that cuts
        // the waiting chunks over several steps
        for (int budget : new int[] {EngineOptions.DEFAULT_PREFILL_TOKENS, 100})
            concurrent(model, reqs, alone, opts().withMaxBatch(6).withPrefillTokens(budget), 9, 3);
    }

    /**
     * Block-typed experts (a Q8_0 GGUF of the same preset) stack their prefill too, one expert product per chunk
     * (Moe.forwardStacked): concurrent requests give the tokens each gives alone on an engine without stacking.
     */
    @Test
    void q8ExpertsStackTheirPrefillAndGiveTheAloneTokens() throws Exception {
        Path gguf = dir.resolve("q8.gguf");
        dev.jseek.gguf.GgufExporter.export(dir, gguf, dev.jseek.gguf.GgmlType.Q8_0, false, null);
        try (DeepSeekV3 q8 = dev.jseek.gguf.GgufModel.open(gguf)) {
            Random r = new Random(6);
            int[] shared = prompt(r, 140);
            int[] lens = {70, 20, 150, 9, 130};
            List<GenerationRequest> reqs = new ArrayList<>();
            for (int i = 0; i < lens.length; i++) {
                int[] p = prompt(r, lens[i]);
                if (i == 2 || i == 4) System.arraycopy(shared, 0, p, 0, Math.min(p.length - 2, shared.length));
                reqs.add(req(p, 20 + 2 * i, i));
            }
            List<int[]> alone = new ArrayList<>();
            try (BatchEngine e = new BatchEngine(q8, opts().withPrefixCache(false).withPrefillTokens(0))) {
                assertFalse(e.stacksPrefill());
                for (GenerationRequest q : reqs) alone.add(e.generate(q));
            }
            concurrent(q8, reqs, alone, opts().withMaxBatch(6), 4, 2);
        }
    }

    /**
     * Submits requests [0, late) together, reads 2 tokens of request {@code first} (its prompt is then computed and
     * its whole chunks are in the prefix cache), submits the rest together, and compares every request's tokens with
     * {@code alone}. Submitting in groups makes the batching checks independent of thread timing: the first group
     * is admitted in one scheduler step (up to the batch limit), so its short prompts decode side by side.
     */
    private static void concurrent(DeepSeekV3 model, List<GenerationRequest> reqs, List<int[]> alone, EngineOptions o,
            int late, int first) throws Exception {
        try (BatchEngine e = new BatchEngine(model, o)) {
            assertTrue(e.stacksPrefill());
            List<Generation> gs = new ArrayList<>(e.submitAll(reqs.subList(0, late)));
            List<List<Integer>> got = new ArrayList<>();
            for (int i = 0; i < reqs.size(); i++) got.add(new ArrayList<>());
            assertNull(drain(gs.get(first), got.get(first), 2), "request " + first + " gives more than 2 tokens");
            gs.addAll(e.submitAll(reqs.subList(late, reqs.size()))); // join while the first group decodes
            for (int i = 0; i < gs.size(); i++) drain(gs.get(i), got.get(i), Integer.MAX_VALUE);
            for (int i = 0; i < reqs.size(); i++)
                assertArrayEquals(alone.get(i), got.get(i).stream().mapToInt(Integer::intValue).toArray(),
                        "request " + i + " (prompt " + reqs.get(i).prompt().length + " tokens, " + o.prefillTokens() + " prefill tokens per step)");
            BatchEngine.Stats st = e.stats();
            assertTrue(st.promptTokensReused() >= 128, "the shared prefix was reused: " + st);
            assertTrue(st.peakBatch() >= 4, "several sequences decoded together: " + st);
            assertTrue(st.prefillForwards() < st.prefillChunks(), "chunks stacked in prefill forwards: " + st);
        }
    }

    /** Reads up to n tokens (all, to the end, with MAX_VALUE) of g into out. */
    static Generation.End drain(Generation g, List<Integer> out, int n) throws InterruptedException {
        for (int k = 0; k < n; k++) {
            Generation.Event ev = g.poll(60, TimeUnit.SECONDS);
            assertNotNull(ev, "no event within 60 s");
            if (ev instanceof Generation.End end) {
                assertNull(end.error());
                return end;
            }
            out.add(((Generation.Token) ev).id());
        }
        return null;
    }

    @Test
    void prefixCacheReusesWholeChunksAndGivesTheSameTokens() throws Exception {
        Random r = new Random(3);
        int[] sys = prompt(r, 130);
        int[] a = Arrays.copyOf(sys, 140), b = Arrays.copyOf(sys, 150);
        for (int i = 130; i < 150; i++) b[i] = r.nextInt(vocab);
        for (int i = 130; i < 140; i++) a[i] = r.nextInt(vocab);
        int[] expectB;
        try (BatchEngine e = new BatchEngine(model, opts().withPrefixCache(false).withPrefillTokens(0))) {
            expectB = e.generate(GenerationRequest.greedy(b, 12));
        }
        try (BatchEngine e = new BatchEngine(model, opts())) {
            Generation ga = e.submit(GenerationRequest.greedy(a, 5));
            drain(ga, new ArrayList<>(), Integer.MAX_VALUE);
            assertEquals(0, ga.cachedPromptTokens());
            Generation gb = e.submit(GenerationRequest.greedy(b, 12));
            List<Integer> got = new ArrayList<>();
            drain(gb, got, Integer.MAX_VALUE);
            assertEquals(128, gb.cachedPromptTokens(), "two whole 64-token chunks of the common 130");
            assertArrayEquals(expectB, got.stream().mapToInt(Integer::intValue).toArray());
        }
    }

    @Test
    void aFullPoolMakesAdmissionWaitAndATooLongPromptIsRefused() throws Exception {
        Random r = new Random(4);
        long perToken = dev.jseek.model.BlockPool.bytesPerToken(model.config, model.layers.length);
        // 8 blocks of 16 tokens: room for one request of 100 tokens at a time
        EngineOptions small = opts().withCacheBytes(perToken * 16 * 8).withPrefixCache(false);
        int[] p1 = prompt(r, 60), p2 = prompt(r, 70);
        int[] e1, e2;
        try (BatchEngine e = new BatchEngine(model, small.withCacheBytes(64L << 20))) {
            e1 = e.generate(GenerationRequest.greedy(p1, 40));
            e2 = e.generate(GenerationRequest.greedy(p2, 30));
        }
        try (BatchEngine e = new BatchEngine(model, small)) {
            Generation g1 = e.submit(GenerationRequest.greedy(p1, 40));
            Generation g2 = e.submit(GenerationRequest.greedy(p2, 30));
            List<Integer> t1 = new ArrayList<>(), t2 = new ArrayList<>();
            // the second request waits in the queue until the first one's blocks come back. A snapshot of the queue after
            // the first token raced on a busy CI machine (the first request's 40 tokens had ended before it was read);
            // that the two never decoded in one step cannot race
            drain(g1, t1, Integer.MAX_VALUE);
            drain(g2, t2, Integer.MAX_VALUE);
            assertEquals(1, e.stats().peakBatch(), "the two never decoded together: the second waited for the first one's blocks");
            assertArrayEquals(e1, t1.stream().mapToInt(Integer::intValue).toArray());
            assertArrayEquals(e2, t2.stream().mapToInt(Integer::intValue).toArray());
            assertEquals(0, e.stats().blocksUsed(), "every block back in the pool");
            var ex = assertThrows(BatchEngine.CacheTooSmallException.class,
                    () -> e.submit(GenerationRequest.greedy(prompt(r, 200), 5)));
            assertEquals("prompt", ex.param());
            // the prompt fits, its maximum of new tokens does not: refused on max_tokens, with the largest that fits
            var mx = assertThrows(BatchEngine.CacheTooSmallException.class, () -> e.submit(GenerationRequest.greedy(prompt(r, 100), 29)));
            assertEquals("max_tokens", mx.param());
            assertTrue(mx.getMessage().contains("ask for max_tokens <= 28"), mx.getMessage());
            assertTrue(ex.getMessage().contains("the prompt is 200 tokens") && ex.getMessage().contains("the pool holds 8 blocks")
                    && ex.getMessage().contains("8 blocks of 16 tokens") && ex.getMessage().contains("at most 127 tokens fits"),
                    ex.getMessage());
        }
    }

    @Test
    void queueLimitCancellationAndDeadline() throws Exception {
        Random r = new Random(5);
        try (BatchEngine e = new BatchEngine(model, opts().withMaxBatch(1).withMaxQueue(1))) {
            Generation a = e.submit(GenerationRequest.greedy(prompt(r, 10), 200));
            Generation b = e.submit(GenerationRequest.greedy(prompt(r, 10), 5));
            assertThrows(BatchEngine.QueueFullException.class, () -> e.submit(GenerationRequest.greedy(prompt(r, 10), 5)));
            drain(a, new ArrayList<>(), 3);
            a.cancel();
            Generation.End end = drain(a, new ArrayList<>(), Integer.MAX_VALUE);
            assertEquals(Generation.CANCELLED, end.reason());
            assertEquals(Generation.MAX_TOKENS, drain(b, new ArrayList<>(), Integer.MAX_VALUE).reason());
            // a deadline that has passed by the time the request is admitted: it ends without a token
            Generation c = e.submit(new GenerationRequest(prompt(r, 10), 200, 0f, 0, 1f, 0, null, -1, System.nanoTime() - 1));
            Generation.End end2 = drain(c, new ArrayList<>(), Integer.MAX_VALUE);
            assertEquals(Generation.DEADLINE, end2.reason());
            assertEquals(0, end2.tokens());
            assertEquals(0, e.stats().active());
        }
    }
}
