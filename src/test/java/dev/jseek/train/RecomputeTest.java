package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.model.ModelConfig;
import dev.jseek.model.Presets;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Recomputation (docs/architecture.md §7.1): a model that recomputes its RMSNorm outputs and MLA up-projections in backward gives
 * bit-identical losses, gradients and logits to the same model keeping every activation (the oracle), on the tiny
 * MoE + MTP configs (q LoRA and q_proj, one and two MTP depths, dense and MoE blocks, FP8 GEMMs), with batches
 * smaller than the allocated maximum and gradient accumulation; and its activation arena is strictly smaller.
 */
class RecomputeTest {

    private static int[][] data(ModelConfig c, int B, int T, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] tok = new int[B * T], tg = new int[B * T];
        for (int i = 0; i < tok.length; i++) tok[i] = r.nextInt(c.vocabSize());
        for (int i = 0; i < tg.length; i++) tg[i] = (i % T == T - 1) ? r.nextInt(c.vocabSize()) : tok[i + 1];
        tg[1] = -1;
        return new int[][] {tok, tg};
    }

    private static TrainModel model(ModelConfig c, int maxB, int maxT, boolean recompute, Precision prec) {
        TrainModel m = new TrainModel(c, maxB, maxT, recompute, prec);
        Harness.randomParams(m.layout(), m.params(), 71);
        m.setBalanceAlpha(0.05f);
        m.setMtpLambda(0.3f);
        return m;
    }

    /** Two accumulated micro-batches (the second of another shape), then the logits: all bit-identical. */
    private static void assertSame(String label, ModelConfig c, int maxB, int maxT, Precision prec) {
        TrainModel keep = model(c, maxB, maxT, false, prec), rec = model(c, maxB, maxT, true, prec);
        assertFalse(keep.recompute());
        assertTrue(rec.recompute());
        assertArrayEquals(keep.params(), rec.params());
        int[][] d1 = data(c, maxB, maxT, 72), d2 = data(c, maxB - 1, maxT - 1, 73);
        keep.zeroGrad();
        rec.zeroGrad();
        for (int[] bt : new int[][] {{maxB, maxT}, {maxB - 1, maxT - 1}}) {
            int[][] d = bt[0] == maxB ? d1 : d2;
            float lk = keep.forwardBackward(d[0], d[1], bt[0], bt[1], 0.5f);
            float lr = rec.forwardBackward(d[0], d[1], bt[0], bt[1], 0.5f);
            assertEquals(Float.floatToIntBits(lk), Float.floatToIntBits(lr), label + " total loss " + lk + " vs " + lr);
            assertEquals(keep.lastMainLoss(), rec.lastMainLoss(), 0.0, label + " main CE");
            assertEquals(keep.lastBalanceLoss(), rec.lastBalanceLoss(), 0.0, label + " balance");
            assertArrayEquals(keep.lastMtpLosses(), rec.lastMtpLosses(), 0.0, label + " MTP CE");
        }
        int nonZero = 0;
        for (ParamLayout.Entry e : keep.layout().entries())
            for (int i = 0; i < e.size(); i++) {
                float a = keep.grads()[e.offset() + i], b = rec.grads()[e.offset() + i];
                if (Float.floatToIntBits(a) != Float.floatToIntBits(b))
                    fail(label + " gradient " + e.name() + "[" + i + "]: kept " + a + ", recomputed " + b);
                if (a != 0) nonZero++;
            }
        assertTrue(nonZero > keep.grads().length / 2, label + ": gradients should be mostly non-zero, got " + nonZero);
        float[][] lk = keep.forwardAllLogits(d1[0], maxB, maxT), lr = rec.forwardAllLogits(d1[0], maxB, maxT);
        for (int k = 0; k < lk.length; k++) assertArrayEquals(lk[k], lr[k], label + " logits of depth " + k);

        ActLayout ka = keep.activationLayout(), ra = rec.activationLayout();
        if (!ka.fp8()) assertEquals(ka.actsSize(), ka.dactsSize()); // an FP8 layout gives cached buffers a gradient-only home
        assertTrue(ra.actsSize() < ka.actsSize(), label + ": recompute arena " + ra.actsSize() + " not below " + ka.actsSize());
        System.out.printf("%s: activation floats kept %d, recomputed %d (scratch %d); gradient arena %d vs %d%n", label,
                ka.actsSize(), ra.actsSize(), ra.scratchSize(), ka.dactsSize(), ra.dactsSize());
    }

    @Test void moeWithOneMtpDepth() { assertSame("tinyMoe", Harness.tinyMoe(), 3, 6, Precision.FP32); }

    @Test void twoMtpDepthsTwoMoeLayers() {
        assertSame("mtp2", Harness.tiny(3, 1, 12, 4, 2, true, 1, Harness.v3Yarn(), 2), 3, 7, Precision.FP32);
    }

    @Test void qProjWithoutLora() {
        assertSame("q_proj", Harness.tiny(2, 0, 0, 1, 1, false, 0, null, 1), 3, 6, Precision.FP32);
    }

    @Test void fp8Gemms() { assertSame("fp8", Fp8TrainingTest.wide(1, 4, 1), 3, 8, Precision.FP8); }

    @Test void repeatedStepsStayIdentical() {
        ModelConfig c = Harness.tinyMoe();
        TrainModel keep = model(c, 2, 6, false, Precision.FP32), rec = model(c, 2, 6, true, Precision.FP32);
        for (int step = 0; step < 3; step++) {
            int[][] d = data(c, 2, 6, 80 + step);
            for (TrainModel m : new TrainModel[] {keep, rec}) {
                m.zeroGrad();
                m.forwardBackward(d[0], d[1], 2, 6);
                for (int i = 0; i < m.params().length; i++) m.params()[i] -= 0.05f * m.grads()[i]; // plain SGD
                m.updateBias(0.001f);
            }
            assertArrayEquals(keep.params(), rec.params(), "params after step " + step);
        }
    }

    /** The acceptance numbers: the small preset at B = 4, T = 256 (layouts only; no training). */
    @Test void smallPresetArena() {
        ModelConfig c = Presets.get("small");
        int B = 4, T = 256;
        ActLayout off = new TrainModel(c, B, T, false).activationLayout();
        ActLayout on = new TrainModel(c, B, T, true).activationLayout();
        System.out.printf("small B=4 T=256: acts floats off %d, on %d (%.1f%% less, scratch %d); dacts off %d, on %d%n",
                off.actsSize(), on.actsSize(), 100.0 * (off.actsSize() - on.actsSize()) / off.actsSize(),
                on.scratchSize(), off.dactsSize(), on.dactsSize());
        assertTrue(on.actsSize() < off.actsSize());
        // what recompute removes per layer: the two norm outputs, c_qn, c_kvn, q, kv and k
        int N = B * T, H = c.numAttentionHeads();
        long perLayer = 2L * N * c.hiddenSize() + (long) N * c.qLoraRank() + (long) N * c.kvLoraRank()
                + 2L * N * H * c.qkHeadDim() + (long) N * H * (c.qkNopeHeadDim() + c.vHeadDim());
        int layers = c.numHiddenLayers() + c.numNextnPredictLayers();
        long removed = layers * perLayer + (long) N * c.hiddenSize() * (1 + 3 * c.numNextnPredictLayers());
        assertEquals(off.actsSize() - removed + on.scratchSize(), on.actsSize(), "acts = kept - removed + scratch");
    }
}
