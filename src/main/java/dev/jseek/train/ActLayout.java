package dev.jseek.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Offsets of the saved activations in one flat float arena (llm.c style). Modules allocate their buffers at
 * construction for the largest batch; the activation-gradient arena uses the same offsets, so the gradient of the
 * buffer at offset {@code o} of {@code acts} lives at offset {@code o} of {@code dacts}.
 *
 * <p>Recompute mode (spec F.1, "recompute all RMSNorms and MLA up-projections in backward"): buffers allocated with
 * {@link #allocRecomputed} are not kept in {@code acts} per layer; every one of them maps, in {@code acts}, into a
 * shared named scratch slot (one per role, sized for the largest user) that backward refills by recomputation. Their
 * gradients still need a per-layer home until the weight part of the backward, so in {@code dacts} they keep their
 * own offset (a different one: {@code {actsOffset, dactsOffset}}). Layout in recompute mode:
 * acts = [persistent P | scratch S], dacts = [persistent P | scratch S | per-layer gradients of recomputed R];
 * persistent buffers have equal offsets in both arenas, and a scratch offset is valid in both (attention's backward
 * accumulates its gradients there). The offsets of the scratch and gradient regions depend on P, so a recompute
 * layout is built twice: a planning pass ({@link #planning()}) that only counts, then {@link #recomputing} with the
 * plan. Without recompute every allocation is persistent and the two arenas have the same size.
 */
public final class ActLayout {
    private final Map<String, int[]> buffers = new LinkedHashMap<>();
    private final boolean recompute;
    private final ActLayout plan;                 // null: plain layout, or the planning pass of a recompute layout
    private final Map<String, Long> slots = new LinkedHashMap<>();
    private long size, gradOnly;

    /** A plain layout (no recomputation): acts and dacts have the same offsets and size. */
    public ActLayout() { this(false, null); }

    private ActLayout(boolean recompute, ActLayout plan) {
        this.recompute = recompute;
        this.plan = plan;
    }

    /** First pass of a recompute layout: counts persistent, scratch and gradient-only sizes (offsets returned are 0). */
    public static ActLayout planning() { return new ActLayout(true, null); }

    /** Second pass of a recompute layout; the same allocations, in the same order, as the planning pass. */
    public static ActLayout recomputing(ActLayout plan) {
        if (plan == null || !plan.recompute || plan.plan != null) throw new IllegalArgumentException("need a planning layout");
        return new ActLayout(true, plan);
    }

    /** Whether RMSNorm outputs and MLA up-projections are recomputed in backward. */
    public boolean recompute() { return recompute; }

    /** Allocates {@code n} persistent floats named {@code name} (for diagnostics); returns the offset (both arenas). */
    public int alloc(String name, long n) {
        if (n < 0) throw new IllegalArgumentException("negative size for activation " + name);
        size += n;
        check(name);
        int off = (int) (size - n);
        buffers.put(name, new int[] {off, (int) n, off});
        return off;
    }

    /**
     * A buffer that backward recomputes: returns {actsOffset, dactsOffset}. In recompute mode the acts offset is the
     * shared scratch slot {@code slot}; the dacts offset is the buffer's own. Without recompute both are one
     * persistent allocation.
     */
    public int[] allocRecomputed(String name, long n, String slot) {
        if (!recompute) { int o = alloc(name, n); return new int[] {o, o}; }
        if (n < 0) throw new IllegalArgumentException("negative size for activation " + name);
        long d = gradOnly;
        gradOnly += n;
        int a = slotOffset(name, n, slot);
        check(name);
        int[] r = plan == null ? new int[] {0, 0} : new int[] {a, (int) (plan.size + plan.scratch() + d)};
        buffers.put(name, new int[] {r[0], (int) n, r[1]});
        return r;
    }

    /**
     * A transient buffer: in recompute mode the scratch slot {@code slot} (the same offset valid in acts and dacts);
     * without recompute a persistent allocation.
     */
    public int allocScratch(String name, long n, String slot) {
        if (!recompute) return alloc(name, n);
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
        if (plan != null && (size != plan.size || gradOnly != plan.gradOnly || !slots.equals(plan.slots)))
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
