package dev.jseek.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Offsets of the saved activations in one flat float arena (llm.c style). Modules allocate their buffers at
 * construction for the largest batch; the activation-gradient arena uses the same offsets, so the gradient of the
 * buffer at offset {@code o} of {@code acts} lives at offset {@code o} of {@code dacts}.
 *
 * <p>Recompute mode (docs/architecture.md §7.1, "recompute all RMSNorms and MLA up-projections in backward"): buffers allocated with
 * {@link #allocRecomputed} are not kept in {@code acts} per layer; every one of them maps, in {@code acts}, into a
 * shared named scratch slot (one per role, sized for the largest user) that backward refills by recomputation. Their
 * gradients still need a per-layer home until the weight part of the backward, so in {@code dacts} they keep their
 * own offset (a different one: {@code {actsOffset, dactsOffset}}). Layout in recompute mode:
 * acts = [persistent P | scratch S], dacts = [persistent P | scratch S | per-layer gradients of recomputed R];
 * persistent buffers have equal offsets in both arenas, and a scratch offset is valid in both (attention's backward
 * accumulates its gradients there). The offsets of the scratch and gradient regions depend on P, so a recompute
 * layout is built twice: a planning pass ({@link #planning()}) that only counts, then {@link #recomputing} with the
 * plan. Without recompute every allocation is persistent and the two arenas have the same size.
 *
 * <p>FP8 layout (report §3.3, "FP8 activations are cached for the backward pass of Linear ops"): buffers allocated with
 * {@link #allocFp8Cached} and {@link #allocFp8Scratch} behave like recomputed and scratch buffers (their float
 * values in {@code acts} are transient: a shared slot), and the values backward needs are kept instead in the
 * {@link ActCache} arenas (E4M3 codes, one byte each, plus one float scale per 1x128
 * tile; {@link #cache}, by the row of {@link Fp8Recipe} the tensor belongs to: E4M3 or 12-bit E5M6 codes, laid out
 * by {@link Fp8CacheLayout}, apart from the float arenas planned here). Outside an FP8 layout those calls give plain
 * persistent float buffers and no cache. An FP8 layout is built in two passes like a recompute one.
 */
public final class ActLayout {
    private final Map<String, int[]> buffers = new LinkedHashMap<>();
    /** Bytes each allocation holds for backward: 4 per persistent float, codes and scales of cache slots. */
    private final Map<String, Long> held = new LinkedHashMap<>();
    private final boolean recompute, fp8;
    private final ActLayout plan;                 // null: plain layout, or the planning pass of a recompute layout
    private final Map<String, Long> slots = new LinkedHashMap<>();
    private long size, gradOnly;
    /** The FP8 cache arenas (null outside an FP8 layout). */
    private final Fp8CacheLayout cache;

    /** A plain layout (no recomputation, no FP8 cache): acts and dacts have the same offsets and size. */
    public ActLayout() { this(false, false, null); }

    private ActLayout(boolean recompute, boolean fp8, ActLayout plan) {
        this.recompute = recompute;
        this.fp8 = fp8;
        this.plan = plan;
        this.cache = fp8 ? new Fp8CacheLayout(held) : null;
    }

    /** First pass of a recompute layout: counts persistent, scratch and gradient-only sizes (offsets returned are 0). */
    public static ActLayout planning() { return planning(true, false); }

    /**
     * First pass of a two-pass layout (recompute, FP8 cache, or both; at least one must be on): counts persistent,
     * scratch and gradient-only sizes (offsets returned are 0).
     */
    public static ActLayout planning(boolean recompute, boolean fp8) {
        if (!recompute && !fp8) throw new IllegalArgumentException("a plain layout needs no planning pass: use new ActLayout()");
        return new ActLayout(recompute, fp8, null);
    }

    /** Second pass of a two-pass layout; the same allocations, in the same order, as the planning pass. */
    public static ActLayout recomputing(ActLayout plan) {
        if (plan == null || !(plan.recompute || plan.fp8) || plan.plan != null) throw new IllegalArgumentException("need a planning layout");
        return new ActLayout(plan.recompute, plan.fp8, plan);
    }

    /** Whether RMSNorm outputs and MLA up-projections are recomputed in backward. */
    public boolean recompute() { return recompute; }

    /** Whether Linear inputs are cached in FP8 (E4M3 / E5M6) for backward ({@link Precision#FP8} models). */
    public boolean fp8() { return fp8; }

    /** Allocates {@code n} persistent floats named {@code name} (for diagnostics); returns the offset (both arenas). */
    public int alloc(String name, long n) {
        if (n < 0) throw new IllegalArgumentException("negative size for activation " + name);
        size += n;
        check(name);
        int off = (int) (size - n);
        buffers.put(name, new int[] {off, (int) n, off});
        held.merge(name, 4 * n, Long::sum);
        return off;
    }

    /** A persistent buffer of {@code rows} rows of {@code cols} ({@link #alloc}). */
    public Act act(String name, long rows, int cols) { int o = alloc(name, rows * cols); return new Act(name, o, o, cols); }

    /** A buffer that backward recomputes ({@link #allocRecomputed}). */
    public Act recomputed(String name, long rows, int cols, String slot) {
        int[] t = allocRecomputed(name, rows * cols, slot);
        return new Act(name, t[0], t[1], cols);
    }

    /** A buffer whose values backward reads from the FP8 cache ({@link #allocFp8Cached}). */
    public Act fp8Cached(String name, long rows, int cols, String slot) {
        int[] t = allocFp8Cached(name, rows * cols, slot);
        return new Act(name, t[0], t[1], cols);
    }

    /** A transient buffer in recompute mode ({@link #allocScratch}). */
    public Act scratch(String name, long rows, int cols, String slot) {
        int o = allocScratch(name, rows * cols, slot);
        return new Act(name, o, o, cols);
    }

    /** A transient buffer in an FP8 layout ({@link #allocFp8Scratch}). */
    public Act fp8Scratch(String name, long rows, int cols, String slot) {
        int o = allocFp8Scratch(name, rows * cols, slot);
        return new Act(name, o, o, cols);
    }

    /**
     * A buffer that backward recomputes: returns {actsOffset, dactsOffset}. In recompute mode the acts offset is the
     * shared scratch slot {@code slot}; the dacts offset is the buffer's own. Without recompute both are one
     * persistent allocation.
     */
    public int[] allocRecomputed(String name, long n, String slot) { return split(name, n, slot, recompute); }

    /**
     * A buffer whose values backward reads from the FP8 cache: returns {actsOffset, dactsOffset}. In an FP8 layout the
     * acts offset is the shared scratch slot {@code slot} (transient float values; -1 when {@code slot} is null: no
     * float copy at all) and the dacts offset the buffer's own gradient; otherwise one persistent allocation.
     */
    public int[] allocFp8Cached(String name, long n, String slot) { return split(name, n, slot, fp8); }

    private int[] split(String name, long n, String slot, boolean transientActs) {
        if (!transientActs) { int o = alloc(name, n); return new int[] {o, o}; }
        if (n < 0) throw new IllegalArgumentException("negative size for activation " + name);
        long d = gradOnly;
        gradOnly += n;
        int a = slot == null ? -1 : slotOffset(name, n, slot);
        check(name);
        int[] r = plan == null ? new int[] {0, 0} : new int[] {a, (int) (plan.size + plan.scratch() + d)};
        buffers.put(name, new int[] {r[0], (int) n, r[1]});
        return r;
    }

    /**
     * A transient buffer: in recompute mode the scratch slot {@code slot} (the same offset valid in acts and dacts);
     * without recompute a persistent allocation.
     */
    public int allocScratch(String name, long n, String slot) { return shared(name, n, slot, recompute); }

    /** As {@link #allocScratch} but transient in an FP8 layout (recomputed or read back from the FP8 cache). */
    public int allocFp8Scratch(String name, long n, String slot) { return shared(name, n, slot, fp8); }

    /**
     * The FP8 cache slot of a [rows, cols] tensor that {@link Fp8Recipe} row {@code r} caches ({@link Fp8CacheLayout}:
     * E4M3 or E5M6 codes in 1x128 tiles, row r's codes at codeOffset + r*cols, its scales at
     * scaleOffset + r*ceil(cols/128)), or null outside an FP8 layout.
     */
    public CacheSlot cache(Fp8Recipe r, String name, long rows, int cols) { return fp8 ? cache.slot(r, name, rows, cols) : null; }


    /** The FP8 cache layout (null outside an FP8 layout). */
    public Fp8CacheLayout fp8Cache() { return cache; }

    /** Bytes of E4M3 codes in the FP8 cache. */
    public long cacheCodes() { return fp8 ? cache.codes() : 0; }

    /** E5M6 codes (shorts) in the FP8 cache. */
    public long cacheWide() { return fp8 ? cache.wide() : 0; }

    /** Float scales in the FP8 cache. */
    public long cacheScales() { return fp8 ? cache.scales() : 0; }

    /**
     * Bytes that the buffers named {@code prefix}... hold for backward: their persistent floats and FP8 cache slots
     * (shared scratch slots, which no one buffer owns, are not counted). E.g. "model.layers.3." for one layer.
     */
    public long savedBytes(String prefix) {
        long b = 0;
        for (Map.Entry<String, Long> e : held.entrySet()) if (e.getKey().startsWith(prefix)) b += e.getValue();
        return b;
    }

    /** Bytes held for backward: the acts arena (4 per float) plus the FP8 cache (codes, E5M6 shorts, scales). */
    public long savedBytes() { return 4L * actsSize() + (fp8 ? cache.bytes() : 0); }

    private int shared(String name, long n, String slot, boolean transientActs) {
        if (!transientActs) return alloc(name, n);
        if (n < 0) throw new IllegalArgumentException("negative size for activation " + name);
        int a = slotOffset(name, n, slot);
        check(name);
        buffers.put(name, new int[] {a, (int) n, a});
        return a;
    }

    private int slotOffset(String name, long n, String slot) {
        slots.merge(slot, n, Math::max);
        if (plan == null) return 0;
        long off = plan.size;
        for (Map.Entry<String, Long> e : plan.slots.entrySet()) {
            if (e.getKey().equals(slot)) {
                if (n > e.getValue()) throw new IllegalStateException("scratch slot " + slot + " planned smaller than " + name);
                return (int) off;
            }
            off += e.getValue();
        }
        throw new IllegalStateException("scratch slot " + slot + " of " + name + " missing from the plan");
    }

    private long scratch() {
        long s = 0;
        for (long v : slots.values()) s += v;
        return s;
    }

    private void check(String name) {
        long total = size + scratch() + gradOnly;
        if (total > Integer.MAX_VALUE - 16)
            throw new IllegalArgumentException("activation arena exceeds 2^31 floats at " + name
                    + " (" + total + " elements); reduce batch size or sequence length");
    }

    /** After the second pass: throws if it did not repeat the planning pass exactly. */
    public void checkAgainstPlan() {
        if (plan != null && (size != plan.size || gradOnly != plan.gradOnly || !slots.equals(plan.slots)
                || (fp8 && !cache.sameSizes(plan.cache))))
            throw new IllegalStateException("recompute activation layout differs from its plan");
    }

    /** Floats of the activation arena {@code acts}: persistent buffers plus the shared scratch slots. */
    public int actsSize() { return (int) (size + scratch()); }

    /** Floats of the activation-gradient arena {@code dacts} (adds the per-layer gradients of recomputed buffers). */
    public int dactsSize() { return (int) (size + scratch() + gradOnly); }

    /** Same as {@link #actsSize()}. */
    public int size() { return actsSize(); }

    /** Floats of the shared scratch slots (0 without recompute). */
    public long scratchSize() { return scratch(); }

    /** name -> {actsOffset, length, dactsOffset}, in allocation order. */
    public Map<String, int[]> buffers() { return buffers; }
}
