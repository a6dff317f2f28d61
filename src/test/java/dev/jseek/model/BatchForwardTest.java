package dev.jseek.model;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.kernels.Gemm;
import dev.jseek.tensor.DType;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The batch engine's forward against the single-sequence one. Oracle: {@link DeepSeekV3#forwardHidden} of one token
 * at a time on a contiguous cache (the path {@code Generator} decodes with). A row of a batched decode step must
 * equal it bit for bit whatever the other rows are (batch sizes 1..M, rows in any order, sequences of different
 * lengths), and a paged cache must give bitwise the contiguous cache's results.
 */
class BatchForwardTest {
    @TempDir Path tmp;

    static Path fixture(String name) throws Exception {
        return Path.of(BatchForwardTest.class.getResource("/parity/" + name).toURI());
    }

    @Test
    void batchedDecodeRowsEqualOneTokenDecodesOnTheParityModel() throws Exception {
        try (DeepSeekV3 m = DeepSeekV3.open(fixture("yarn_qlora"))) {
            check(m, 4);
        }
    }

    @Test
    void batchedDecodeRowsEqualOneTokenDecodesOnABf16TinyPreset() throws Exception {
        ModelConfig cfg = ConfigEdits.edit(Presets.get("tiny"), o -> o.put("max_position_embeddings", 256));
        RandomInit.write(cfg, tmp, 7, 0.3, DType.BF16);
        try (DeepSeekV3 m = DeepSeekV3.open(tmp)) {
            check(m, 16);
        }
    }

    /**
     * Mla's default per-query attention (four keys at a time, o_lat in registers) against the per-key form it
     * replaces ({@code -Djseek.attnBlocked=false}), the oracle: every row of a batched decode step bitwise equal, on
     * paged caches whose blocks cut the keys into runs of 3 (so four-key groups, single keys and block edges all
     * occur), lengths 1..70 (past one 64-key score tile), on the parity model (kv_lora_rank 16) and the BF16 tiny preset with kv_lora_rank 72.
     */
    @Test
    void blockedAttentionGivesThePerKeyBits() throws Exception {
        try (DeepSeekV3 m = DeepSeekV3.open(fixture("yarn_qlora"))) {
            compareBlocked(m);
        }
        // kv_lora_rank 72: four-vector o_lat groups and a lane tail; the preset's rope dimension 8 is all tail
        ModelConfig cfg = ConfigEdits.edit(Presets.get("tiny"), o -> o.put("max_position_embeddings", 256).put("kv_lora_rank", 72));
        RandomInit.write(cfg, tmp, 7, 0.3, DType.BF16);
        try (DeepSeekV3 m = DeepSeekV3.open(tmp)) {
            compareBlocked(m);
        }
    }

    private static void compareBlocked(DeepSeekV3 m) {
        int vocab = m.config.vocabSize(), dim = m.config.hiddenSize();
        int[] lens = {1, 2, 5, 9, 31, 70};
        int S = lens.length;
        Random r = new Random(5);
        BlockPool pool = new BlockPool(m.config, m.layers.length, 3, 64);
        KvCache[] cs = new KvCache[S];
        int[] toks = new int[S];
        for (int i = 0; i < S; i++) {
            int[] prompt = new int[lens[i]];
            for (int t = 0; t < prompt.length; t++) prompt[t] = r.nextInt(vocab);
            int[] ids = new int[pool.blocksFor(lens[i] + 1)];
            for (int b = 0; b < ids.length; b++) ids[b] = pool.allocate();
            cs[i] = KvCache.paged(pool, ids);
            m.forwardHidden(prompt, 0, cs[i]);
            toks[i] = r.nextInt(vocab);
        }
        boolean saved = Mla.blocked;
        try {
            Mla.blocked = false;
            float[] want = m.forwardBatchHidden(toks, lens, cs, S);
            Mla.blocked = true;
            float[] got = m.forwardBatchHidden(toks, lens, cs, S);
            for (int i = 0; i < S; i++)
                assertArrayEquals(Arrays.copyOfRange(want, i * dim, (i + 1) * dim), Arrays.copyOfRange(got, i * dim, (i + 1) * dim),
                        "row " + i + " at position " + lens[i]);
            assertFalse(Arrays.equals(want, new float[want.length]));
        } finally {
            Mla.blocked = saved;
        }
    }

    private static void check(DeepSeekV3 m, int blockTokens) {
        int vocab = m.config.vocabSize(), dim = m.config.hiddenSize();
        int[] lens = {5, 23, 3, 17, 40, 9};
        int S = lens.length;
        Random r = new Random(11);
        BlockPool pool = new BlockPool(m.config, m.layers.length, blockTokens, 64);
        KvCache[] ref = new KvCache[S], paged = new KvCache[S];
        int[] pos = new int[S], next = new int[S];
        int steps = 7;
        for (int i = 0; i < S; i++) {
            int[] prompt = new int[lens[i]];
            for (int t = 0; t < prompt.length; t++) prompt[t] = r.nextInt(vocab);
            int cap = lens[i] + steps + 1;
            ref[i] = m.newCache(cap, AttnMode.ABSORB);
            int[] ids = new int[pool.blocksFor(cap)];
            for (int b = 0; b < ids.length; b++) ids[b] = pool.allocate();
            paged[i] = KvCache.paged(pool, ids);
            float[] a = m.forwardHidden(prompt, 0, ref[i]);
            float[] b = m.forwardHidden(prompt, 0, paged[i]);
            assertArrayEquals(a, b, "paged prefill of sequence " + i);
            pos[i] = lens[i];
            float[] lg = m.logits(a, lens[i] - 1, 1);
            next[i] = argmax(lg, 0, vocab);
        }
        for (int s = 0; s < steps; s++) {
            // a different subset and order each step: sequences join late and the batch size changes
            int M = Math.min(S, 1 + s);
            Integer[] order = new Integer[S];
            for (int i = 0; i < S; i++) order[i] = i;
            java.util.Collections.shuffle(Arrays.asList(order), r);
            int[] toks = new int[M], ps = new int[M];
            KvCache[] cs = new KvCache[M];
            for (int j = 0; j < M; j++) {
                int i = order[j];
                toks[j] = next[i];
                ps[j] = pos[i];
                cs[j] = paged[i];
            }
            float[] hb = m.forwardBatchHidden(toks, ps, cs, M);
            float[] lb = m.logits(hb, 0, M);
            for (int j = 0; j < M; j++) {
                int i = order[j];
                float[] h1 = m.forwardHidden(new int[] {next[i]}, pos[i], ref[i]);
                assertArrayEquals(h1, Arrays.copyOfRange(hb, j * dim, (j + 1) * dim),
                        "step " + s + ", batch of " + M + ", row " + j + " (sequence " + i + " at position " + pos[i] + ")");
                float[] l1 = m.logits(h1, 0, 1);
                assertArrayEquals(l1, Arrays.copyOfRange(lb, j * vocab, (j + 1) * vocab));
                pos[i]++;
                next[i] = argmax(l1, 0, vocab);
            }
        }
        assertTrue(S <= Gemm.GEMV_MAX_M);
    }

    private static int argmax(float[] a, int off, int n) {
        int b = 0;
        for (int i = 1; i < n; i++) if (a[off + i] > a[off + b]) b = i;
        return b;
    }
}
