package dev.jseek.train;

import dev.jseek.model.ModelConfig;
import dev.jseek.model.TensorSchema;
import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.train.ref.Ref;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Dense SwiGLU and MoE (report §2.1.2) forward vs the double twin; FD checks of dx, every weight and the balance loss. */
class FfnMoeGradTest {

    @Test
    void denseSwiGlu() {
        ModelConfig c = Harness.tinyMoe();
        int N = 6, dim = c.hiddenSize(), inter = 24;
        String pre = "model.layers.0.mlp.";
        ParamLayout pl = new ParamLayout();
        ActLayout al = new ActLayout();
        int x = al.alloc("x", (long) N * dim), y = al.alloc("y", (long) N * dim);
        SwiGluFfn f = new SwiGluFfn(pl.matrix(pre + "gate_proj.weight", inter, dim), pl.matrix(pre + "up_proj.weight", inter, dim),
                pl.matrix(pre + "down_proj.weight", dim, inter), pre, al, N);
        Arenas s = new Arenas(pl, al);
        Harness.randomParams(pl, s.params, 3);
        SplittableRandom rnd = new SplittableRandom(4);
        Fd.fillGaussian(s.acts, x, N * dim, 1, rnd);
        float[] r = new float[N * dim];
        Fd.fillGaussian(r, 0, r.length, 1, rnd);
        f.forward(s, x, y, N);
        System.arraycopy(r, 0, s.dacts, y, r.length);
        f.backwardInput(s, x, y, N);
        f.backwardWeights(s, x, y, N);
        double[] pd = Fd.toDouble(s.params), xd = new double[N * dim];
        for (int i = 0; i < xd.length; i++) xd[i] = s.acts[x + i];
        Ref ref = new Ref(c, pl, pd);
        java.util.function.DoubleSupplier L = () -> {
            double sum = 0;
            for (int t = 0; t < N; t++) {
                double[] yt = ref.ffn(java.util.Arrays.copyOfRange(xd, t * dim, (t + 1) * dim), pre, inter);
                for (int i = 0; i < dim; i++) sum += yt[i] * r[t * dim + i];
            }
            return sum;
        };
        double[][] yref = new double[N][];
        for (int t = 0; t < N; t++) yref[t] = ref.ffn(java.util.Arrays.copyOfRange(xd, t * dim, (t + 1) * dim), pre, inter);
        Harness.assertForward("ffn", s.acts, y, yref, 1e-5);
        Fd.check("ffn dx", s.dacts, x, xd, 0, xd.length, L, 1000, 1);
        Harness.checkParams("ffn", pl, s.grads, pd, L, 1000);
    }

    private void moe(ModelConfig c, int B, int T, float alpha, boolean seqWise, long seed) {
        String pre = "model.layers.1.mlp.";
        int N = B * T, dim = c.hiddenSize();
        ParamLayout pl = ParamLayout.partial(new TensorSchema(c));
        ActLayout al = new ActLayout();
        int x = al.alloc("x", (long) N * dim), y = al.alloc("y", (long) N * dim);
        Moe m = new Moe(c, pre, pl, al, N);
        Arenas s = new Arenas(pl, al);
        Harness.randomParams(pl, s.params, seed);
        SplittableRandom rnd = new SplittableRandom(seed + 1);
        Fd.fillGaussian(s.acts, x, N * dim, 1, rnd);
        float[] r = new float[N * dim];
        Fd.fillGaussian(r, 0, r.length, 1, rnd);
        float balScale = 1.3f;
        double bal = m.forward(s, x, y, B, T, alpha, seqWise);
        System.arraycopy(r, 0, s.dacts, y, r.length);
        m.backwardInput(s, x, y, B, T, balScale);
        m.backwardWeights(s, x, y, B, T);

        double[] pd = Fd.toDouble(s.params), xd = new double[N * dim];
        for (int i = 0; i < xd.length; i++) xd[i] = s.acts[x + i];
        Ref ref = new Ref(c, pl, pd);
        int[][] sel = new int[N][];
        double[] refBal = new double[1];
        Harness.assertForward("moe", s.acts, y, ref.moe(Fd.rows(xd, 0, N, dim), B, T, pre, alpha, seqWise, refBal, sel), 1e-5);
        assertEquals(refBal[0], bal, 1e-6 * Math.max(1, refBal[0]), "balance loss");
        int[] counts = new int[c.nRoutedExperts()];
        for (int t = 0; t < N; t++) {
            assertArrayEquals(sel[t], m.selected(t), "selection of token " + t);
            for (int e : sel[t]) counts[e]++;
        }
        assertArrayEquals(counts, m.lastCount());
        java.util.function.DoubleSupplier L = () -> {
            double[] b = new double[1];
            double v = Fd.dot(ref.moe(Fd.rows(xd, 0, N, dim), B, T, pre, alpha, seqWise, b, null), r, 0);
            return v + balScale * b[0];
        };
        Fd.check("moe dx", s.dacts, x, xd, 0, xd.length, L, 1000, 1);
        Harness.checkParams("moe", pl, s.grads, pd, L, 400);
    }

    @Test
    void moeGroupLimitedWithSequenceBalance() { moe(Harness.tinyMoe(), 2, 5, 0.05f, true, 21); }

    @Test
    void moeClassicBatchBalance() { moe(Harness.tinyMoe(), 2, 5, 0.05f, false, 22); }

    @Test
    void moeOneGroupNoNormNoShared() { moe(Harness.tiny(2, 1, 12, 1, 1, false, 0, null, 0), 3, 3, 0.02f, true, 23); }

    @Test
    void biasChangesSelectionButNotWeights() {
        ModelConfig c = Harness.tinyMoe();
        String pre = "model.layers.1.mlp.";
        int N = 4, dim = c.hiddenSize();
        ParamLayout pl = ParamLayout.partial(new TensorSchema(c));
        ActLayout al = new ActLayout();
        int x = al.alloc("x", (long) N * dim), y = al.alloc("y", (long) N * dim);
        Moe m = new Moe(c, pre, pl, al, N);
        Arenas s = new Arenas(pl, al);
        Harness.randomParams(pl, s.params, 5);
        Fd.fillGaussian(s.acts, x, N * dim, 1, new SplittableRandom(6));
        int b = m.biasOffset();
        java.util.Arrays.fill(s.params, b, b + 8, 0f);
        s.params[b + 5] = 10f; // expert 5 always chosen
        m.forward(s, x, y, 1, N, 0f, true);
        for (int t = 0; t < N; t++) {
            int[] sel = m.selected(t);
            assertEquals(5, sel[0], "biased expert first");
            double sum = 0;
            for (int e : sel) sum += s.acts[m.scores.acts() + t * 8 + e];
            // weight of expert 5 comes from the unbiased score
            assertEquals(2.5 * s.acts[m.scores.acts() + t * 8 + 5] / sum, s.acts[m.weights.acts() + t * 3], 1e-6);
        }
        assertEquals(N, m.lastCount()[5]);
    }
}
