package dev.jseek.train;

import dev.jseek.model.ModelConfig;
import dev.jseek.model.TensorSchema;
import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.train.ref.Ref;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Whole-model checks of {@link TrainModel} against the double twin: losses (main CE, each MTP depth, balance), logits,
 * and FD of the total loss w.r.t. sampled elements of every parameter tensor (dense + MoE layers, MTP depth 2,
 * YaRN, shared embedding/head). Also a single block (dense and MoE) with all its weights.
 */
class TrainModelGradTest {

    private static int[][] data(ModelConfig c, int B, int T, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] tok = new int[B * T], tg = new int[B * T];
        for (int i = 0; i < tok.length; i++) tok[i] = r.nextInt(c.vocabSize());
        for (int i = 0; i < tg.length; i++) tg[i] = (i % T == T - 1) ? r.nextInt(c.vocabSize()) : tok[i + 1];
        tg[1] = -1; // an ignored position
        return new int[][] {tok, tg};
    }

    @Test
    void wholeModelWithTwoMtpDepths() {
        ModelConfig c = Harness.tiny(2, 1, 12, 4, 2, true, 1, Harness.v3Yarn(), 2);
        int B = 2, T = 5;
        TrainModel m = new TrainModel(c, B, T + 1);
        Harness.randomParams(m.layout(), m.params(), 31);
        m.setBalanceAlpha(0.05f);
        m.setMtpLambda(0.3f);
        int[][] d = data(c, B, T, 32);
        m.zeroGrad();
        float loss = m.forwardBackward(d[0], d[1], B, T);

        double[] pd = Fd.toDouble(m.params());
        Ref ref = new Ref(c, m.layout(), pd);
        double[] rl = ref.loss(d[0], d[1], B, T, 0.3, 0.05, true);
        assertEquals(rl[0], loss, 1e-5 * rl[0], "total loss");
        assertEquals(rl[1], m.lastMainLoss(), 1e-5 * rl[1], "main CE");
        assertEquals(rl[2], m.lastBalanceLoss(), 1e-5 * rl[2], "balance loss");
        assertEquals(rl[3], m.lastMtpLosses()[0], 1e-5 * rl[3], "MTP depth 1 CE");
        assertEquals(rl[4], m.lastMtpLosses()[1], 1e-5 * rl[4], "MTP depth 2 CE");
        System.out.printf("losses java %s / twin total %.9f main %.9f bal %.9f mtp %.9f %.9f%n", loss, rl[0], rl[1], rl[2], rl[3], rl[4]);

        Harness.checkParams("model", m.layout(), m.grads(), pd, () -> ref.loss(d[0], d[1], B, T, 0.3, 0.05, true)[0], 6);

        // gradScale and accumulation: a second call with scale 0.5 adds half of the same gradient
        float[] g1 = m.grads().clone();
        m.forwardBackward(d[0], d[1], B, T, 0.5f);
        for (int i = 0; i < g1.length; i++) assertEquals(1.5f * g1[i], m.grads()[i], 1e-6f * (1 + Math.abs(g1[i])));

        Harness.assertForward("logits", m.forwardLogits(d[0], B, T), 0, ref.main(d[0], B, T, 0, true, new double[1])[1], 1e-5);
    }

    @Test
    void classicAuxLossAndQProj() {
        ModelConfig c = Harness.tiny(1, 0, 0, 1, 1, false, 0, null, 1);
        int B = 3, T = 3;
        TrainModel m = new TrainModel(c, B, T);
        Harness.randomParams(m.layout(), m.params(), 41);
        m.setBalanceAlpha(0.1f);
        m.setSequenceWiseBalance(false);
        m.setMtpLambda(0.5f);
        int[][] d = data(c, B, T, 42);
        m.zeroGrad();
        float loss = m.forwardBackward(d[0], d[1], B, T);
        double[] pd = Fd.toDouble(m.params());
        Ref ref = new Ref(c, m.layout(), pd);
        double[] rl = ref.loss(d[0], d[1], B, T, 0.5, 0.1, false);
        assertEquals(rl[0], loss, 1e-5 * rl[0], "total loss");
        assertEquals(rl[2], m.lastBalanceLoss(), 1e-5 * rl[2], "classic balance loss");
        Harness.checkParams("model-classic", m.layout(), m.grads(), pd, () -> ref.loss(d[0], d[1], B, T, 0.5, 0.1, false)[0], 6);
    }

    private void block(ModelConfig c, int layer, long seed) {
        int B = 2, T = 4, N = B * T, dim = c.hiddenSize();
        ParamLayout pl = ParamLayout.partial(new TensorSchema(c));
        ActLayout al = new ActLayout();
        int x = al.alloc("x", (long) N * dim), y = al.alloc("y", (long) N * dim);
        Block b = new Block(c, layer, pl, al, N, new Rotary(c, T));
        Arenas s = new Arenas(pl, al);
        Harness.randomParams(pl, s.params, seed);
        SplittableRandom rnd = new SplittableRandom(seed + 1);
        Fd.fillGaussian(s.acts, x, N * dim, 1, rnd);
        float[] r = new float[N * dim];
        Fd.fillGaussian(r, 0, r.length, 1, rnd);
        double bal = b.forward(s, x, y, B, T, 0.05f, true);
        System.arraycopy(r, 0, s.dacts, y, r.length);
        b.backwardInput(s, x, y, B, T, 1f);
        b.backwardWeights(s, x, y, B, T);
        double[] pd = Fd.toDouble(s.params), xd = new double[N * dim];
        for (int i = 0; i < xd.length; i++) xd[i] = s.acts[x + i];
        Ref ref = new Ref(c, pl, pd);
        double[] rb = new double[1];
        Harness.assertForward("block " + layer, s.acts, y, ref.block(Fd.rows(xd, 0, N, dim), B, T, layer, 0.05, true, rb), 1e-5);
        assertEquals(rb[0], bal, 1e-6);
        java.util.function.DoubleSupplier L = () -> {
            double[] bb = new double[1];
            return Fd.dot(ref.block(Fd.rows(xd, 0, N, dim), B, T, layer, 0.05, true, bb), r, 0) + bb[0];
        };
        Fd.check("block " + layer + " dx", s.dacts, x, xd, 0, xd.length, L, 64, 1);
        Harness.checkParams("block " + layer, pl, s.grads, pd, L, 24);
    }

    @Test
    void denseBlock() { block(Harness.tinyMoe(), 0, 51); }

    @Test
    void moeBlock() { block(Harness.tinyMoe(), 1, 52); }

    @Test
    void badInputsGiveClearErrors() {
        ModelConfig c = Harness.tinyMoe();
        TrainModel m = new TrainModel(c, 2, 4);
        int[] ok = new int[8];
        assertTrue(assertThrows(IllegalArgumentException.class, () -> m.forwardBackward(ok, ok, 3, 4)).getMessage().contains("outside the allocated"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> m.forwardBackward(new int[3], ok, 2, 4)).getMessage().contains("tokens has 3"));
        int[] badTok = new int[8];
        badTok[5] = 99;
        assertTrue(assertThrows(IllegalArgumentException.class, () -> m.forwardBackward(badTok, ok, 2, 4)).getMessage().contains("token id 99"));
        int[] badTg = new int[8];
        badTg[2] = 24;
        assertTrue(assertThrows(IllegalArgumentException.class, () -> m.forwardBackward(ok, badTg, 2, 4)).getMessage().contains("target id 24"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> m.forwardBackward(ok, ok, 8, 1)).getMessage().contains("outside"));
        TrainModel one = new TrainModel(c, 2, 4);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> one.forwardBackward(new int[2], new int[2], 2, 1)).getMessage().contains("must exceed num_nextn_predict_layers"));
    }
}
