package dev.jseek.model;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * The model on tiny random weights: against the double-precision {@link RefModel} (written from docs/architecture.md), and the
 * equalities the cache must give (absorbed decode = naive prefill, chunked = one-shot, MTP decode = MTP prefill).
 */
class ModelTest {
    static final int[] TOKENS = {3, 17, 42, 0, 9, 49, 23, 5, 11, 30};

    record Fixture(ModelConfig cfg, Map<String, TinyModels.Tensor> raw, DeepSeekV3 model) {}

    static Fixture tiny(boolean qLora, boolean yarn) {
        ModelConfig cfg = TinyModels.config(qLora, yarn);
        Map<String, TinyModels.Tensor> raw = TinyModels.weights(cfg, 1234);
        return new Fixture(cfg, raw, DeepSeekV3.load(cfg, TinyModels.inMemory(raw)));
    }

    static double maxDiff(float[] got, double[][] want) {
        int n = want[0].length;
        assertEquals(want.length * n, got.length);
        double m = 0;
        for (int t = 0; t < want.length; t++)
            for (int i = 0; i < n; i++) m = Math.max(m, Math.abs(got[t * n + i] - want[t][i]));
        return m;
    }

    static double maxDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    @ParameterizedTest(name = "qLora={0} yarn={1} mode={2}")
    @CsvSource({"true,true,NAIVE", "true,true,ABSORB", "false,true,NAIVE", "false,true,ABSORB", "true,false,ABSORB", "false,false,NAIVE"})
    void matchesDoubleReference(boolean qLora, boolean yarn, AttnMode mode) {
        Fixture f = tiny(qLora, yarn);
        assertTrue(f.model.hasMtp());
        RefModel ref = new RefModel(f.cfg, f.raw);
        double[][] refHidden = ref.hidden(TOKENS);
        double[][] refLogits = ref.logits(refHidden);
        float[] hidden = f.model.forwardHidden(TOKENS, 0, f.model.newCache(16, mode));
        float[] logits = f.model.logits(hidden, 0, TOKENS.length);
        double d = maxDiff(logits, refLogits);
        assertTrue(d <= 1e-4, "logits max |diff| " + d);

        int[] next = java.util.Arrays.copyOfRange(TOKENS, 1, TOKENS.length);
        float[] mtp = f.model.mtpLogits(next, hidden, 0, f.model.newMtpCache(16, mode));
        double dm = maxDiff(mtp, ref.mtpLogits(TOKENS, refHidden));
        assertTrue(dm <= 1e-4, "MTP logits max |diff| " + dm);
    }

    /** Absorbed attention of a short call normally runs head by head (Mla.attendHeads); the prefill path's tiled GEMMs too. */
    @ParameterizedTest(name = "qLora={0}")
    @CsvSource({"true", "false"})
    void absorbedGemmPathMatchesDoubleReference(boolean qLora) {
        Fixture f = tiny(qLora, true);
        RefModel ref = new RefModel(f.cfg, f.raw);
        double[][] refLogits = ref.logits(ref.hidden(TOKENS));
        int saved = Mla.rowProductsMaxT;
        try {
            Mla.rowProductsMaxT = 0;
            float[] logits = f.model.forward(TOKENS, 0, f.model.newCache(16, AttnMode.ABSORB));
            double d = maxDiff(logits, refLogits);
            assertTrue(d <= 1e-4, "logits max |diff| " + d);
        } finally {
            Mla.rowProductsMaxT = saved;
        }
    }

    @ParameterizedTest(name = "qLora={0}")
    @CsvSource({"true", "false"})
    void absorbedDecodeTokenByTokenEqualsNaivePrefill(boolean qLora) {
        Fixture f = tiny(qLora, true);
        float[] prefill = f.model.forward(TOKENS, 0, f.model.newCache(TOKENS.length, AttnMode.NAIVE));
        KvCache cache = f.model.newCache(TOKENS.length, AttnMode.ABSORB);
        int v = f.cfg.vocabSize();
        for (int p = 0; p < TOKENS.length; p++) {
            float[] step = f.model.forward(new int[] {TOKENS[p]}, p, cache);
            float[] want = java.util.Arrays.copyOfRange(prefill, p * v, (p + 1) * v);
            double d = maxDiff(step, want);
            assertTrue(d <= 1e-4, "position " + p + ": max |diff| " + d);
        }
    }

    @ParameterizedTest(name = "mode={0}")
    @CsvSource({"NAIVE", "ABSORB"})
    void chunkedPrefillEqualsOneShot(AttnMode mode) {
        Fixture f = tiny(true, true);
        float[] once = f.model.forward(TOKENS, 0, f.model.newCache(32, mode));
        KvCache cache = f.model.newCache(32, mode);
        float[] a = f.model.forward(java.util.Arrays.copyOfRange(TOKENS, 0, 4), 0, cache);
        float[] b = f.model.forward(java.util.Arrays.copyOfRange(TOKENS, 4, TOKENS.length), 4, cache);
        float[] both = new float[once.length];
        System.arraycopy(a, 0, both, 0, a.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        assertTrue(maxDiff(once, both) <= 1e-5, "max |diff| " + maxDiff(once, both));
    }

    @ParameterizedTest(name = "mode={0}")
    @CsvSource({"NAIVE", "ABSORB"})
    void queryTilingGivesTheSameLogits(AttnMode mode) {
        Fixture f = tiny(true, true);
        int saved = Mla.scoreTileFloats, savedRows = Mla.rowProductsMaxT;
        try {
            Mla.rowProductsMaxT = 0;                                   // the tiled path (prefill-sized calls)
            float[] whole = f.model.forward(TOKENS, 0, f.model.newCache(16, mode));
            for (int budget : new int[] {1, 40, 100}) {               // 1 query per tile, then a few per tile
                Mla.scoreTileFloats = budget;
                float[] tiled = f.model.forward(TOKENS, 0, f.model.newCache(16, mode));
                assertTrue(maxDiff(whole, tiled) <= 1e-6, "budget " + budget + ": " + maxDiff(whole, tiled));
            }
        } finally {
            Mla.scoreTileFloats = saved;
            Mla.rowProductsMaxT = savedRows;
        }
    }

    @Test
    void mtpDecodeEqualsMtpPrefill() {
        Fixture f = tiny(true, true);
        DeepSeekV3 m = f.model;
        float[] hidden = m.forwardHidden(TOKENS, 0, m.newCache(16, AttnMode.NAIVE));
        int[] next = java.util.Arrays.copyOfRange(TOKENS, 1, TOKENS.length);
        float[] all = m.mtpLogits(next, hidden, 0, m.newMtpCache(16, AttnMode.NAIVE));
        KvCache mc = m.newMtpCache(16, AttnMode.ABSORB);
        int d = f.cfg.hiddenSize(), v = f.cfg.vocabSize();
        for (int i = 0; i < next.length; i++) {
            float[] h = java.util.Arrays.copyOfRange(hidden, i * d, (i + 1) * d);
            float[] step = m.mtpLogits(new int[] {next[i]}, h, i, mc);
            double diff = maxDiff(step, java.util.Arrays.copyOfRange(all, i * v, (i + 1) * v));
            assertTrue(diff <= 1e-4, "pair " + i + ": " + diff);
        }
    }

    @Test
    void decodeStepEqualsOneTokenForwardBitForBit() {
        Fixture f = tiny(true, true);
        DeepSeekV3 m = f.model;
        KvCache a = m.newCache(16, AttnMode.ABSORB), b = m.newCache(16, AttnMode.ABSORB);
        for (int p = 0; p < TOKENS.length; p++) {
            float[] want = m.forward(new int[] {TOKENS[p]}, p, a);
            float[] got = m.decodeStep(TOKENS[p], p, b);
            assertArrayEquals(want, java.util.Arrays.copyOf(got, want.length), "position " + p);
        }
    }

    @Test
    void rewindingOverwritesTheCache() {
        // Speculative decoding rolls back: re-feeding a different token at an earlier position must forget the old one.
        Fixture f = tiny(true, true);
        DeepSeekV3 m = f.model;
        KvCache c = m.newCache(8, AttnMode.ABSORB);
        m.forward(new int[] {1, 2, 3}, 0, c);
        float[] rewound = m.forward(new int[] {7, 8}, 2, c);     // positions 2, 3 after [1, 2]
        float[] fresh = m.forward(new int[] {1, 2, 7, 8}, 0, m.newCache(8, AttnMode.ABSORB));
        int v = f.cfg.vocabSize();
        assertTrue(maxDiff(rewound, java.util.Arrays.copyOfRange(fresh, 2 * v, 4 * v)) <= 1e-5);
    }

    @Test
    void badCallsAreRejectedClearly() {
        DeepSeekV3 m = tiny(true, true).model;
        KvCache c = m.newCache(4, AttnMode.ABSORB);
        var e = assertThrows(IllegalArgumentException.class, () -> m.forward(new int[] {1, 50}, 0, c));
        assertTrue(e.getMessage().contains("token 1 is 50"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> m.forward(new int[] {1, -1}, 0, c));
        assertTrue(e.getMessage().contains("-1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> m.forward(new int[] {1, 2}, 3, c));
        assertTrue(e.getMessage().contains("capacity 4"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> m.forward(new int[] {1}, 0, m.newMtpCache(4, AttnMode.ABSORB)));
        assertTrue(e.getMessage().contains("layers"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> m.forward(new int[0], 0, c));
    }

    @Test
    void missingOrMisshapenTensorsAreNamed() {
        ModelConfig cfg = TinyModels.config(true, true);
        Map<String, TinyModels.Tensor> raw = TinyModels.weights(cfg, 1);
        raw.remove("model.layers.1.mlp.experts.3.up_proj.weight");
        var e = assertThrows(IllegalArgumentException.class, () -> DeepSeekV3.load(cfg, TinyModels.inMemory(raw)));
        assertTrue(e.getMessage().contains("model.layers.1.mlp.experts.3.up_proj.weight"), e.getMessage());
    }

    @Test
    void modelWithoutMtpTensorsHasNoMtp() {
        ModelConfig cfg = TinyModels.config(true, true);
        Map<String, TinyModels.Tensor> raw = TinyModels.weights(cfg, 1);
        raw.keySet().removeIf(k -> k.startsWith("model.layers.3."));
        DeepSeekV3 m = DeepSeekV3.load(cfg, TinyModels.inMemory(raw));
        assertFalse(m.hasMtp());
        assertThrows(IllegalStateException.class, () -> m.mtpLogits(new int[] {1}, new float[32], 0, m.newMtpCache(2, AttnMode.NAIVE)));
    }
}
