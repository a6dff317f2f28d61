package dev.jseek.train;

/**
 * The four float arenas of a training model (llm.c style): {@code params} and {@code grads} laid out by a
 * {@link ParamLayout}; {@code acts} (saved forward activations) and {@code dacts} (their gradients) laid out by an
 * {@link ActLayout} (dacts is larger than acts in recompute mode). Backward passes accumulate (+=) into {@code dacts} and {@code grads}; callers zero them.
 * An FP8 layout adds the {@link ActCache} ({@code cache}; null otherwise).
 */
public final class Arenas {
    public final float[] params, grads, acts, dacts;
    public final ActCache cache;
    /** Document boundaries of the current micro-batch when samples are packed; null = plain causal. */
    public DocMask docs;

    public Arenas(ParamLayout p, ActLayout a) {
        this(new float[p.size()], new float[p.size()], new float[a.actsSize()], new float[a.dactsSize()], a.fp8() ? new ActCache(a) : null);
    }

    public Arenas(float[] params, float[] grads, float[] acts, float[] dacts) { this(params, grads, acts, dacts, null); }

    public Arenas(float[] params, float[] grads, float[] acts, float[] dacts, ActCache cache) {
        this.params = params;
        this.grads = grads;
        this.acts = acts;
        this.dacts = dacts;
        this.cache = cache;
    }
}
