package dev.jseek.infer;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from a row of logits: greedy (temperature 0), or sampling at a temperature from the
 * top-k and then top-p (nucleus) set, with a seeded RNG so a seed fixes the output.
 *
 * <p>Order of operations (as HF's generate and most engines): logits / T, keep the k largest (k = 0: all), softmax
 * over the kept ones, keep the smallest prefix (by descending probability) whose mass reaches p (at least one
 * token), renormalize, draw. Ties in ordering are broken by the lower token id. Buffers are reused: no per-token
 * allocation after the first call.
 *
 * <p>A {@link LogitAdjust} (repetition, frequency and presence penalties, logit bias) comes first, on a copy of the
 * row: the caller's logits, which log-probabilities are reported from, are left as they are. A sampler is one
 * sequence's: each call of {@link #sample} is taken as the token that sequence emits (every decoder draws once per
 * emitted token, in order), and the repetition penalty also counts the prompt given at construction.
 */
public final class Sampler {
    private final float temperature;
    private final int topK;
    private final float topP;
    private final SplittableRandom rng;
    private final LogitAdjust adjust;
    private final int[] prompt;
    private long[] keys = new long[0];
    private double[] probs = new double[0];
    private int[] counts = new int[0];
    private boolean[] seen = new boolean[0];
    private float[] penalized = new float[0];

    /**
     * @param temperature 0 (or less) for greedy decoding
     * @param topK 0 for no top-k cut
     * @param topP 1 for no nucleus cut; must be in (0, 1]
     */
    public Sampler(float temperature, int topK, float topP, long seed) { this(temperature, topK, topP, seed, LogitAdjust.NONE, null); }

    /** As {@link #Sampler(float, int, float, long)} with OpenAI's presence and frequency penalties (each in [-2, 2]). */
    public Sampler(float temperature, int topK, float topP, long seed, float presencePenalty, float frequencyPenalty) {
        this(temperature, topK, topP, seed, LogitAdjust.penalties(presencePenalty, frequencyPenalty), null);
    }

    /** As {@link #Sampler(float, int, float, long, float, float)} with OpenAI's {@code logit_bias}. */
    public Sampler(float temperature, int topK, float topP, long seed, float presencePenalty, float frequencyPenalty, LogitBias logitBias) {
        this(temperature, topK, topP, seed, LogitAdjust.penalties(presencePenalty, frequencyPenalty).withBias(logitBias), null);
    }

    /**
     * A sampler that adjusts each row first ({@link LogitAdjust}); {@code prompt} (may be null: none) holds the tokens
     * the repetition penalty counts as seen before the first draw.
     */
    public Sampler(float temperature, int topK, float topP, long seed, LogitAdjust adjust, int[] prompt) {
        this.adjust = adjust == null ? LogitAdjust.NONE : adjust;
        this.prompt = prompt == null ? new int[0] : prompt.clone();
        if (Float.isNaN(temperature)) throw new IllegalArgumentException("temperature is NaN");
        if (topK < 0) throw new IllegalArgumentException("top-k must be >= 0, got " + topK);
        if (!(topP > 0f && topP <= 1f)) throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
        this.rng = new SplittableRandom(seed);
    }

    public static Sampler greedy() { return new Sampler(0f, 0, 1f, 0L); }

    public boolean isGreedy() { return temperature <= 0f; }

    /** The temperature (0 or less: greedy). */
    float temperature() { return temperature; }

    /** Index of the largest logit in logits[off, off+n); the lowest index among equal maxima; NaN never wins. */
    public static int argmax(float[] logits, int off, int n) {
        int best = -1;
        float bv = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            float v = logits[off + i];
            if (v > bv || (best < 0 && !Float.isNaN(v))) { bv = v; best = i; }
        }
        if (best < 0) throw new IllegalStateException("all logits are NaN");
        return best;
    }

    /** Chooses a token id from logits[off, off+n) (after the {@link LogitAdjust}: see the class doc). */
    public int sample(float[] logits, int off, int n) {
        if (adjust.isNone()) return draw(logits, off, n);
        if (counts.length < n) {
            counts = java.util.Arrays.copyOf(counts, n);
            seen = java.util.Arrays.copyOf(seen, n);
            for (int id : prompt) if (id >= 0 && id < n) seen[id] = true;
            penalized = new float[n];
        }
        float frequency = adjust.frequency(), presence = adjust.presence(), rep = adjust.repetition();
        for (int i = 0; i < n; i++) {
            float v = logits[off + i];
            if (rep != 1f && seen[i]) v = v > 0 ? v / rep : v * rep;
            int c = counts[i];
            penalized[i] = c == 0 ? v : v - (c * frequency + presence);
        }
        int[] ids = adjust.bias().ids();
        float[] vs = adjust.bias().values();
        for (int j = 0; j < ids.length; j++) if (ids[j] < n) penalized[ids[j]] += vs[j];
        int t = draw(penalized, 0, n);
        counts[t]++;
        seen[t] = true;
        return t;
    }

    private int draw(float[] logits, int off, int n) {
        if (isGreedy()) return argmax(logits, off, n);
        int k = (topK == 0 || topK > n) ? n : topK;
        if (keys.length < n) { keys = new long[n]; probs = new double[n]; }
        // Sort keys: descending logit, ascending id. Map the float to an order-preserving int, flip for descending.
        for (int i = 0; i < n; i++) {
            float v = logits[off + i];
            int bits = Float.isNaN(v) ? sortable(Float.NEGATIVE_INFINITY) : sortable(v);
            keys[i] = ((long) ~bits << 32) | i; // ~bits: larger logits sort first; low word: the id
        }
        sortPrefix(keys, n, k);
        double invT = 1.0 / temperature;
        double max = logits[off + (int) keys[0]];
        double sum = 0;
        for (int j = 0; j < k; j++) {
            double p = Math.exp((logits[off + (int) keys[j]] - max) * invT);
            probs[j] = p;
            sum += p;
        }
        int kept = k;
        if (topP < 1f) {
            double mass = 0, target = topP * sum;
            for (int j = 0; j < k; j++) {
                mass += probs[j];
                if (mass >= target) { kept = j + 1; break; }
            }
            sum = 0;
            for (int j = 0; j < kept; j++) sum += probs[j];
        }
        double r = rng.nextDouble() * sum;
        for (int j = 0; j < kept; j++) {
            r -= probs[j];
            if (r < 0) return (int) keys[j];
        }
        return (int) keys[kept - 1];
    }

    private static int sortable(float v) {
        int b = Float.floatToIntBits(v == 0f ? 0f : v);
        return b >= 0 ? b : b ^ 0x7FFF_FFFF; // monotone signed-int image of the float
    }

    /** Puts the k smallest keys, sorted, into keys[0, k). Full sort when k is a large share of n. */
    private static void sortPrefix(long[] keys, int n, int k) {
        if (k >= n / 4) { Arrays.sort(keys, 0, n); return; }
        // quickselect the k-th, then sort the prefix
        int lo = 0, hi = n - 1;
        while (lo < hi) {
            long pivot = keys[(lo + hi) >>> 1];
            int i = lo, j = hi;
            while (i <= j) {
                while (keys[i] < pivot) i++;
                while (keys[j] > pivot) j--;
                if (i <= j) { long t = keys[i]; keys[i] = keys[j]; keys[j] = t; i++; j--; }
            }
            if (k - 1 <= j) hi = j; else if (k - 1 >= i) lo = i; else break;
        }
        Arrays.sort(keys, 0, k);
    }
}
