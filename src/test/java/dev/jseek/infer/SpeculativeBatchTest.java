package dev.jseek.infer;

import static dev.jseek.infer.BatchEngineTest.drain;
import static dev.jseek.infer.BatchEngineTest.req;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * MTP speculative decoding in the batch engine ({@code EngineOptions.speculative}). Oracles: the plain engine (one
 * token per sequence per step) for the tokens and end reasons, and {@link SpeculativeGenerator} (one sequence,
 * contiguous caches) for the drafts themselves: the MTP argmax at each drafted index must be the same, which checks
 * the paged MTP cache (its prompt part, its shifted slots, its prefix-cache reuse) and the batched MTP forward.
 * Forced drafts (right at some indices, wrong at others) exercise acceptance and the rollback of rejected cache
 * entries in concurrent batches whatever the random model's MTP module would guess.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SpeculativeBatchTest {
    @TempDir static Path dir, noMtpDir;
    static DeepSeekV3 model;
    static int vocab;
    static ModelConfig cfg;

    @BeforeAll
    static void build() {
        cfg = ConfigEdits.edit(Presets.get("tiny"), o -> o.put("max_position_embeddings", 256).putNull("rope_scaling"));
        assertEquals(1, cfg.numNextnPredictLayers());
        RandomInit.write(cfg, dir, 5, 0.3, DType.BF16);
        model = DeepSeekV3.open(dir);
        assertTrue(model.hasMtp());
        vocab = model.config.vocabSize();
    }

    @AfterAll static void close() { model.close(); }

    static EngineOptions opts() { return EngineOptions.defaults().withCacheBytes(64L << 20); }

    static EngineOptions spec() { return opts().withSpeculative(true); }

    static int[] prompt(Random r, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = r.nextInt(vocab);
        return p;
    }

    /**
     * Runs the requests concurrently and returns each one's tokens and end reason. Submits the first 9 requests together, reads 2 tokens of request 3 (a shared-prefix prompt, then in the prefix
     * cache), submits the rest together: the batch compositions depend on the scheduler, not on thread timing.
     */
    static List<String> runConcurrently(BatchEngine e, List<GenerationRequest> reqs) throws Exception {
        int late = Math.min(9, reqs.size()), first = Math.min(3, late - 1);
        List<Generation> gs = new ArrayList<>(e.submitAll(reqs.subList(0, late)));
        List<List<Integer>> got = new ArrayList<>();
        for (int i = 0; i < reqs.size(); i++) got.add(new ArrayList<>());
        if (late < reqs.size()) {
            assertNull(drain(gs.get(first), got.get(first), 2), "request " + first + " gives more than 2 tokens");
            gs.addAll(e.submitAll(reqs.subList(late, reqs.size())));
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < gs.size(); i++) {
            Generation.End end = drain(gs.get(i), got.get(i), Integer.MAX_VALUE);
            out.add(got.get(i) + " " + end.reason() + " " + end.tokens());
        }
        return out;
    }

    static List<String> runAlone(BatchEngine e, List<GenerationRequest> reqs) throws Exception {
        List<String> out = new ArrayList<>();
        for (GenerationRequest q : reqs) out.addAll(runConcurrently(e, List.of(q)));
        return out;
    }

    static List<GenerationRequest> mixed(Random r, int[] lens) {
        int[] shared = prompt(r, 140);
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < lens.length; i++) {
            int[] p = prompt(r, lens[i]);
            if (lens[i] > 100) System.arraycopy(shared, 0, p, 0, Math.min(p.length - 2, shared.length)); // a common prefix
            reqs.add(req(p, 6 + 3 * i, i));
        }
        return reqs;
    }

    @Test
    void draftsAndTokensEqualTheSingleSequenceSpeculativeDecoder() throws Exception {
        Random r = new Random(11);
        Map<Long, List<Integer>> engineDrafts = new HashMap<>();
        BatchEngine.Drafts record = (q, index, arg) -> {
            engineDrafts.computeIfAbsent(q.seed(), k -> new ArrayList<>()).add(index * 100000 + arg);
            return arg;
        };
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < 6; i++) reqs.add(req(prompt(r, 1 + r.nextInt(64)), 12 + i, i));
        List<List<Integer>> got = new ArrayList<>();
        BatchEngine.Stats st;
        try (BatchEngine e = new BatchEngine(model, spec(), record)) {
            List<Generation> gs = new ArrayList<>();
            for (GenerationRequest q : reqs) gs.add(e.submit(q));
            for (Generation g : gs) {
                got.add(new ArrayList<>());
                drain(g, got.getLast(), Integer.MAX_VALUE);
            }
            st = e.stats();
        }
        // the oracles run once the engine (which shares the model's scratch memory) has stopped
        for (int i = 0; i < reqs.size(); i++) {
            GenerationRequest q = reqs.get(i);
            List<Integer> oracleDrafts = new ArrayList<>();
            Generator.Result one = new SpeculativeGenerator(model, AttnMode.ABSORB, (index, position, arg) -> {
                oracleDrafts.add(index * 100000 + arg);
                return arg;
            }).generate(q.prompt(), q.maxNewTokens(), q.sampler(), null, null);
            int[] plain = new Generator(model, AttnMode.ABSORB).generate(q.prompt(), q.maxNewTokens(), q.sampler(), null, null).tokens();
            assertArrayEquals(plain, one.tokens(), "request " + i);
            assertArrayEquals(plain, got.get(i).stream().mapToInt(Integer::intValue).toArray(), "request " + i + " tokens");
            assertFalse(oracleDrafts.isEmpty());
            assertEquals(oracleDrafts, engineDrafts.get(q.seed()), "request " + i + " drafts (index, MTP argmax)");
        }
        assertTrue(st.drafted() > 0 && st.accepted() <= st.drafted(), st.toString());
    }

    @Test
    void concurrentRequestsWithForcedDraftsGiveThePlainTokens() throws Exception {
        Random r = new Random(12);
        List<GenerationRequest> reqs = mixed(r, new int[] {3, 70, 20, 130, 9, 64, 65, 150, 45, 1, 131});
        List<String> plain;
        Map<Long, int[]> expect = new HashMap<>();
        try (BatchEngine e = new BatchEngine(model, opts().withPrefixCache(false))) {
            plain = runAlone(e, reqs);
            for (GenerationRequest q : reqs) expect.put(q.seed(), e.generate(q));
        }
        // right at two of three indices, wrong at the third: both paths, in every batch composition
        BatchEngine.Drafts forced = (q, index, arg) -> {
            int[] want = expect.get(q.seed());
            if (index >= want.length) return arg;
            return index % 3 == 1 ? (want[index] + 1) % vocab : want[index];
        };
        try (BatchEngine e = new BatchEngine(model, spec().withMaxBatch(5), forced)) {
            assertEquals(plain, runConcurrently(e, reqs));
            BatchEngine.Stats st = e.stats();
            assertTrue(st.accepted() > 0 && st.accepted() < st.drafted(), st.toString());
            assertTrue(st.peakBatch() >= 3, "several sequences decoded together: " + st);
            assertTrue(st.promptTokensReused() >= 64, "the shared prefix was reused: " + st);
        }
        // the model's own drafts: the same tokens, and each request's drafts the same as when it runs alone without
        // the prefix cache (the reused MTP cache rows are exact)
        Map<Long, List<Integer>> alone = new HashMap<>(), batched = new HashMap<>();
        try (BatchEngine e = new BatchEngine(model, spec().withPrefixCache(false), recorder(alone))) {
            assertEquals(plain, runAlone(e, reqs));
        }
        try (BatchEngine e = new BatchEngine(model, spec().withMaxBatch(6), recorder(batched))) {
            assertEquals(plain, runConcurrently(e, reqs));
            assertTrue(e.stats().promptTokensReused() >= 64, e.stats().toString());
        }
        assertEquals(alone, batched);
    }

    static BatchEngine.Drafts recorder(Map<Long, List<Integer>> into) {
        return (q, index, arg) -> {
            into.computeIfAbsent(q.seed(), k -> new ArrayList<>()).add(index * 100000 + arg);
            return arg;
        };
    }

    @Test
    void stopTokensAndMaxTokensLandingOnAnAcceptedSecondToken() throws Exception {
        Random r = new Random(13);
        int[] p = prompt(r, 20);
        int[] free;
        try (BatchEngine e = new BatchEngine(model, opts())) {
            free = e.generate(GenerationRequest.greedy(p, 12));
        }
        BatchEngine.Drafts right = (q, index, arg) -> index < free.length ? free[index] : arg;
        for (int j = 0; j < free.length; j++) {
            GenerationRequest stop = new GenerationRequest(p, 12, 0f, 0, 1f, 0, new int[] {free[j]}, -1, 0);
            GenerationRequest max = GenerationRequest.greedy(p, j + 1);
            List<String> want;
            try (BatchEngine e = new BatchEngine(model, opts())) {
                want = runAlone(e, List.of(stop, max));
            }
            try (BatchEngine e = new BatchEngine(model, spec(), right)) {
                assertEquals(want, runAlone(e, List.of(stop, max)), "stop at " + j);
            }
        }
    }

    @Test
    void aModelWithoutMtpIsRefusedClearly() {
        ModelConfig none = ConfigEdits.edit(cfg, o -> o.put("num_nextn_predict_layers", 0));
        RandomInit.write(none, noMtpDir, 5, 0.3, DType.BF16);
        try (DeepSeekV3 m = DeepSeekV3.open(noMtpDir)) {
            var ex = assertThrows(IllegalArgumentException.class, () -> new BatchEngine(m, spec()));
            assertTrue(ex.getMessage().contains("MTP module") && ex.getMessage().contains("num_nextn_predict_layers = 0"), ex.getMessage());
        }
    }
}
