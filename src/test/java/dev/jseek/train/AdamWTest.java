package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** AdamW against a double-precision scalar reference of torch.optim.AdamW; gradient clipping; a tiny training run. */
class AdamWTest {

    @Test
    void matchesScalarReferenceOverSteps() {
        ParamLayout pl = new ParamLayout();
        pl.add("w", true, 3, 4);
        pl.add("norm", true, 4);
        pl.add("bias", false, 2);
        float[] p = new float[pl.size()], g = new float[pl.size()];
        SplittableRandom r = new SplittableRandom(1);
        Fd.fillGaussian(p, 0, p.length, 1, r);
        double[] ref = Fd.toDouble(p), m = new double[p.length], v = new double[p.length];
        float[] biasBefore = java.util.Arrays.copyOfRange(p, 16, 18);
        AdamW opt = new AdamW(pl, 0.9f, 0.95f, 1e-8f, 0.1f);
        float[] lrs = {1e-2f, 3e-2f, 2e-2f, 5e-3f, 1e-2f};
        for (int t = 1; t <= lrs.length; t++) {
            Fd.fillGaussian(g, 0, g.length, t == 3 ? 1e-3 : 1, r);
            opt.step(p, g, lrs[t - 1]);
            for (int i = 0; i < 16; i++) {
                double lr = lrs[t - 1];
                if (i < 12) ref[i] *= 1 - lr * 0.1;
                m[i] = 0.9 * m[i] + 0.1 * g[i];
                v[i] = 0.95 * v[i] + 0.05 * g[i] * (double) g[i];
                double mh = m[i] / (1 - Math.pow(0.9, t)), vh = v[i] / (1 - Math.pow(0.95, t));
                ref[i] -= lr * mh / (Math.sqrt(vh) + 1e-8);
            }
            for (int i = 0; i < 16; i++) assertEquals(ref[i], p[i], 2e-6 * (1 + Math.abs(ref[i])), "step " + t + " element " + i);
        }
        assertArrayEquals(biasBefore, java.util.Arrays.copyOfRange(p, 16, 18), "non-trainable tensors are not updated");
        assertEquals(5, opt.steps());
    }

    @Test
    void clipsToGlobalNorm() {
        ParamLayout pl = new ParamLayout();
        pl.add("a", true, 2, 2);
        pl.add("b", false, 2);
        float[] g = {3, 0, 0, 4, 100, 100};
        assertEquals(5.0, AdamW.clipGradNorm(pl, g, 1.0), 1e-12);
        assertArrayEquals(new float[] {0.6f, 0, 0, 0.8f, 100, 100}, g, 1e-7f);
        assertEquals(1.0, AdamW.clipGradNorm(pl, g, 2.0), 1e-6);
        assertArrayEquals(new float[] {0.6f, 0, 0, 0.8f, 100, 100}, g, 1e-7f);
    }

    @Test
    void tinyModelLearnsAFixedBatch() {
        var c = Harness.tinyMoe();
        int B = 2, T = 8;
        TrainModel model = new TrainModel(c, B, T);
        model.initRandom(7, 0.1f);
        int[] tok = new int[B * T], tg = new int[B * T];
        for (int i = 0; i < tok.length; i++) { tok[i] = (3 * i + 1) % c.vocabSize(); tg[i] = (3 * i + 4) % c.vocabSize(); }
        AdamW opt = AdamW.deepSeekV3(model.layout(), 1e-8f);
        float first = 0, last = 0;
        for (int step = 0; step < 30; step++) {
            model.zeroGrad();
            last = model.forwardBackward(tok, tg, B, T);
            if (step == 0) first = last;
            AdamW.clipGradNorm(model.layout(), model.grads(), 1.0);
            opt.step(model.params(), model.grads(), 1e-2f);
            model.updateBias(1e-3f);
        }
        System.out.printf("tiny model loss %.4f -> %.4f after 30 AdamW steps%n", first, last);
        assertTrue(last < 0.5 * first, "loss " + first + " -> " + last);
    }
}
