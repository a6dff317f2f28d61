package dev.jseek.infer;

import java.util.Arrays;

/**
 * Counters of a speculative generation ({@link SpeculativeGenerator}): {@code drafted} MTP draft tokens proposed,
 * {@code accepted} of them equal to the token the main model then chose (each accepted draft is one extra token
 * from the same main forward), {@code forwards} main-model decode forwards run (1 to k + 1 query tokens each).
 * Per draft position j (0-based: the j+1-th draft of a step): {@code draftedAt[j]} steps drafted it,
 * {@code reachedAt[j]} of those had drafts 1..j all accepted (so draft j+1 could count), {@code acceptedAt[j]} of
 * those accepted it too.
 */
public record DraftStats(int drafted, int accepted, int forwards, int[] draftedAt, int[] reachedAt, int[] acceptedAt) {
    /** One draft per step: the per-position counts are the totals. */
    public DraftStats(int drafted, int accepted, int forwards) {
        this(drafted, accepted, forwards, new int[] {drafted}, new int[] {drafted}, new int[] {accepted});
    }

    public DraftStats {
        draftedAt = draftedAt.clone();
        reachedAt = reachedAt.clone();
        acceptedAt = acceptedAt.clone();
        if (draftedAt.length != reachedAt.length || draftedAt.length != acceptedAt.length)
            throw new IllegalArgumentException("per-position counts of unequal lengths");
    }

    /** accepted / drafted (docs/architecture.md §6.3: the report's 85-90% for the second token); NaN when nothing was drafted. */
    public double acceptanceRate() { return drafted == 0 ? Double.NaN : (double) accepted / drafted; }

    /** Draft positions counted (the most drafts per step). */
    public int positions() { return draftedAt.length; }

    /** acceptedAt[j] / reachedAt[j]: the chance that draft j+1 is right given drafts 1..j were; NaN when never reached. */
    public double conditionalRate(int j) { return reachedAt[j] == 0 ? Double.NaN : (double) acceptedAt[j] / reachedAt[j]; }

    @Override public int[] draftedAt() { return draftedAt.clone(); }
    @Override public int[] reachedAt() { return reachedAt.clone(); }
    @Override public int[] acceptedAt() { return acceptedAt.clone(); }

    @Override public boolean equals(Object o) {
        return o instanceof DraftStats d && d.drafted == drafted && d.accepted == accepted && d.forwards == forwards
                && Arrays.equals(d.draftedAt, draftedAt) && Arrays.equals(d.reachedAt, reachedAt) && Arrays.equals(d.acceptedAt, acceptedAt);
    }

    @Override public int hashCode() {
        return 31 * (31 * (31 * drafted + accepted) + forwards) + 31 * Arrays.hashCode(draftedAt) + Arrays.hashCode(acceptedAt);
    }

    @Override public String toString() {
        return "DraftStats[drafted=" + drafted + ", accepted=" + accepted + ", forwards=" + forwards + ", draftedAt="
                + Arrays.toString(draftedAt) + ", reachedAt=" + Arrays.toString(reachedAt) + ", acceptedAt=" + Arrays.toString(acceptedAt) + "]";
    }

    /** Counts the steps of one generation of up to {@code k} drafts per step. */
    static final class Counter {
        private final int[] draftedAt, reachedAt, acceptedAt;
        private int drafted, accepted, forwards;

        Counter(int k) {
            draftedAt = new int[k];
            reachedAt = new int[k];
            acceptedAt = new int[k];
        }

        /** A verify forward after {@code made} drafts of which the first {@code right} equalled the emitted tokens. */
        void step(int made, int right) {
            forwards++;
            drafted += made;
            accepted += right;
            for (int j = 0; j < made; j++) {
                draftedAt[j]++;
                if (j <= right) reachedAt[j]++;
                if (j < right) acceptedAt[j]++;
            }
        }

        DraftStats stats() { return new DraftStats(drafted, accepted, forwards, draftedAt, reachedAt, acceptedAt); }
    }
}
