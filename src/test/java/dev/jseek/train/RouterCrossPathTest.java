package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.model.Gate;
import dev.jseek.model.ModelConfig;
import dev.jseek.model.TensorSchema;
import dev.jseek.model.Workspace;
import dev.jseek.tensor.Matrix;
import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The inference router ({@link Gate}) and the training router ({@link Moe}) make the same expert choices with the
 * same weights, bit for bit, on inputs with exact ties (equal scores within a group, equal group scores) and NaN and
 * -inf selection keys (through the bias). Oracle for both: the documented rule of {@code dev.jseek.kernels.Router}
 * written out independently here in double with a stable sort (key NaN = -inf, larger first, lower index on ties).
 * The router weight is the identity on the first E input dims, so the logits are the inputs exactly in both paths.
 */
class RouterCrossPathTest {
    static final int E = 8, GROUPS = 4, KEEP = 2, K = 3;

    @Test
    void inferenceAndTrainingRouteIdentically() {
        for (boolean norm : new boolean[] {true, false}) {
            ModelConfig c = Harness.tiny(2, 1, 12, GROUPS, KEEP, norm, 1, null, 0);
            int dim = c.hiddenSize(), N = 9;
            float[] x = new float[N * dim];
            SplittableRandom r = new SplittableRandom(5);
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
            // token 0: all logits equal (every score ties; group scores tie): lowest indices win
            for (int e = 0; e < E; e++) x[e] = 0.25f;
            // token 1: groups 0 and 1 tie for the last kept place; experts 0 and 1 tie for the last pick
            float[] t1 = {1f, 1f, 1f, 1f, -3f, -1f, 2f, 2f};
            System.arraycopy(t1, 0, x, dim, E);
            // token 2: groups 0 and 1 tie (both kept); experts 0 and 3 tie for first, 1 and 2 for third
            float[] t2 = {2f, 0f, 0f, 2f, 1f, 1f, -5f, -5f};
            System.arraycopy(t2, 0, x, 2 * dim, E);
            // token 3: extreme logits (scores saturate at 0 and 1, so ties after the sigmoid)
            float[] t3 = {40f, 50f, -100f, -120f, 60f, 0f, -90f, 30f};
            System.arraycopy(t3, 0, x, 3 * dim, E);
            // bias: a -inf (expert 4) and a NaN (expert 5) key, so group 2 scores -inf; +0.5 on expert 7
            float[] bias = {0f, 0f, 0f, 0f, Float.NEGATIVE_INFINITY, Float.NaN, 0f, 0.5f};

            // training path
            String pre = "model.layers.1.mlp.";
            ParamLayout pl = ParamLayout.partial(new TensorSchema(c));
            ActLayout al = new ActLayout();
            int xa = al.alloc("x", (long) N * dim), ya = al.alloc("y", (long) N * dim);
            Moe m = new Moe(c, pre, pl, al, N);
            Arenas s = new Arenas(pl, al);
            Harness.randomParams(pl, s.params, 3);
            float[] eye = new float[E * dim];
            for (int e = 0; e < E; e++) eye[e * dim + e] = 1f;
            System.arraycopy(eye, 0, s.params, m.wr.offset(), eye.length);
            System.arraycopy(bias, 0, s.params, m.bias.offset(), E);
            System.arraycopy(x, 0, s.acts, xa, x.length);
            m.forward(s, xa, ya, 1, N, 0f, true);

            // inference path
            Gate g = new Gate(Matrix.ofF32(eye, E, dim), bias.clone(), K, GROUPS, KEEP, norm, (float) c.routedScalingFactor());
            int[] idx = new int[N * K];
            float[] w = new float[N * K];
            g.forward(x, N, idx, w, new Workspace());

            for (int t = 0; t < N; t++) {
                int[] want = oracle(x, t * dim, bias);
                int[] train = m.selected(t), infer = Arrays.copyOfRange(idx, t * K, t * K + K);
                String at = "norm " + norm + ", token " + t;
                assertArrayEquals(want, infer, "inference choice, " + at);
                assertArrayEquals(want, train, "training choice, " + at);
                double sum = 0;
                for (int e : want) sum += sigmoid(x[t * dim + e]);
                for (int j = 0; j < K; j++) {
                    float tw = s.acts[m.weights.acts() + t * K + j];
                    assertEquals(Float.floatToRawIntBits(w[t * K + j]), Float.floatToRawIntBits(tw),
                            "weight " + j + " bits, " + at + ": inference " + w[t * K + j] + " training " + tw);
                    double sv = sigmoid(x[t * dim + want[j]]);
                    double ref = c.routedScalingFactor() * (norm ? sv / sum : sv);
                    assertEquals(ref, tw, 2e-6 * Math.max(1, Math.abs(ref)), "weight " + j + ", " + at);
                }
            }
            // the fixed cases pick what the rule says (spelled out, not only via the oracle)
            assertArrayEquals(new int[] {7, 0, 1}, m.selected(0), "all scores equal: groups 3 and 0 (lower of the tied 0, 1)");
            assertArrayEquals(new int[] {7, 6, 0}, m.selected(1), "group 0 wins the tie with group 1, expert 0 with 1");
            assertArrayEquals(new int[] {0, 3, 1}, m.selected(2), "ties within the kept groups go to the lower index");
        }
    }

    static double sigmoid(double z) { return 1 / (1 + Math.exp(-z)); }

    /** The documented rule, independently: keys in double, stable sorts. */
    static int[] oracle(float[] x, int o, float[] bias) {
        double[] key = new double[E];
        for (int e = 0; e < E; e++) {
            double k = (double) (float) sigmoid(x[o + e]) + bias[e];
            key[e] = Double.isNaN(k) ? Double.NEGATIVE_INFINITY : (float) k;
        }
        int per = E / GROUPS;
        double[] gs = new double[GROUPS];
        for (int gi = 0; gi < GROUPS; gi++) {
            double[] v = Arrays.copyOfRange(key, gi * per, (gi + 1) * per);
            Arrays.sort(v);
            gs[gi] = v[per - 1] + v[per - 2];
            if (Double.isNaN(gs[gi])) gs[gi] = Double.NEGATIVE_INFINITY;
        }
        Integer[] go = new Integer[GROUPS];
        for (int i = 0; i < GROUPS; i++) go[i] = i;
        Arrays.sort(go, Comparator.comparingDouble((Integer i) -> -gs[i]));      // stable: lower index first on ties
        boolean[] kept = new boolean[GROUPS];
        for (int j = 0; j < KEEP; j++) kept[go[j]] = true;
        for (int e = 0; e < E; e++) if (!kept[e / per]) key[e] = Double.NEGATIVE_INFINITY;
        Integer[] eo = new Integer[E];
        for (int i = 0; i < E; i++) eo[i] = i;
        Arrays.sort(eo, Comparator.comparingDouble((Integer i) -> -key[i]));
        int[] out = new int[K];
        for (int j = 0; j < K; j++) out[j] = eo[j];
        return out;
    }
}
