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
 * The batch engine's stacked prefill ({@link DeepSeekV3#forwardStackedHidden}) against the one-sequence forward.
 * Oracle: {@link DeepSeekV3#forwardHidden} of each chunk alone on a contiguous cache, chunk after chunk. A stack of
 * chunks of several sequences (full 64-token chunks, short last chunks, a sequence's consecutive chunks in the same
 * stack, a sequence starting mid-prompt as after a prefix-cache hit) must give every row and every cache entry bit
 * for bit, with the MoE's per-expert row counts past {@link Gemm#GEMV_MAX_M} (products cut in pieces).
 */
class StackedPrefillTest {
    @TempDir Path tmp;

    @Test
    void stackedChunksEqualEachChunkAloneBf16() throws Exception { check(DType.BF16); }

    @Test
    void stackedChunksEqualEachChunkAloneF32() throws Exception { check(DType.F32); }

    /**
     * Block-typed experts (their kernels change with the row count: fused up to 16 rows, then the packed GEMM) stack
     * with one product per chunk and expert; about 16 rows of a 64-token chunk go to each of the 8 experts, so one
     * product over the stack's rows would take another kernel. Q8_0 everywhere, then llama.cpp's Q4_K_M mix (Q4_K,
     * Q6_K for the down projections) with the experts' rows widened to 256 so that the K-quants apply.
     */
    @Test
    void stackedChunksEqualEachChunkAloneQ8_0() throws Exception {
        ModelConfig cfg = ConfigEdits.edit(Presets.get("tiny"), o -> o.put("max_position_embeddings", 512));
        Path hf = tmp.resolve("hf"), gguf = tmp.resolve("q8.gguf");
        RandomInit.write(cfg, hf, 9, 0.3, DType.F32);
        dev.jseek.gguf.GgufExporter.export(hf, gguf, dev.jseek.gguf.GgmlType.Q8_0, false, null);
        check(dev.jseek.gguf.GgufModel.open(gguf), dev.jseek.gguf.GgmlType.Q8_0, LENS, PLAN);
    }

    @Test
    void stackedChunksEqualEachChunkAloneQ4KM() throws Exception {
        ModelConfig cfg = ConfigEdits.edit(Presets.get("tiny"), o -> o.put("max_position_embeddings", 512).put("num_hidden_layers", 2)
                .put("hidden_size", 256).put("moe_intermediate_size", 256).put("intermediate_size", 256));
        Path hf = tmp.resolve("hf"), gguf = tmp.resolve("q4km.gguf");
        RandomInit.write(cfg, hf, 9, 0.3, DType.F32);
        dev.jseek.gguf.GgufExporter.export(hf, gguf, dev.jseek.gguf.QuantMix.Q4_K_M, false, null);
        // two layers and fewer chunks (a cold K-quant forward takes seconds): still a prompt's consecutive chunks side
        // by side, a short chunk, and experts with more than 16 rows in the stack
        check(dev.jseek.gguf.GgufModel.open(gguf), dev.jseek.gguf.GgmlType.Q4_K, new int[] {130, 5}, new int[][] {{0, 1, 0}, {0}});
    }

    private void check(DType dtype) throws Exception {
        ModelConfig cfg = ConfigEdits.edit(Presets.get("tiny"), o -> o.put("max_position_embeddings", 512));
        RandomInit.write(cfg, tmp, 9, 0.3, dtype);
        check(DeepSeekV3.open(tmp), null, LENS, PLAN);
    }

    // sequence lengths; sequence 3 has its first chunk cached already (computed alone below, not stacked)
    private static final int[] LENS = {150, 64, 5, 100, 64, 130};
    // two stacks: every sequence's chunks in order, consecutive chunks of one sequence side by side or apart
    private static final int[][] PLAN = {{0, 1, 0, 2, 3, 4, 5}, {5, 0, 5}};

    private void check(DeepSeekV3 model, dev.jseek.gguf.GgmlType expertType, int[] lens, int[][] plan) throws Exception {
        try (DeepSeekV3 m = model) {
            if (expertType != null) {
                Moe moe = (Moe) m.layers[m.layers.length - 1].ffn();
                assertTrue(moe.experts()[0].gateProj().dtype().isBlock() && !moe.stackable(), "block-typed experts expected");
                assertEquals(expertType.name(), moe.experts()[0].gateProj().dtype().name());
            }
            assertTrue(m.canStackPrefill(64));
            assertFalse(m.canStackPrefill(Gemm.GEMV_MAX_M + 1));
            int vocab = m.config.vocabSize(), dim = m.config.hiddenSize(), chunk = 64;
            Random r = new Random(5);
            int S = lens.length;
            int[][] prompts = new int[S][];
            for (int i = 0; i < S; i++) {
                prompts[i] = new int[lens[i]];
                for (int t = 0; t < lens[i]; t++) prompts[i][t] = r.nextInt(vocab);
            }
            BlockPool pool = new BlockPool(m.config, m.layers.length, 16, 64);
            KvCache[] ref = new KvCache[S], paged = new KvCache[S];
            int[] done = new int[S];
            for (int i = 0; i < S; i++) {
                ref[i] = m.newCache(lens[i] + 1, AttnMode.ABSORB);
                int[] ids = new int[pool.blocksFor(lens[i] + 1)];
                for (int b = 0; b < ids.length; b++) ids[b] = pool.allocate();
                paged[i] = KvCache.paged(pool, ids);
            }
            int cached = S > 3 ? 3 : -1;
            if (cached >= 0) {
                m.forwardHidden(Arrays.copyOf(prompts[cached], chunk), 0, paged[cached]);
                done[cached] = chunk;
            }
            float[][] got = new float[S][];
            for (int i = 0; i < S; i++) got[i] = new float[lens[i] * dim];
            for (int[] stack : plan) {
                int[][] toks = new int[stack.length][];
                int[] start = new int[stack.length];
                KvCache[] caches = new KvCache[stack.length];
                for (int j = 0; j < stack.length; j++) {
                    int i = stack[j];
                    start[j] = done[i];
                    int end = Math.min(lens[i], (done[i] / chunk + 1) * chunk);
                    toks[j] = Arrays.copyOfRange(prompts[i], done[i], end);
                    caches[j] = paged[i];
                    done[i] = end;
                }
                float[] h = m.forwardStackedHidden(toks, start, caches, stack.length);
                int row = 0;
                for (int j = 0; j < stack.length; j++) {
                    System.arraycopy(h, row * dim, got[stack[j]], start[j] * dim, toks[j].length * dim);
                    row += toks[j].length;
                }
                assertEquals(row * dim, h.length);
            }
            for (int i = 0; i < S; i++) {
                assertEquals(lens[i], done[i]);
                for (int p = 0; p < lens[i]; p += chunk) {
                    int end = Math.min(lens[i], p + chunk);
                    float[] a = m.forwardHidden(Arrays.copyOfRange(prompts[i], p, end), p, ref[i]);
                    if (i == cached && p == 0) continue; // not part of a stack
                    assertArrayEquals(a, Arrays.copyOfRange(got[i], p * dim, end * dim), "sequence " + i + ", chunk at " + p);
                }
                int w = m.config.kvLoraRank() + m.config.qkRopeHeadDim(), n = lens[i] * w;
                for (int l = 0; l < m.layers.length; l++)
                    assertArrayEquals(Arrays.copyOf(ref[i].latentRows(l, lens[i], null), n),
                            Arrays.copyOf(paged[i].latentRows(l, lens[i], new float[n]), n), "sequence " + i + ", layer " + l + " cache");
            }
        }
    }

    @Test
    void aSegmentLongerThanAGemvIsRefused() throws Exception {
        ModelConfig cfg = ConfigEdits.edit(Presets.get("tiny"), o -> o.put("max_position_embeddings", 512));
        RandomInit.write(cfg, tmp, 9, 0.3, DType.BF16);
        try (DeepSeekV3 m = DeepSeekV3.open(tmp)) {
            int[] toks = new int[Gemm.GEMV_MAX_M + 1];
            var e = assertThrows(IllegalArgumentException.class,
                    () -> m.forwardStackedHidden(new int[][] {toks}, new int[] {0}, new KvCache[] {m.newCache(200, AttnMode.ABSORB)}, 1));
            assertTrue(e.getMessage().contains("more than jseek.gemvMaxM"), e.getMessage());
        }
    }
}
