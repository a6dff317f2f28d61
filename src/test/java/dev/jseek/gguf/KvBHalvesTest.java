package dev.jseek.gguf;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.model.AttnMode;
import dev.jseek.model.Block;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.KvCache;
import dev.jseek.model.ModelConfig;
import dev.jseek.model.RandomInit;
import dev.jseek.model.WeightSource;
import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Q8_0 GGUF's decode attention on the file's attn_k_b / attn_v_b ({@link WeightSource#kvBHalves}) against the same
 * model reading kv_b_proj rebuilt in F32 (the oracle: the same exact weight values q * d, summed in another order),
 * and its rows in a batched decode step against one-token decodes, bit for bit.
 */
class KvBHalvesTest {
    @Test
    void q8_0AttentionOnTheFileHalvesMatchesTheRebuiltKvBAndIsBatchInvariant(@TempDir Path tmp) throws Exception {
        ModelConfig c = KQuantExportTest.config();
        Path hf = tmp.resolve("hf"), out = tmp.resolve("m.gguf");
        RandomInit.write(c, hf, 5, 0.05, DType.F32);
        GgufExporter.export(hf, out, QuantMix.Q8_0, false, null);
        try (GgufFile f = GgufFile.open(out)) {
            ModelConfig mc = Deepseek2Metadata.read(f);
            GgufWeights w = new GgufWeights(f, mc);
            WeightSource hidden = withoutHalves(w);
            DeepSeekV3 halves = DeepSeekV3.load(mc, w), rebuilt = DeepSeekV3.load(mc, hidden);
            for (Block b : halves.layers) {
                assertEquals(DType.Q8_0, b.attn().kB.dtype());
                assertEquals(mc.numAttentionHeads() * mc.kvLoraRank(), b.attn().kB.rows());
                assertEquals(mc.qkNopeHeadDim(), b.attn().kB.cols());
                assertEquals(DType.Q8_0, b.attn().vB.dtype());
            }
            for (Block b : rebuilt.layers) assertNull(b.attn().kB);
            // the F32 rebuild of kv_b_proj: held by the model without the halves, not built with them
            long copy = (long) mc.numHiddenLayers() * mc.numAttentionHeads() * (mc.qkNopeHeadDim() + mc.vHeadDim()) * mc.kvLoraRank() * 4;
            assertEquals(copy, rebuilt.heapWeightCopyBytes());
            assertEquals(0, halves.heapWeightCopyBytes());

            Random r = new Random(3);
            int vocab = mc.vocabSize(), dim = mc.hiddenSize(), S = 3, steps = 4;
            int[] lens = {6, 11, 3};
            KvCache[] ch = new KvCache[S], cr = new KvCache[S], cb = new KvCache[S];
            int[][] toks = new int[S][];
            for (int i = 0; i < S; i++) {
                toks[i] = new int[lens[i] + steps];
                for (int t = 0; t < toks[i].length; t++) toks[i][t] = r.nextInt(vocab);
                ch[i] = halves.newCache(toks[i].length, AttnMode.ABSORB);
                cr[i] = rebuilt.newCache(toks[i].length, AttnMode.ABSORB);
                cb[i] = halves.newCache(toks[i].length, AttnMode.ABSORB);
                int[] p = java.util.Arrays.copyOf(toks[i], lens[i]);
                float[] a = halves.forwardHidden(p, 0, ch[i]), b = rebuilt.forwardHidden(p, 0, cr[i]);
                assertClose(b, a, "prefill of sequence " + i);
                assertArrayEquals(a, halves.forwardHidden(p, 0, cb[i]), "prefill of sequence " + i + " again");
            }
            for (int s = 0; s < steps; s++) {
                int[] step = new int[S], pos = new int[S];
                for (int i = 0; i < S; i++) {
                    pos[i] = lens[i] + s;
                    step[i] = toks[i][pos[i]];
                }
                float[] batch = halves.forwardBatchHidden(step, pos, cb, S);
                for (int i = 0; i < S; i++) {
                    float[] one = halves.forwardHidden(new int[] {step[i]}, pos[i], ch[i]);
                    float[] ref = rebuilt.forwardHidden(new int[] {step[i]}, pos[i], cr[i]);
                    assertArrayEquals(one, java.util.Arrays.copyOfRange(batch, i * dim, (i + 1) * dim), "step " + s + " row " + i);
                    assertClose(ref, one, "step " + s + " sequence " + i);
                }
            }
            assertEquals(0, halves.heapWeightCopyBytes(), "prefill and decode built no F32 kv_b_proj");
            w.close();
        }
    }

    /**
     * Prefill longer than {@code jseek.attnRowsMaxT} (the tiled attention: W_UK absorb and W_UV expansion as GEMMs) on a
     * Q8_0 GGUF reads attn_k_b / attn_v_b as stored ({@link dev.jseek.kernels.Gemm#linearSlice}) and gives the logits
     * of the model that multiplies kv_b_proj rebuilt in F32 (the oracle, itself checked against the double-precision
     * reference in ModelTest) bit for bit, then decodes within float rounding of it, building no F32 kv_b_proj ({@link
     * DeepSeekV3#heapWeightCopyBytes} stays 0); the naive mode builds the copy on first use and then equals the
     * rebuilt model's naive mode bit for bit.
     */
    @Test
    void q8_0TiledPrefillReadsTheHalvesAndNaiveModeBuildsTheCopyOnDemand(@TempDir Path tmp) throws Exception {
        ModelConfig c = dev.jseek.model.ConfigEdits.edit(KQuantExportTest.config(), o -> o.put("num_hidden_layers", 2));
        Path hf = tmp.resolve("hf"), out = tmp.resolve("m.gguf");
        RandomInit.write(c, hf, 7, 0.05, DType.F32);
        GgufExporter.export(hf, out, QuantMix.Q8_0, false, null);
        try (GgufFile f = GgufFile.open(out)) {
            ModelConfig mc = Deepseek2Metadata.read(f);
            GgufWeights w = new GgufWeights(f, mc);
            WeightSource hidden = withoutHalves(w);
            DeepSeekV3 halves = DeepSeekV3.load(mc, w), rebuilt = DeepSeekV3.load(mc, hidden);
            long copy = rebuilt.heapWeightCopyBytes();
            assertTrue(copy > 0);
            Random r = new Random(9);
            int T = Integer.getInteger("jseek.attnRowsMaxT", dev.jseek.kernels.Gemm.GEMV_MAX_M) + 13, steps = 2; // past the row-products path
            int[] toks = new int[T + steps];
            for (int t = 0; t < toks.length; t++) toks[t] = r.nextInt(mc.vocabSize());
            int[] prompt = java.util.Arrays.copyOf(toks, T);
            KvCache ch = halves.newCache(toks.length, AttnMode.ABSORB), cr = rebuilt.newCache(toks.length, AttnMode.ABSORB);
            assertArrayEquals(rebuilt.forward(prompt, 0, cr), halves.forward(prompt, 0, ch), "tiled prefill logits");
            for (int s = 0; s < steps; s++) {
                int[] one = {toks[T + s]};
                assertClose(rebuilt.forward(one, T + s, cr), halves.forward(one, T + s, ch), "decode step " + s);
            }
            assertEquals(0, halves.heapWeightCopyBytes(), "absorbed prefill and decode built no F32 kv_b_proj");

            long perLayer = copy / mc.numHiddenLayers();
            assertEquals(copy + perLayer, halves.naiveHeapBytes(), "the naive mode's heap need before it builds: the copies and one layer's decode");
            assertEquals(0, rebuilt.naiveHeapBytes());
            assertEquals(0, GgufModel.heapBytes(f, mc) - oneDimBytes(f), "a load with the halves puts no kv_b_proj on the heap");
            int[] shortPrompt = java.util.Arrays.copyOf(toks, 8);
            KvCache nh = halves.newCache(8, AttnMode.NAIVE), nr = rebuilt.newCache(8, AttnMode.NAIVE);
            assertArrayEquals(rebuilt.forward(shortPrompt, 0, nr), halves.forward(shortPrompt, 0, nh), "naive prefill logits");
            assertEquals(copy, halves.heapWeightCopyBytes(), "the naive mode built kv_b_proj in F32");
            assertEquals(0, halves.naiveHeapBytes(), "nothing left to build");
            w.close();
        }
    }

    /** Within float rounding of the summation order: 1e-4 of the largest magnitude. */
    private static void assertClose(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what);
        double max = 0, d = 0;
        for (int i = 0; i < want.length; i++) {
            max = Math.max(max, Math.abs(want[i]));
            d = Math.max(d, Math.abs(want[i] - got[i]));
        }
        assertTrue(d <= 1e-4 * max && max > 0, what + ": max |diff| " + d + " of max |value| " + max);
    }

    /** 4 bytes per element of the file's 1-D tensors (norms: loaded as float arrays). */
    private static long oneDimBytes(GgufFile f) {
        long n = 0;
        for (GgufTensorInfo t : f.tensors()) if (t.rank() == 1) n += 4 * t.elementCount();
        return n;
    }

    /** The same tensors as {@code w} without the halves ({@link WeightSource#kvBHalves} null): kv_b_proj rebuilt in F32. */
    private static WeightSource withoutHalves(WeightSource w) {
        return new WeightSource() {
            @Override public boolean has(String n) { return w.has(n); }
            @Override public Matrix matrix(String n, int rows, int cols) { return w.matrix(n, rows, cols); }
            @Override public float[] floats(String n, long... shape) { return w.floats(n, shape); }
        };
    }
}
