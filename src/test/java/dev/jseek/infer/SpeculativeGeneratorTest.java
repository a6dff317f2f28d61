package dev.jseek.infer;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.io.Checkpoint;
import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.KvCache;
import dev.jseek.model.ModelConfig;
import dev.jseek.model.WeightSource;
import dev.jseek.tensor.Matrix;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Oracle: plain {@link Generator} decoding (one token per forward). Speculative decoding must emit exactly its
 * tokens, stop reason included, greedy and sampled, with the drafts from the MTP module or forced right / wrong.
 * The MTP drafts themselves are checked against a from-scratch recomputation of the MTP logits over the sequence.
 * Models: the PyTorch parity fixtures (MTP depth 1; YaRN + q_lora, q_proj, FP8 weights).
 */
class SpeculativeGeneratorTest {
    static final String[] MODELS = {"yarn_qlora", "no_qlora", "fp8"};
    static final int[] PROMPT = {3, 17, 42, 5, 9};

    static DeepSeekV3 open(String name) throws Exception { return DeepSeekV3.open(GeneratorTest.fixture(name)); }

    static void assertSame(Generator.Result plain, Generator.Result spec, String what) {
        assertArrayEquals(plain.tokens(), spec.tokens(), what + ": tokens");
        assertEquals(plain.stopReason(), spec.stopReason(), what + ": stop reason");
        assertEquals(plain.promptTokens(), spec.promptTokens(), what);
        DraftStats s = spec.drafts();
        assertNotNull(s, what);
        assertTrue(s.accepted() <= s.drafted() && s.drafted() <= (long) s.positions() * s.forwards(), what + ": " + s);
        assertEquals(s.drafted(), Arrays.stream(s.draftedAt()).sum(), what + ": " + s);
        assertEquals(s.accepted(), Arrays.stream(s.acceptedAt()).sum(), what + ": " + s);
        // the first token comes from the prefill; each forward gives one token, an accepted draft one more (unless
        // generation ended on the token the draft matched)
        int produced = spec.tokens().length - (spec.tokens().length > 0 ? 1 : 0);
        assertTrue(produced <= s.forwards() + s.accepted() && produced >= s.forwards() + s.accepted() - 1, what + ": " + s
                + " for " + spec.tokens().length + " tokens");
    }

    /**
     * The premise of exact equality: the 2-token verify forward at positions p, p+1 gives bitwise the logits of
     * two 1-token decode steps, in both attention modes, including across the GEMM's 256-wide k blocks (the
     * attention's P·V product over more than 256 keys).
     */
    @Test
    void twoTokenForwardEqualsTwoDecodeStepsBitwise() throws Exception {
        for (String name : MODELS)
            for (AttnMode mode : AttnMode.values())
                try (DeepSeekV3 m = open(name)) {
                    int v = m.config.vocabSize(), start = 251;
                    int[] seq = new int[start + 9];
                    for (int i = 0; i < seq.length; i++) seq[i] = (i * 37 + 11) % v;
                    KvCache a = m.newCache(seq.length, mode), b = m.newCache(seq.length, mode);
                    m.forward(Arrays.copyOf(seq, start), 0, a);
                    m.forward(Arrays.copyOf(seq, start), 0, b);
                    for (int p = start; p + 1 < seq.length; p += 2) {
                        float[] two = m.forward(new int[] {seq[p], seq[p + 1]}, p, a);
                        float[] one0 = m.forward(new int[] {seq[p]}, p, b);
                        float[] one1 = m.forward(new int[] {seq[p + 1]}, p + 1, b);
                        assertArrayEquals(bits(one0), bits(Arrays.copyOfRange(two, 0, v)), name + " " + mode + " pos " + p);
                        assertArrayEquals(bits(one1), bits(Arrays.copyOfRange(two, v, 2 * v)), name + " " + mode + " pos " + (p + 1));
                    }
                }
    }

    private static int[] bits(float[] a) {
        int[] r = new int[a.length];
        for (int i = 0; i < a.length; i++) r[i] = Float.floatToIntBits(a[i]);
        return r;
    }

    @Test
    void greedyEqualsPlainDecoding() throws Exception {
        for (String name : MODELS)
            for (AttnMode mode : AttnMode.values())
                try (DeepSeekV3 m = open(name)) {
                    Generator.Result plain = new Generator(m, mode).generate(PROMPT, 40, Sampler.greedy(), null, null);
                    for (int k = 1; k <= 3; k++) {
                        List<Integer> streamed = new ArrayList<>();
                        Generator.Result spec = new SpeculativeGenerator(m, mode, k).generate(PROMPT, 40, Sampler.greedy(), null, streamed::add);
                        assertSame(plain, spec, name + " " + mode + " k=" + k);
                        assertEquals(Arrays.stream(spec.tokens()).boxed().toList(), streamed);
                        assertTrue(spec.drafts().drafted() > 0);
                        assertEquals(k, spec.drafts().positions());
                        // a one-token prompt has no prompt pairs for the MTP cache
                        assertSame(new Generator(m, mode).generate(new int[] {7}, 9, Sampler.greedy(), null, null),
                                new SpeculativeGenerator(m, mode, k).generate(new int[] {7}, 9, Sampler.greedy(), null, null), name + " 1-token prompt k=" + k);
                    }
                }
    }

    @Test
    void seededSamplingEqualsPlainDecoding() throws Exception {
        float[][] settings = {{0.8f, 0, 0.9f}, {1.0f, 20, 1f}, {1.3f, 0, 0.95f}};
        for (String name : MODELS)
            try (DeepSeekV3 m = open(name)) {
                for (int seed = 1; seed <= 3; seed++) {
                    float[] s = settings[seed - 1];
                    Generator.Result plain = new Generator(m, AttnMode.ABSORB).generate(PROMPT, 30, new Sampler(s[0], (int) s[1], s[2], seed), null, null);
                    for (int k = 1; k <= 3; k++) {
                        Generator.Result spec = new SpeculativeGenerator(m, AttnMode.ABSORB, k).generate(PROMPT, 30, new Sampler(s[0], (int) s[1], s[2], seed), null, null);
                        assertSame(plain, spec, name + " seed " + seed + " k=" + k);
                    }
                    // with forced-correct drafts every step takes the accepted path; still the same tokens
                    Generator.Result forced = new SpeculativeGenerator(m, AttnMode.ABSORB, (i, j, arg) -> plain.tokens()[i])
                            .generate(PROMPT, 30, new Sampler(s[0], (int) s[1], s[2], seed), null, null);
                    assertSame(plain, forced, name + " seed " + seed + " forced");
                    assertEquals(forced.drafts().drafted(), forced.drafts().accepted());
                }
            }
    }

    /**
     * Forced drafts exercise both paths with known counts: always right (every step accepted, two tokens per forward),
     * always wrong (every step rejected, the main cache rewound each time), alternating.
     */
    @Test
    void forcedDraftsExerciseAcceptAndRewindWithExactCounts() throws Exception {
        try (DeepSeekV3 m = open("yarn_qlora")) {
            int vocab = m.config.vocabSize();
            for (AttnMode mode : AttnMode.values()) {
                Generator.Result plain = new Generator(m, mode).generate(PROMPT, 21, Sampler.greedy(), null, null);
                int[] want = plain.tokens();
                Generator.Result right = new SpeculativeGenerator(m, mode, (i, j, arg) -> want[i]).generate(PROMPT, 21, Sampler.greedy(), null, null);
                assertSame(plain, right, mode + " right");
                assertEquals(new DraftStats(10, 10, 10), right.drafts());        // 20 tokens after the first, 2 per forward
                Generator.Result wrong = new SpeculativeGenerator(m, mode, (i, j, arg) -> (want[i] + 1) % vocab).generate(PROMPT, 21, Sampler.greedy(), null, null);
                assertSame(plain, wrong, mode + " wrong");
                assertEquals(new DraftStats(19, 0, 20), wrong.drafts());         // the last step has 1 token left: no draft
                Generator.Result alt = new SpeculativeGenerator(m, mode, (i, j, arg) -> i % 3 == 0 ? want[i] : (want[i] + 1) % vocab)
                        .generate(PROMPT, 21, Sampler.greedy(), null, null);
                assertSame(plain, alt, mode + " alternating");
                assertTrue(alt.drafts().accepted() > 0 && alt.drafts().accepted() < alt.drafts().drafted(), alt.drafts().toString());
            }
        }
    }

    /**
     * k = 2, 3 with the drafts forced right up to draft position r of every step and wrong there (r = k: all right),
     * so every step rejects at the same position and rewinds the main cache past it: plain decoding's tokens, and for
     * k = 2 the counts worked out by hand (20 tokens after the prefill's first).
     */
    @Test
    void forcedRejectionAtEachDraftPosition() throws Exception {
        try (DeepSeekV3 m = open("yarn_qlora")) {
            int vocab = m.config.vocabSize();
            for (AttnMode mode : AttnMode.values()) {
                Generator.Result plain = new Generator(m, mode).generate(PROMPT, 21, Sampler.greedy(), null, null);
                int[] want = plain.tokens();
                for (int k = 2; k <= 3; k++)
                    for (int r = 0; r <= k; r++) {
                        int rj = r;
                        Generator.Result spec = new SpeculativeGenerator(m, mode, k, (i, j, arg) -> j - 1 == rj ? (want[i] + 1) % vocab : want[i])
                                .generate(PROMPT, 21, Sampler.greedy(), null, null);
                        String what = mode + " k=" + k + " reject at " + r;
                        assertSame(plain, spec, what);
                        DraftStats d = spec.drafts();
                        for (int j = 0; j < k; j++) {      // rejections only at position r, acceptances everywhere before it
                            assertEquals(j < r ? d.reachedAt()[j] : 0, d.acceptedAt()[j], what + " " + d);
                            if (j > r) assertEquals(0, d.reachedAt()[j], what + " " + d);
                        }
                        if (k == 2) {
                            // r = 0: 1 token per step, K = 2 while 3 or more are left (18 steps), then K = 1, then K = 0;
                            // r = 1: 2 per step (9 steps), then K = 1 accepted; r = 2: 3 per step (6 steps), then K = 1 accepted
                            DraftStats expect = switch (r) {
                                case 0 -> new DraftStats(37, 0, 20, new int[] {19, 18}, new int[] {19, 0}, new int[] {0, 0});
                                case 1 -> new DraftStats(19, 10, 10, new int[] {10, 9}, new int[] {10, 9}, new int[] {10, 0});
                                default -> new DraftStats(13, 13, 7, new int[] {7, 6}, new int[] {7, 6}, new int[] {7, 6});
                            };
                            assertEquals(expect, d, what);
                        }
                    }
            }
        }
    }

    /**
     * The confidence rule for drafts after the first when sampling (jseek.draftMinProb): at 1 no second draft survives
     * it (the MTP's probability of a draft is below 1), so k = 3 drafts exactly as k = 1 does; at 0 every step drafts
     * all it may; in between, the tokens stay plain decoding's. Greedy decoding ignores it.
     */
    @Test
    void draftMinProbLimitsTheLaterDrafts() throws Exception {
        try (DeepSeekV3 m = open("yarn_qlora")) {
            SpeculativeGenerator.DraftSource mtp = (i, j, arg) -> arg;
            DraftStats g1 = new SpeculativeGenerator(m, AttnMode.ABSORB, 3, 1.0, mtp).generate(PROMPT, 30, Sampler.greedy(), null, null).drafts();
            assertEquals(new SpeculativeGenerator(m, AttnMode.ABSORB, 3, 0, mtp).generate(PROMPT, 30, Sampler.greedy(), null, null).drafts(), g1);
            assertTrue(g1.draftedAt()[2] > 0, g1.toString());
            for (Sampler s : new Sampler[] {new Sampler(0.8f, 0, 1f, 4), new Sampler(1.2f, 0, 0.9f, 5)}) {
                float[] set = s.temperature() == 0.8f ? new float[] {0.8f, 1f, 4} : new float[] {1.2f, 0.9f, 5};
                java.util.function.Supplier<Sampler> fresh = () -> new Sampler(set[0], 0, set[1], (long) set[2]);
                Generator.Result plain = new Generator(m, AttnMode.ABSORB).generate(PROMPT, 30, fresh.get(), null, null);
                DraftStats one = new SpeculativeGenerator(m, AttnMode.ABSORB, 1, 0, mtp).generate(PROMPT, 30, fresh.get(), null, null).drafts();
                Generator.Result capped = new SpeculativeGenerator(m, AttnMode.ABSORB, 3, 1.0, mtp).generate(PROMPT, 30, fresh.get(), null, null);
                assertSame(plain, capped, "draftMinProb 1");
                DraftStats c = capped.drafts();
                assertEquals(List.of(one.drafted(), one.accepted(), one.forwards()), List.of(c.drafted(), c.accepted(), c.forwards()), c.toString());
                assertArrayEquals(new int[] {0, 0}, Arrays.copyOfRange(c.draftedAt(), 1, 3), c.toString());
                Generator.Result all = new SpeculativeGenerator(m, AttnMode.ABSORB, 3, 0, mtp).generate(PROMPT, 30, fresh.get(), null, null);
                assertSame(plain, all, "draftMinProb 0");
                assertTrue(all.drafts().draftedAt()[2] >= all.drafts().forwards() - 3, all.drafts().toString());
                Generator.Result mid = new SpeculativeGenerator(m, AttnMode.ABSORB, 3, 0.3, mtp).generate(PROMPT, 30, fresh.get(), null, null);
                assertSame(plain, mid, "draftMinProb 0.3");
            }
            assertThrows(IllegalArgumentException.class, () -> new SpeculativeGenerator(m, AttnMode.ABSORB, 3, 1.5, mtp));
            assertThrows(IllegalArgumentException.class, () -> new SpeculativeGenerator(m, AttnMode.ABSORB, 0));
            assertThrows(IllegalArgumentException.class, () -> new SpeculativeGenerator(m, AttnMode.ABSORB, SpeculativeGenerator.MAX_DRAFT_TOKENS + 1));
        }
    }

    /**
     * {@code mtpHiddenLast} (the drafts' MTP forward: the pairs before the last only write their cache entries) gives
     * bitwise the last row of {@code mtpHidden} over the same pairs, and leaves the same cache: a probe pair after it
     * reads every entry and must get the same bits.
     */
    @Test
    void mtpHiddenLastEqualsTheLastRowOfMtpHidden() throws Exception {
        for (String name : MODELS)
            try (DeepSeekV3 m = open(name)) {
                int dim = m.config.hiddenSize(), v = m.config.vocabSize(), n = 40;
                int[] seq = new int[n];
                for (int i = 0; i < n; i++) seq[i] = (i * 31 + 7) % v;
                for (AttnMode mode : AttnMode.values())
                    for (int T = 1; T <= 5; T++) {
                        int start = n - 1 - T;                                 // pairs (h_i, seq[i+1]) for i < start come first
                        float[] h = m.forwardHidden(seq, 0, m.newCache(n, mode));
                        KvCache a = m.newMtpCache(n, mode), b = m.newMtpCache(n, mode);
                        m.mtpHidden(Arrays.copyOfRange(seq, 1, start + 1), h, 0, a);
                        m.mtpHidden(Arrays.copyOfRange(seq, 1, start + 1), h, 0, b);
                        int[] toks = Arrays.copyOfRange(seq, start + 1, start + 1 + T);
                        float[] rows = Arrays.copyOfRange(h, start * dim, (start + T) * dim);
                        float[] all = m.mtpHidden(toks, rows, start, a), last = m.mtpHiddenLast(toks, rows, start, b);
                        String what = name + " " + mode + " T=" + T;
                        assertArrayEquals(bits(Arrays.copyOfRange(all, (T - 1) * dim, T * dim)), bits(last), what);
                        float[] probe = Arrays.copyOfRange(h, (start + T) * dim, (start + T + 1) * dim);
                        assertArrayEquals(bits(m.mtpHidden(new int[] {3}, probe, start + T, a)), bits(m.mtpHidden(new int[] {3}, probe, start + T, b)),
                                what + ": the cache");
                    }
            }
    }

    /**
     * The rewind of both caches after rejections at every draft position: a probe token fed after the generation at
     * the next position reads every entry written before it, and must give bitwise the logits it gets from caches
     * filled one token at a time by plain decoding steps (the main cache: the prompt, then each fed token; the MTP
     * cache: the prompt's pairs, then each verified pair (h_i, x_{i+1}) alone, up to the last step that drafted).
     */
    @Test
    void cachesAfterRejectionsEqualOneTokenAtATimeCaches() throws Exception {
        try (DeepSeekV3 m = open("no_qlora")) {
            int vocab = m.config.vocabSize(), dim = m.config.hiddenSize(), n = PROMPT.length, max = 17, probe = 11;
            for (AttnMode mode : AttnMode.values())
                for (int k = 1; k <= 3; k++)
                    for (int r = 0; r < k; r++) {
                        int rj = r;
                        int[] lastStep = {-1}, steps = {0};
                        int capacity = Generator.capacity(m, PROMPT, max);
                        KvCache cache = m.newCache(capacity, mode), mtpCache = m.newMtpCache(capacity, mode);
                        // wrong at position r on every other step, right otherwise (so that several pairs are pending)
                        int[] want = new Generator(m, mode).generate(PROMPT, max, new Sampler(1f, 0, 1f, 3), null, null).tokens();
                        Generator.Result spec = new SpeculativeGenerator(m, mode, k, (i, j, arg) -> {
                            if (j == 1) { lastStep[0] = i; steps[0]++; }
                            return j - 1 == rj && steps[0] % 2 == 0 ? (want[i] + 1) % vocab : want[i];
                        }).generate(PROMPT, max, new Sampler(1f, 0, 1f, 3), null, null, cache, mtpCache);
                        String what = mode + " k=" + k + " r=" + r;
                        int[] out = spec.tokens();
                        assertEquals(max, out.length);
                        assertTrue(spec.drafts().accepted() < spec.drafts().drafted() && spec.drafts().accepted() > 0, what + " " + spec.drafts());
                        // the reference caches, one token (one pair) at a time
                        int L = n + out.length - 1;                                   // positions fed: the prompt and all but the last token
                        int[] seq = Arrays.copyOf(PROMPT, L + 1);
                        System.arraycopy(out, 0, seq, n, out.length);
                        KvCache ref = m.newCache(capacity, mode), mtpRef = m.newMtpCache(capacity, mode);
                        float[] h = Arrays.copyOf(m.forwardHidden(PROMPT, 0, ref), L * dim);
                        for (int p = n; p < L; p++) System.arraycopy(m.forwardHidden(new int[] {seq[p]}, p, ref), 0, h, p * dim, dim);
                        float[] a = m.forward(new int[] {probe}, L, cache), b = m.forward(new int[] {probe}, L, ref);
                        assertArrayEquals(bits(b), bits(a), what + ": main cache");
                        int mtpEnd = n + lastStep[0] - 1;                            // MTP positions 0..mtpEnd-1 hold verified pairs
                        assertTrue(mtpEnd > n, what);
                        m.mtpHidden(Arrays.copyOfRange(seq, 1, n), h, 0, mtpRef);
                        for (int i = n - 1; i < mtpEnd; i++) m.mtpHidden(new int[] {seq[i + 1]}, Arrays.copyOfRange(h, i * dim, (i + 1) * dim), i, mtpRef);
                        float[] hp = Arrays.copyOfRange(h, mtpEnd * dim, (mtpEnd + 1) * dim);
                        assertArrayEquals(bits(m.mtpHidden(new int[] {probe}, hp, mtpEnd, mtpRef)), bits(m.mtpHidden(new int[] {probe}, hp, mtpEnd, mtpCache)),
                                what + ": MTP cache");
                    }
        }
    }

    /** Stop tokens and max-token limits landing on the first and on the second token of an accepted step. */
    @Test
    void stopTokensAndMaxTokensMidStep() throws Exception {
        try (DeepSeekV3 m = open("no_qlora")) {
            Sampler[] samplers = {Sampler.greedy(), new Sampler(0.9f, 0, 0.95f, 5)};
            for (int si = 0; si < samplers.length; si++) {
                final int sj = si;
                java.util.function.Supplier<Sampler> fresh = () -> sj == 0 ? Sampler.greedy() : new Sampler(0.9f, 0, 0.95f, 5);
                int[] free = new Generator(m, AttnMode.ABSORB).generate(PROMPT, 12, fresh.get(), null, null).tokens();
                for (int k = 1; k <= 3; k += 2) {
                    int kk = k;
                    for (int t = 0; t < free.length; t++) {
                        int[] stop = {free[t]};
                        Generator.Result plain = new Generator(m, AttnMode.ABSORB).generate(PROMPT, 12, fresh.get(), stop, null);
                        assertSame(plain, new SpeculativeGenerator(m, AttnMode.ABSORB, k).generate(PROMPT, 12, fresh.get(), stop, null), "stop " + t + " k=" + k);
                        assertSame(plain, new SpeculativeGenerator(m, AttnMode.ABSORB, k, (i, j, arg) -> free[i]).generate(PROMPT, 12, fresh.get(), stop, null),
                                "stop " + t + " forced k=" + k);
                        assertEquals("stop token", plain.stopReason());
                    }
                    for (int max = 0; max <= 7; max++) {
                        Generator.Result plain = new Generator(m, AttnMode.ABSORB).generate(PROMPT, max, fresh.get(), null, null);
                        assertEquals(max, plain.tokens().length);
                        assertSame(plain, new SpeculativeGenerator(m, AttnMode.ABSORB, k).generate(PROMPT, max, fresh.get(), null, null), "max " + max + " k=" + k);
                        assertSame(plain, new SpeculativeGenerator(m, AttnMode.ABSORB, k, (i, j, arg) -> free[i]).generate(PROMPT, max, fresh.get(), null, null),
                                "max " + max + " forced k=" + kk);
                    }
                }
            }
        }
    }

    /** A model whose context (max_position_embeddings) ends inside a 2-token step. */
    @Test
    void contextLimit() throws Exception {
        Path dir = GeneratorTest.fixture("no_qlora");
        for (int ctx = 8; ctx <= 11; ctx++) {
            String json = Files.readString(dir.resolve("config.json")).replace("\"max_position_embeddings\": 32768",
                    "\"max_position_embeddings\": " + ctx);
            assertTrue(json.contains("\"max_position_embeddings\": " + ctx));
            ModelConfig cfg = ModelConfig.parse(json, null);
            try (Checkpoint ck = Checkpoint.open(dir); DeepSeekV3 m = DeepSeekV3.load(cfg, WeightSource.of(ck))) {
                Generator.Result plain = new Generator(m, AttnMode.ABSORB).generate(PROMPT, 50, Sampler.greedy(), null, null);
                assertEquals("context length", plain.stopReason());
                int[] want = plain.tokens();
                for (int k = 1; k <= 3; k++) {
                    assertSame(plain, new SpeculativeGenerator(m, AttnMode.ABSORB, k).generate(PROMPT, 50, Sampler.greedy(), null, null), "ctx " + ctx + " k=" + k);
                    assertSame(plain, new SpeculativeGenerator(m, AttnMode.ABSORB, k, (i, j, arg) -> want[i]).generate(PROMPT, 50, Sampler.greedy(), null, null),
                            "ctx " + ctx + " forced k=" + k);
                }
            }
        }
    }

    /**
     * Each MTP draft equals the argmax of the MTP logits recomputed from scratch over the whole sequence so far (pairs
     * (h_i, x_{i+1}) at positions 0..p-1, the last one (h_{p-1}, x_p) giving g_1 and drafting x_{p+1}), and for k > 1
     * each later draft of a step the argmax of the chain continued from scratch: (g_{j-1}, d_{j-1}) at position
     * p+j-2 gives g_j. So the incremental MTP cache holds exactly the verified pairs, across accepts, rejects and the
     * guessed entries that drafts 2..k leave behind. Drafts at position 2 are forced wrong every third step so that
     * steps end early. Recomputation is a prefill (other summation order), so the check is that the chosen token's
     * recomputed logit is within 1e-4 of the recomputed maximum.
     */
    @Test
    void draftsEqualMtpRecomputedFromScratch() throws Exception {
        for (String name : new String[] {"yarn_qlora", "no_qlora"})
            try (DeepSeekV3 m = open(name)) {
                int vocab = m.config.vocabSize(), dim = m.config.hiddenSize();
                for (int k = 1; k <= 3; k++) {
                    List<int[]> seen = new ArrayList<>();                 // {index, position, argmax, returned}
                    Generator.Result r = new SpeculativeGenerator(m, AttnMode.ABSORB, k, (i, j, arg) -> {
                        int d = j == 2 && i % 3 == 0 ? (arg + 1) % vocab : arg;
                        seen.add(new int[] {i, j, arg, d});
                        return d;
                    }).generate(PROMPT, 24, new Sampler(1f, 0, 1f, 11), null, null);
                    assertEquals(r.drafts().drafted(), seen.size());
                    assertTrue(seen.size() >= 12);
                    float[] g = null;
                    int[] prevDraft = null;
                    for (int[] d : seen) {
                        int index = d[0], j = d[1];
                        float[] ml;
                        if (j == 1) {
                            int[] seq = new int[PROMPT.length + index];         // prompt + the tokens before the drafted one
                            System.arraycopy(PROMPT, 0, seq, 0, PROMPT.length);
                            System.arraycopy(r.tokens(), 0, seq, PROMPT.length, index);
                            int L = seq.length;
                            float[] hidden = m.forwardHidden(seq, 0, m.newCache(L, AttnMode.NAIVE));
                            KvCache mc = m.newMtpCache(L + k, AttnMode.NAIVE);
                            float[] mh = m.mtpHidden(Arrays.copyOfRange(seq, 1, L), hidden, 0, mc);
                            g = Arrays.copyOfRange(mh, (L - 2) * dim, (L - 1) * dim);
                            chain = mc;
                            chainPos = L - 1;
                        } else {
                            assertEquals(j, prevDraft[1] + 1, "drafts of a step come in order");
                            g = m.mtpHidden(new int[] {prevDraft[3]}, g, chainPos++, chain);
                        }
                        ml = m.logits(g, 0, 1);
                        float max = ml[Sampler.argmax(ml, 0, vocab)];
                        assertTrue(max - ml[d[2]] <= 1e-4, name + " k=" + k + " draft " + j + " for output " + index + ": " + d[2]
                                + " logit " + ml[d[2]] + " vs max " + max);
                        prevDraft = d;
                    }
                }
            }
    }

    private static KvCache chain;
    private static int chainPos;

    @Test
    void aModelWithoutMtpIsAClearError() throws Exception {
        Path dir = GeneratorTest.fixture("yarn_qlora");
        try (Checkpoint ck = Checkpoint.open(dir)) {
            ModelConfig cfg = ModelConfig.load(dir.resolve("config.json"));
            WeightSource all = WeightSource.of(ck);
            String mtp = "model.layers." + cfg.numHiddenLayers() + ".";
            WeightSource noMtp = new WeightSource() {
                @Override public boolean has(String n) { return !n.startsWith(mtp) && all.has(n); }
                @Override public Matrix matrix(String n, int rows, int cols) { return all.matrix(n, rows, cols); }
                @Override public float[] floats(String n, long... shape) { return all.floats(n, shape); }
            };
            DeepSeekV3 m = DeepSeekV3.load(cfg, noMtp);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new SpeculativeGenerator(m, AttnMode.ABSORB));
            assertTrue(e.getMessage().contains("MTP") && e.getMessage().contains("num_nextn_predict_layers = 1"), e.getMessage());
            // the shared request checks are Generator's
            try (DeepSeekV3 w = open("yarn_qlora")) {
                SpeculativeGenerator g = new SpeculativeGenerator(w, AttnMode.ABSORB);
                assertThrows(IllegalArgumentException.class, () -> g.generate(new int[0], 3, Sampler.greedy(), null, null));
                assertThrows(IllegalArgumentException.class, () -> g.generate(PROMPT, -1, Sampler.greedy(), null, null));
                assertEquals(0, g.generate(PROMPT, 0, Sampler.greedy(), null, null).tokens().length);
            }
        }
    }
}
