package dev.jseek.tokenizer;

/**
 * The fill-in-the-middle prompt of pre-training written out by hand, the oracle for {@link Prompts#fim} and everything
 * that uses it: {@code <｜fim▁begin｜>} prefix ids {@code <｜fim▁hole｜>} suffix ids {@code <｜fim▁end｜>}, no start token.
 */
public final class PsmIds {
    private PsmIds() {}

    public static int[] of(Tokenizer t, String prefix, String suffix) {
        int[] p = t.encode(prefix, false), q = t.encode(suffix, false);
        int[] ids = new int[p.length + q.length + 3];
        ids[0] = t.fimBeginId();
        System.arraycopy(p, 0, ids, 1, p.length);
        ids[p.length + 1] = t.fimHoleId();
        System.arraycopy(q, 0, ids, p.length + 2, q.length);
        ids[ids.length - 1] = t.fimEndId();
        return ids;
    }
}
