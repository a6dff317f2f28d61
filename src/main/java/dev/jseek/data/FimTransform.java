package dev.jseek.data;

import java.util.SplittableRandom;

/**
 * Turns one document into its pre-training token sequence (docs/architecture.md §7.2): with probability {@code fimRate} the
 * Fill-in-the-Middle PSM layout
 * <pre>
 *   [fim_begin] + enc(prefix) + [fim_hole] + enc(suffix) + [fim_end] + enc(middle) + [eos]
 * </pre>
 * (DeepSeek-V3 ids: fim_begin 128801, fim_hole 128800, fim_end 128802, eos 1), otherwise {@code enc(doc) + [eos]}.
 * The two cut points are uniform over the code-point boundaries {@code 0..n} of the text (n code points; never
 * inside a surrogate pair), sorted, so prefix = [0, a), middle = [a, b), suffix = [b, n) and any part may be
 * empty. Every random choice comes from a {@link SplittableRandom} seeded by {@code combine(seed, documentIndex)}:
 * the result depends only on (seed, document index, text), never on thread scheduling.
 */
public final class FimTransform {
    private final TextEncoder encoder;
    private final double fimRate;
    private final long seed;

    public FimTransform(TextEncoder encoder, double fimRate, long seed) {
        if (!(fimRate >= 0 && fimRate <= 1)) throw new IllegalArgumentException("fim rate " + fimRate + " not in [0, 1]");
        this.encoder = encoder;
        this.fimRate = fimRate;
        this.seed = seed;
    }

    /** The FIM decision and cut points for a document: {@code fim == false} means plain. Offsets are in chars. */
    public record Plan(boolean fim, int prefixEnd, int middleEnd) {}

    /** The plan for document {@code documentIndex} with this text (pure function of seed, index and text). */
    public Plan plan(long documentIndex, String text) {
        SplittableRandom rng = new SplittableRandom(Hashing.combine(seed, documentIndex));
        boolean fim = rng.nextDouble() < fimRate;
        if (!fim) return new Plan(false, 0, 0);
        int n = text.codePointCount(0, text.length());
        int a = rng.nextInt(n + 1), b = rng.nextInt(n + 1);
        if (a > b) {
            int t = a;
            a = b;
            b = t;
        }
        int ca = text.offsetByCodePoints(0, a);
        int cb = text.offsetByCodePoints(ca, b - a);
        return new Plan(true, ca, cb);
    }

    /** The token sequence of document {@code documentIndex}: FIM (PSM) or plain, always ending with EOS. */
    public int[] apply(long documentIndex, String text) {
        Plan p = plan(documentIndex, text);
        if (!p.fim()) {
            int[] body = encoder.encode(text);
            int[] out = java.util.Arrays.copyOf(body, body.length + 1);
            out[body.length] = encoder.eosId();
            return out;
        }
        int[] pre = encoder.encode(text.substring(0, p.prefixEnd()));
        int[] mid = encoder.encode(text.substring(p.prefixEnd(), p.middleEnd()));
        int[] suf = encoder.encode(text.substring(p.middleEnd()));
        int[] out = new int[pre.length + suf.length + mid.length + 4];
        int k = 0;
        out[k++] = encoder.fimBeginId();
        System.arraycopy(pre, 0, out, k, pre.length);
        k += pre.length;
        out[k++] = encoder.fimHoleId();
        System.arraycopy(suf, 0, out, k, suf.length);
        k += suf.length;
        out[k++] = encoder.fimEndId();
        System.arraycopy(mid, 0, out, k, mid.length);
        k += mid.length;
        out[k] = encoder.eosId();
        return out;
    }
}
