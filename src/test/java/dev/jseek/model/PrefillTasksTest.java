package dev.jseek.model;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.kernels.Gemm;
import dev.jseek.tensor.DType;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The prefill's coarse parallel jobs against the paths they replace, bit for bit: the MoE's expert tasks
 * ({@code jseek.moeExpertTasks}) against the expert-by-expert definition computed from each expert's own
 * {@link Mlp#forward} ({@link MoeSideBySideTest#reference}), and the attention's causal query tiles
 * ({@code jseek.prefillAttnTile}) against the single tile of every query against every key, on a whole model's
 * prefill logits and latent cache (the double-precision reference checks the values themselves in {@code ModelTest}).
 */
class PrefillTasksTest {
    @Test
    void expertTasksEqualExpertByExpertBitwise() {
        assertTrue(Moe.expertTasks, "jseek.moeExpertTasks is on by default");
        for (DType t : new DType[] {DType.F32, DType.Q8_0}) {
            Moe moe = MoeSideBySideTest.moe(t, 11 + t.ordinal());
            SplittableRandom r = new SplittableRandom(5);
            Workspace ws = new Workspace();
            int dim = moe.gate().weight().cols();
            // prefill-sized calls only (more than GEMV_MAX_M tokens); 300 cuts the shared expert into row slices
            for (int m : new int[] {Gemm.GEMV_MAX_M + 1, 150, 300}) {
                float[] x = MoeSideBySideTest.gauss(r, m * dim, 1.0), got = new float[m * dim];
                moe.forward(x, m, got, ws);
                float[] want = MoeSideBySideTest.reference(moe, x, m);
                for (int i = 0; i < want.length; i++)
                    assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]), t + " m=" + m + " element " + i);
            }
        }
    }

    @Test
    void attentionTilesEqualOneTileBitwise() {
        ModelTest.Fixture f = ModelTest.tiny(true, true);
        SplittableRandom r = new SplittableRandom(9);
        int[] tokens = new int[120];                                   // > GEMV_MAX_M: the prefill attention path
        for (int i = 0; i < tokens.length; i++) tokens[i] = r.nextInt(f.cfg().vocabSize());
        int saved = Mla.prefillTile;
        try {
            Mla.prefillTile = 0;
            KvCache c0 = f.model().newCache(tokens.length, AttnMode.ABSORB);
            float[] want = f.model().forward(tokens, 0, c0);
            for (int tile : new int[] {64, 17, 1}) {
                Mla.prefillTile = tile;
                KvCache c = f.model().newCache(tokens.length, AttnMode.ABSORB);
                float[] got = f.model().forward(tokens, 0, c);
                for (int i = 0; i < want.length; i++)
                    assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]), "tile " + tile + " logit " + i);
                // a later chunk (70 tokens: the tiled path) attends to a cached 50-token prefix (startPos > 0)
                int[] head = java.util.Arrays.copyOfRange(tokens, 0, 50), more = java.util.Arrays.copyOfRange(tokens, 50, 120);
                Mla.prefillTile = 0;
                KvCache a = f.model().newCache(tokens.length, AttnMode.ABSORB);
                f.model().forward(head, 0, a);
                float[] w2 = f.model().forward(more, head.length, a);
                Mla.prefillTile = tile;
                KvCache b = f.model().newCache(tokens.length, AttnMode.ABSORB);
                f.model().forward(head, 0, b);
                float[] g2 = f.model().forward(more, head.length, b);
                assertArrayEquals(w2, g2, "tile " + tile + ": the continuation");
            }
        } finally {
            Mla.prefillTile = saved;
        }
    }
}
