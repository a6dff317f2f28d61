package dev.jseek.posttrain;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.train.CrossEntropy;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * GRPO's advantages and loss (docs/architecture.md §7.6) on a 2-completion example computed by hand, and the gradient of the whole
 * per-token loss (policy term with clipping, KL term) with respect to the logits against central finite differences
 * of an independent double-precision formula.
 */
class GrpoObjectiveTest {
    @Test
    void advantagesByHand() {
        assertArrayEquals(new double[] {1, -1}, Advantages.of(new double[] {1, 0}, 2, 0), 0);
        assertArrayEquals(new double[] {0.5 / 0.5001, -0.5 / 0.5001}, Advantages.of(new double[] {1, 0}, 2, 1e-4), 1e-15);
        // two groups of 3: (1, 1, 1) has no signal; (2, 0, 1): mean 1, population std sqrt(2/3)
        double s = Math.sqrt(2.0 / 3);
        assertArrayEquals(new double[] {0, 0, 0, 1 / s, -1 / s, 0}, Advantages.of(new double[] {1, 1, 1, 2, 0, 1}, 3, 0), 1e-15);
        assertThrows(IllegalArgumentException.class, () -> Advantages.of(new double[] {1, 2, 3}, 2, 0));
    }

    @Test
    void lossAndWeightsOfATwoCompletionExampleByHand() {
        // completion 0 (reward 1, A = +1) has 2 tokens at rows 1, 2; completion 1 (reward 0, A = -1) 1 token at row 4
        int[] owner = {-1, 0, 0, -1, 1, -1}, targets = {-1, 3, 4, -1, 5, -1};
        double[] adv = Advantages.of(new double[] {1, 0}, 2, 0);
        double[] logp = {0, Math.log(0.5), Math.log(0.25), 0, Math.log(0.8), 0};
        // ratios: row 1: 1; row 2: 0.25/0.2 = 1.25 > 1.2, A > 0: clipped term 1.2 is the min (no gradient);
        // row 4: 0.8/0.5 = 1.6, A < 0: unclipped -1.6 is the min
        double[] old = {0, Math.log(0.5), Math.log(0.2), 0, Math.log(0.5), 0};
        double[] ref = {0, Math.log(0.4), Math.log(0.25), 0, Math.log(0.4), 0};
        GrpoObjective o = new GrpoObjective(owner, adv, new int[] {2, 1}, ref, old, 0.2, 0.1);
        float[] w = new float[6];
        double loss = o.evaluate(logp, targets, w);
        // KL(row 1) = 0.8 - ln 0.8 - 1 = 0.02314355131; KL(row 2) = 0; KL(row 4) = 0.5 - ln 0.5 - 1 = 0.19314718056
        // L = -1/2 [ 1/2 ((1 - 0.1*0.02314355131) + 1.2) + (-1.6 - 0.1*0.19314718056) ] = 0.26023594781
        assertEquals(0.26023594781075, loss, 1e-11);
        // w = 1/(M|o|) (g - beta (1 - pi_ref/pi)): row 1: 1/4 (1 - 0.1*0.2) = 0.245; row 2: 0; row 4: 1/2 (-1.6 - 0.1*0.5)
        assertArrayEquals(new float[] {0, 0.245f, 0, 0, -0.825f, 0}, w, 1e-7f);
        assertEquals(1.0 / 3, o.lastClipFraction(), 1e-15);
        assertEquals((0.02314355131 / 2 + 0.19314718056) / 2, o.lastKl(), 1e-10);
        // one update per batch (old = current): ratio 1, the weight of token t is A / (M |o|) (+ the KL part)
        GrpoObjective on = new GrpoObjective(owner, adv, new int[] {2, 1}, null, null, 0.2, 0.1);
        float[] w1 = new float[6];
        double l1 = on.evaluate(logp, targets, w1);
        assertEquals(-0.5 * (0.5 * (1 + 1) - 1), l1, 1e-15);
        assertArrayEquals(new float[] {0, 0.25f, 0.25f, 0, -0.5f, 0}, w1, 0f);
    }

    /** The GRPO loss as a function of the logits, written out in double (the FD oracle). */
    static double loss(double[] x, int V, int[] tg, int[] owner, double[] adv, int[] len, double[] ref, double[] old, double eps, double beta) {
        int M = adv.length;
        double L = 0;
        for (int r = 0; r < owner.length; r++) {
            if (owner[r] < 0) continue;
            double max = Double.NEGATIVE_INFINITY, s = 0;
            for (int i = 0; i < V; i++) max = Math.max(max, x[r * V + i]);
            for (int i = 0; i < V; i++) s += Math.exp(x[r * V + i] - max);
            double lp = x[r * V + tg[r]] - max - Math.log(s);
            double ratio = Math.exp(lp - old[r]), A = adv[owner[r]];
            double surr = Math.min(ratio * A, Math.min(1 + eps, Math.max(1 - eps, ratio)) * A);
            double kl = Math.exp(ref[r] - lp) - (ref[r] - lp) - 1;
            L -= (surr - beta * kl) / (M * len[owner[r]]);
        }
        return L;
    }

    void checkGradient(double[] adv, double beta, double[] ratioOffsets, String label) {
        int N = 8, V = 13;
        SplittableRandom rnd = new SplittableRandom(21);
        float[] x = new float[N * V];
        for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() * 1.5);
        int[] owner = {-1, 0, 0, 0, -1, 1, 1, 2}, len = {3, 2, 1};
        int[] tg = new int[N];
        for (int r = 0; r < N; r++) tg[r] = owner[r] < 0 ? -1 : rnd.nextInt(V);
        double[] xd = new double[x.length];
        for (int i = 0; i < x.length; i++) xd[i] = x[i];
        float[] probs = x.clone();
        double[] rows = new double[N], logp = new double[N], ref = new double[N], old = new double[N];
        CrossEntropy.forwardRows(probs, 0, N, V, tg, 0, rows);
        for (int r = 0; r < N; r++) {
            if (owner[r] < 0) continue;
            logp[r] = -rows[r];
            ref[r] = logp[r] + rnd.nextGaussian() * 0.7; // the reference disagrees by a factor exp(+-0.7)
            old[r] = logp[r] - Math.log(ratioOffsets[r]);  // ratio pi/pi_old as given, away from the clip kinks
        }
        GrpoObjective o = new GrpoObjective(owner, adv, len, ref, old, 0.2, beta);
        float[] w = new float[N];
        double value = o.evaluate(logp, tg, w);
        assertEquals(loss(xd, V, tg, owner, adv, len, ref, old, 0.2, beta), value, 1e-6 * (1 + Math.abs(value)));
        float[] dx = new float[N * V];
        CrossEntropy.backwardWeighted(dx, 0, probs, 0, N, V, tg, 0, w, 0, 1f);
        double h = 1e-5, worst = 0, amax = 0;
        for (float v : dx) amax = Math.max(amax, Math.abs(v));
        for (int i = 0; i < xd.length; i++) {
            double keep = xd[i];
            xd[i] = keep + h;
            double lp = loss(xd, V, tg, owner, adv, len, ref, old, 0.2, beta);
            xd[i] = keep - h;
            double lm = loss(xd, V, tg, owner, adv, len, ref, old, 0.2, beta);
            xd[i] = keep;
            double fd = (lp - lm) / (2 * h);
            worst = Math.max(worst, Math.abs(fd - dx[i]) / Math.max(Math.max(Math.abs(fd), Math.abs(dx[i])), 1e-3 * amax));
        }
        System.out.printf("FD %s: max rel err %.3e over %d logits%n", label, worst, xd.length);
        assertTrue(worst < 1e-4, label + ": max rel err " + worst);
    }

    @Test
    void policyAndKlGradientMatchesFiniteDifferences() {
        // completion 0: A > 0 with ratios 0.7 (unclipped), 1.0, 1.3 (clipped: no policy gradient); completion 1: A < 0
        // with ratios 1.3 (unclipped, pessimistic) and 0.7 (clipped); completion 2: A = 0.4, ratio 1
        double[] ratios = {1, 0.7, 1.0, 1.3, 1, 1.3, 0.7, 1.0};
        checkGradient(new double[] {1.2, -0.9, 0.4}, 0.3, ratios, "grpo policy + kl");
    }

    @Test
    void klGradientAloneMatchesFiniteDifferences() {
        // equal rewards in every group: A = 0, only the KL term (beta 1) acts
        double[] ones = {1, 1, 1, 1, 1, 1, 1, 1};
        checkGradient(new double[] {0, 0, 0}, 1.0, ones, "kl only");
    }
}
