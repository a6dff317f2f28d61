package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.model.ModelConfig;
import dev.jseek.train.ref.Ref;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The weighted cross-entropy L = sum_r w_r CE_r (post-training, docs/architecture.md §7.5-§7.6): its backward against central finite
 * differences of a double-precision twin, the fast kernels against their scalar twins, the mean CE as the special case
 * w = 1/count, and {@link TrainModel}'s objective path (every parameter gradient against FD of the double model twin).
 */
class WeightedObjectiveTest {
    private final SplittableRandom rnd = new SplittableRandom(11);

    /** sum_r w_r (logsumexp(z_r) - z_r[t_r]) in double. */
    static double weightedCe(double[] z, int N, int V, int[] tg, float[] w) {
        double L = 0;
        for (int r = 0; r < N; r++) {
            if (tg[r] < 0) continue;
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < V; i++) max = Math.max(max, z[r * V + i]);
            double s = 0;
            for (int i = 0; i < V; i++) s += Math.exp(z[r * V + i] - max);
            L += w[r] * (Math.log(s) + max - z[r * V + tg[r]]);
        }
        return L;
    }

    @Test
    void weightedCrossEntropyMatchesFiniteDifferences() {
        int N = 7, V = 37;
        float[] z = new float[N * V];
        Fd.fillGaussian(z, 0, z.length, 2.0, rnd);
        int[] tg = new int[N];
        for (int r = 0; r < N; r++) tg[r] = r == 2 || r == 5 ? -1 : rnd.nextInt(V);
        float[] w = new float[N];
        for (int r = 0; r < N; r++) w[r] = (float) (rnd.nextDouble() * 2 - 0.8); // signed weights, as GRPO advantages
        double[] zd = Fd.toDouble(z);
        float[] probs = z.clone(), probsS = z.clone();
        double[] rows = new double[N], rowsS = new double[N];
        assertEquals(5, CrossEntropy.forwardRows(probs, 0, N, V, tg, 0, rows));
        assertEquals(5, CrossEntropy.forwardRowsScalar(probsS, 0, N, V, tg, 0, rowsS));
        double sum = 0;
        for (int r = 0; r < N; r++) {
            assertEquals(rowsS[r], rows[r], 1e-5 * (1 + rowsS[r]), "row CE " + r);
            sum += w[r] * rows[r];
        }
        assertEquals(weightedCe(zd, N, V, tg, w), sum, 1e-5);
        float[] dz = new float[N * V], dzS = new float[N * V];
        CrossEntropy.backwardWeighted(dz, 0, probs, 0, N, V, tg, 0, w, 0, 1.3f);
        CrossEntropy.backwardWeightedScalar(dzS, 0, probsS, 0, N, V, tg, 0, w, 0, 1.3f);
        for (int i = 0; i < dz.length; i++) assertEquals(dzS[i], dz[i], 1e-6f, "scalar twin at " + i);
        for (int r : new int[] {2, 5}) for (int i = 0; i < V; i++) assertEquals(0f, dz[r * V + i], "ignored row " + r);
        Fd.check("weighted ce dlogits", dz, 0, zd, 0, zd.length, () -> 1.3 * weightedCe(zd, N, V, tg, w), 1000, 3);
    }

    @Test
    void meanCrossEntropyIsTheCaseWeightOneOverCount() {
        int N = 6, V = 19;
        float[] z = new float[N * V];
        Fd.fillGaussian(z, 0, z.length, 1.5, rnd);
        int[] tg = {3, -1, 0, 18, 7, -1};
        float[] pa = z.clone(), pb = z.clone();
        double mean = CrossEntropy.forward(pa, 0, N, V, tg, 0);
        double[] rows = new double[N];
        int count = CrossEntropy.forwardRows(pb, 0, N, V, tg, 0, rows);
        double s = 0;
        for (double v : rows) s += v;
        assertEquals(mean, s / count, 1e-12);
        float[] w = new float[N];
        for (int r = 0; r < N; r++) w[r] = tg[r] >= 0 ? 1f / count : 0f;
        float[] da = new float[N * V], db = new float[N * V];
        CrossEntropy.backward(da, 0, pa, 0, N, V, tg, 0, 0.7f);
        CrossEntropy.backwardWeighted(db, 0, pb, 0, N, V, tg, 0, w, 0, 0.7f);
        for (int i = 0; i < da.length; i++) assertEquals(da[i], db[i], 1e-7f);
    }

    @Test
    void trainModelObjectiveGradientMatchesTheDoubleTwin() {
        ModelConfig c = Harness.tiny(2, 1, 12, 4, 2, true, 1, Harness.v3Yarn(), 1);
        int B = 2, T = 5, N = B * T;
        TrainModel m = new TrainModel(c, B, T);
        Harness.randomParams(m.layout(), m.params(), 51);
        m.setBalanceAlpha(0.05f);
        SplittableRandom r = new SplittableRandom(52);
        int[] tok = new int[N], tg = new int[N];
        for (int i = 0; i < N; i++) tok[i] = r.nextInt(c.vocabSize());
        for (int i = 0; i < N; i++) tg[i] = i % T < 2 ? -1 : r.nextInt(c.vocabSize()); // prompt positions ignored
        float[] w = new float[N];
        for (int i = 0; i < N; i++) w[i] = (float) (r.nextDouble() - 0.3);
        TokenObjective obj = (logp, targets, out) -> {
            double v = 0;
            for (int i = 0; i < logp.length; i++) if (targets[i] >= 0) { out[i] = w[i]; v -= w[i] * logp[i]; }
            return v;
        };
        m.zeroGrad();
        float loss = m.forwardBackward(tok, tg, B, T, obj, 1f);
        double[] pd = Fd.toDouble(m.params());
        Ref ref = new Ref(c, m.layout(), pd);
        java.util.function.DoubleSupplier L = () -> {
            double[] bal = new double[1];
            double[][] logits = ref.main(tok, B, T, 0.05, true, bal)[1];
            double[] flat = new double[N * c.vocabSize()];
            for (int i = 0; i < N; i++) System.arraycopy(logits[i], 0, flat, i * c.vocabSize(), c.vocabSize());
            return weightedCe(flat, N, c.vocabSize(), tg, w) + bal[0];
        };
        assertEquals(L.getAsDouble(), loss, 1e-5 * Math.abs(L.getAsDouble()));
        double[] logp = m.lastLogProbs();
        for (int i = 0; i < N; i++) if (tg[i] < 0) assertEquals(0.0, logp[i]); else assertTrue(logp[i] < 0);
        Harness.checkParams("objective", m.layout(), m.grads(), pd, L, 6);
        // the MTP module is not run: its parameters get exactly zero gradient
        for (ParamLayout.Entry e : m.layout().entries())
            if (e.name().startsWith("model.layers.2."))
                for (int i = 0; i < e.size(); i++) assertEquals(0f, m.grads()[e.offset() + i], e.name());
    }
}
