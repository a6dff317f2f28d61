package dev.jseek.tokenizer;

/**
 * Prompt ids built from text: a text prompt after a start token (BOS for chat-trained models, EOS for a model
 * pre-trained on EOS-separated documents), and the fill-in-the-middle prompt in PSM order (report §3.1:
 * {@code <｜fim▁begin｜>prefix<｜fim▁hole｜>suffix<｜fim▁end｜>}, after which the model writes the middle).
 */
public final class Prompts {
    private Prompts() {}

    /** {@code first} followed by {@code ids} (a new array). */
    public static int[] startingWith(int first, int[] ids) {
        int[] r = new int[ids.length + 1];
        r[0] = first;
        System.arraycopy(ids, 0, r, 1, ids.length);
        return r;
    }

    /** True when the tokenizer has the three fill-in-the-middle tokens. */
    public static boolean hasFim(Tokenizer t) { return t.fimBeginId() >= 0 && t.fimHoleId() >= 0 && t.fimEndId() >= 0; }

    /**
     * The PSM prompt fim_begin prefix fim_hole suffix fim_end (no BOS: FIM documents start that way in the data).
     *
     * @throws IllegalArgumentException when the tokenizer has no fill-in-the-middle tokens
     */
    public static int[] fim(Tokenizer t, String prefix, String suffix) {
        if (!hasFim(t)) throw new IllegalArgumentException(t.source() + " has no fill-in-the-middle tokens");
        int[] p = t.encode(prefix), s = t.encode(suffix);
        int[] r = new int[p.length + s.length + 3];
        r[0] = t.fimBeginId();
        System.arraycopy(p, 0, r, 1, p.length);
        r[p.length + 1] = t.fimHoleId();
        System.arraycopy(s, 0, r, p.length + 2, s.length);
        r[r.length - 1] = t.fimEndId();
        return r;
    }
}
