package dev.jseek.infer;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Oracle: the target distribution computed directly in double (sort, cut, renormalize), then a chi-square test. */
class SamplerTest {
    private static double[] expected(float[] logits, float t, int topK, float topP) {
        int n = logits.length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        java.util.Arrays.sort(order, (a, b) -> logits[a] != logits[b] ? Float.compare(logits[b], logits[a]) : Integer.compare(a, b));
        int k = topK == 0 ? n : Math.min(topK, n);
        double[] p = new double[n];
        double sum = 0;
        for (int j = 0; j < k; j++) { p[order[j]] = Math.exp(logits[order[j]] / (double) t); sum += p[order[j]]; }
        double mass = 0;
        int kept = k;
        for (int j = 0; j < k; j++) { mass += p[order[j]] / sum; if (mass >= topP - 1e-12) { kept = j + 1; break; } }
        double s2 = 0;
        for (int j = 0; j < n; j++) if (j >= kept) p[order[j]] = 0;
        for (double v : p) s2 += v;
        for (int i = 0; i < n; i++) p[i] /= s2;
        return p;
    }

    private static void checkDistribution(float t, int topK, float topP) {
        Random r = new Random(7);
        float[] logits = new float[40];
        for (int i = 0; i < logits.length; i++) logits[i] = (float) r.nextGaussian() * 2f;
        double[] want = expected(logits, t, topK, topP);
        Sampler s = new Sampler(t, topK, topP, 123);
        int draws = 200_000;
        int[] got = new int[logits.length];
        for (int i = 0; i < draws; i++) got[s.sample(logits, 0, logits.length)]++;
        double chi = 0;
        int dof = -1;
        for (int i = 0; i < logits.length; i++) {
            if (want[i] == 0) { assertEquals(0, got[i], "token " + i + " is outside the top-k/top-p set"); continue; }
            double e = want[i] * draws;
            chi += (got[i] - e) * (got[i] - e) / e;
            dof++;
        }
        // 99.9% quantile of chi-square is below dof + 4.5*sqrt(2 dof) + 10 for these dof
        assertTrue(chi < dof + 4.5 * Math.sqrt(2.0 * Math.max(dof, 1)) + 10, "chi2=" + chi + " dof=" + dof);
    }

    @Test void temperatureOnly() { checkDistribution(0.8f, 0, 1f); }
    @Test void topK() { checkDistribution(1.3f, 5, 1f); }
    @Test void topP() { checkDistribution(1f, 0, 0.7f); }
    @Test void topKAndTopP() { checkDistribution(0.7f, 12, 0.9f); }

    @Test
    void greedyIsArgmaxWithLowestIndexOnTies() {
        float[] l = {1f, 5f, Float.NaN, 5f, -3f};
        assertEquals(1, Sampler.greedy().sample(l, 0, l.length));
        assertEquals(3, Sampler.argmax(l, 2, 3) + 2);
    }

    @Test
    void seedFixesTheSequence() {
        float[] l = new float[1000];
        Random r = new Random(1);
        for (int i = 0; i < l.length; i++) l[i] = (float) r.nextGaussian();
        Sampler a = new Sampler(1f, 50, 0.95f, 42), b = new Sampler(1f, 50, 0.95f, 42);
        for (int i = 0; i < 100; i++) assertEquals(a.sample(l, 0, l.length), b.sample(l, 0, l.length));
    }

    @Test
    void rejectsBadParameters() {
        assertThrows(IllegalArgumentException.class, () -> new Sampler(1f, -1, 1f, 0));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(1f, 0, 0f, 0));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(1f, 0, 1.5f, 0));
    }

    /**
     * Presence and frequency penalties, OpenAI's formula written out here: token j's logit minus c_j * frequency +
     * presence once it has been drawn c_j > 0 times. Greedy draws follow the argmax of the penalized row; the caller's
     * logits stay as they were; a sampled draw equals an unpenalized sampler's draw on the penalized row (same seed,
     * same RNG state); out-of-range penalties are refused.
     */
    @Test
    void presenceAndFrequencyPenalties() {
        Random r = new Random(3);
        int n = 50;
        float presence = 0.7f, frequency = 0.4f;
        Sampler greedy = new Sampler(0f, 0, 1f, 0L, presence, frequency);
        int[] counts = new int[n];
        for (int step = 0; step < 40; step++) {
            float[] logits = new float[n];
            for (int i = 0; i < n; i++) logits[i] = (float) r.nextGaussian() * 0.3f + (i < 3 ? 2f : 0f); // three favourites
            float[] before = logits.clone();
            int best = -1;
            float bv = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                float v = counts[i] == 0 ? logits[i] : logits[i] - (counts[i] * frequency + presence);
                if (v > bv) { bv = v; best = i; }
            }
            int got = greedy.sample(logits, 0, n);
            assertEquals(best, got, "step " + step);
            assertArrayEquals(before, logits, "the caller's logits are left as they are");
            counts[got]++;
        }
        int distinct = 0;
        for (int c : counts) if (c > 0) distinct++;
        assertTrue(distinct > 3, "the penalties moved greedy decoding off its three favourites: " + distinct);

        Sampler pen = new Sampler(0.9f, 0, 0.95f, 11L, -0.5f, 1.2f), plain = new Sampler(0.9f, 0, 0.95f, 11L);
        int[] c2 = new int[n];
        for (int step = 0; step < 40; step++) {
            float[] logits = new float[n];
            for (int i = 0; i < n; i++) logits[i] = (float) r.nextGaussian();
            float[] shifted = new float[n];
            for (int i = 0; i < n; i++) shifted[i] = c2[i] == 0 ? logits[i] : logits[i] - (c2[i] * 1.2f + -0.5f);
            int want = plain.sample(shifted, 0, n);
            assertEquals(want, pen.sample(logits, 0, n), "sampled step " + step);
            c2[want]++;
        }
        // a logit bias: +100 on token 7 wins every greedy draw; the caller's row unchanged
        Sampler biased = new Sampler(0f, 0, 1f, 0L, 0f, 0f, new LogitBias(new int[] {7, 0}, new float[] {100f, -100f}));
        for (int step = 0; step < 5; step++) {
            float[] logits = new float[n];
            for (int i = 0; i < n; i++) logits[i] = (float) r.nextGaussian();
            logits[0] = 50f;
            float[] before = logits.clone();
            assertEquals(7, biased.sample(logits, 0, n));
            assertArrayEquals(before, logits);
        }
        // the repetition penalty: tokens of the prompt and of the output so far, positive logits divided, negative multiplied
        float rep = 3f;
        int[] promptIds = {4, 9};
        Sampler repeating = new Sampler(0f, 0, 1f, 0L, new LogitAdjust(0f, 0f, rep, LogitBias.NONE), promptIds);
        boolean[] seen = new boolean[n];
        for (int id : promptIds) seen[id] = true;
        for (int step = 0; step < 30; step++) {
            float[] logits = new float[n];
            for (int i = 0; i < n; i++) logits[i] = (float) r.nextGaussian() + (i == 4 || i == 9 ? 1.5f : 0f);
            int best = -1;
            float bv = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                float v = seen[i] ? (logits[i] > 0 ? logits[i] / rep : logits[i] * rep) : logits[i];
                if (v > bv) { bv = v; best = i; }
            }
            assertEquals(best, repeating.sample(logits, 0, n), "repetition step " + step);
            seen[best] = true;
        }
        assertThrows(IllegalArgumentException.class, () -> new LogitAdjust(0f, 0f, 0f, LogitBias.NONE));
        assertThrows(IllegalArgumentException.class, () -> new LogitBias(new int[] {3, 3}, new float[] {1f, 2f}));
        assertThrows(IllegalArgumentException.class, () -> new LogitBias(new int[] {3}, new float[] {100.5f}));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(0f, 0, 1f, 0L, 2.5f, 0f));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(0f, 0, 1f, 0L, 0f, Float.NaN));
    }
}
