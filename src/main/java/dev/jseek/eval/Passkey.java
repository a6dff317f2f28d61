package dev.jseek.eval;

import dev.jseek.infer.Generator;
import dev.jseek.infer.Sampler;
import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.tokenizer.Tokenizer;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Passkey retrieval (Needle-in-a-Haystack, report §4.3): a random 5-digit key is stated once inside filler text,
 * and the model must repeat it at the end. A prompt of exactly {@code length} tokens is built in token space:
 * <pre>
 *   [eos] intro | filler ... | needle | filler ... | question
 * </pre>
 * The filler is the tokenization of one fixed sentence group, tiled; the needle is inserted at the boundary of
 * filler unit k = round(depth * floor(F / u)) (F filler tokens in all, u tokens per unit), so it starts at token
 * {@code 1 + intro + k u}, and the filler is cut at the end to make the length exact. The answer is correct when the
 * first run of digits in the model's greedy continuation (up to 8 tokens) is the key. The key of trial t at
 * (length, depth) is a pure function of (seed, length, depth index, t).
 */
public final class Passkey {
    private Passkey() {}

    static final String INTRO = "There is an important info hidden inside a lot of irrelevant text. Find it and memorize it. "
            + "I will quiz you about the important information there.\n";
    static final String FILLER = " The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";
    static final String QUESTION = "\nWhat is the pass key? The pass key is";

    static String needle(int key) { return " The pass key is " + key + ". Remember it. " + key + " is the pass key."; }

    /** One prompt: its tokens, the needle's first token index and length, and the key. */
    public record Prompt(int[] tokens, int needleStart, int needleLength, int key) {}

    /** The prompt of {@code key} at {@code depth} in [0, 1] with exactly {@code length} tokens. */
    public static Prompt build(Tokenizer tok, int length, double depth, int key) {
        if (!(depth >= 0 && depth <= 1)) throw new IllegalArgumentException("needle depth " + depth + " not in [0, 1]");
        int[] intro = tok.encode(INTRO), unit = tok.encode(FILLER), nd = tok.encode(needle(key)), q = tok.encode(QUESTION);
        int fixed = 1 + intro.length + nd.length + q.length;
        int filler = length - fixed;
        if (filler < unit.length)
            throw new IllegalArgumentException("passkey length " + length + " is too short: the fixed parts take " + fixed + " tokens and one filler unit " + unit.length);
        int k = (int) Math.round(depth * (filler / unit.length));
        int[] t = new int[length];
        int p = 0;
        t[p++] = tok.eosId();
        System.arraycopy(intro, 0, t, p, intro.length);
        p += intro.length;
        int needleStart = p + k * unit.length;
        for (int i = 0; i < filler; i++) {
            if (p == needleStart) { System.arraycopy(nd, 0, t, p, nd.length); p += nd.length; }
            t[p++] = unit[i % unit.length];
        }
        if (p == needleStart) { System.arraycopy(nd, 0, t, p, nd.length); p += nd.length; }
        System.arraycopy(q, 0, t, p, q.length);
        return new Prompt(t, needleStart, nd.length, key);
    }

    /** The key of trial {@code trial} at grid cell (length, depth index). */
    public static int key(long seed, int length, int depthIndex, int trial) {
        long s = seed * 0x9E3779B97F4A7C15L ^ (long) length * 0xC2B2AE3D27D4EB4FL ^ (long) depthIndex * 0x165667B19E3779F9L ^ trial;
        return 10_000 + new SplittableRandom(s).nextInt(90_000);
    }

    /**
     * Training text for retrieval (documents for an extension stage's data mix, e.g. {@code jsonl:} in
     * {@code data prepare}): the prompt's layout in text, {@code units} filler units with the needle after unit k
     * (uniform in 0..units), then the question and the answer " K.". Keys and depths come from
     * {@code SplittableRandom(seed)} streams unrelated to {@link #key}, whose seeds evaluation uses.
     */
    public static String trainingText(int units, SplittableRandom r) {
        if (units < 1) throw new IllegalArgumentException("passkey document needs at least one filler unit, got " + units);
        int key = 10_000 + r.nextInt(90_000), k = r.nextInt(units + 1);
        StringBuilder sb = new StringBuilder(INTRO);
        for (int i = 0; i <= units; i++) {
            if (i == k) sb.append(needle(key));
            if (i < units) sb.append(FILLER);
        }
        return sb.append(QUESTION).append(' ').append(key).append('.').toString();
    }

    /** The first run of ASCII digits in {@code s}, or "" when none. */
    static String firstDigits(String s) {
        int i = 0;
        while (i < s.length() && !Character.isDigit(s.charAt(i))) i++;
        int j = i;
        while (j < s.length() && s.charAt(j) >= '0' && s.charAt(j) <= '9') j++;
        return s.substring(i, j);
    }

    /** Accuracy grid [lengths][depths]: NaN where the length does not fit the model's positions. */
    public record Grid(List<Integer> lengths, List<Double> depths, int trials, double[][] accuracy) {}

    public static Grid run(DeepSeekV3 m, Tokenizer tok, List<Integer> lengths, List<Double> depths, int trials, long seed) {
        if (trials < 1) throw new IllegalArgumentException("passkey trials must be >= 1, got " + trials);
        Generator g = new Generator(m, AttnMode.ABSORB);
        int maxNew = 8;
        double[][] acc = new double[lengths.size()][depths.size()];
        for (int li = 0; li < lengths.size(); li++) {
            int L = lengths.get(li);
            boolean fits = L + maxNew <= m.config.maxPositionEmbeddings();
            for (int di = 0; di < depths.size(); di++) {
                if (!fits) { acc[li][di] = Double.NaN; continue; }
                int ok = 0;
                for (int t = 0; t < trials; t++) {
                    Prompt p = build(tok, L, depths.get(di), key(seed, L, di, t));
                    int[] out = g.generate(p.tokens(), maxNew, Sampler.greedy(), new int[] {tok.eosId()}, null).tokens();
                    if (firstDigits(tok.decode(out, true)).equals(Integer.toString(p.key()))) ok++;
                }
                acc[li][di] = (double) ok / trials;
            }
        }
        return new Grid(List.copyOf(lengths), List.copyOf(depths), trials, acc);
    }
}
