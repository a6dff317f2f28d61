package dev.jseek.infer;

/**
 * Counters of a speculative generation ({@link SpeculativeGenerator}): {@code drafted} MTP draft tokens proposed,
 * {@code accepted} of them equal to the token the main model then chose (each accepted draft is one extra token
 * from the same main forward), {@code forwards} main-model decode forwards run (1 or 2 query tokens each).
 */
public record DraftStats(int drafted, int accepted, int forwards) {
    /** accepted / drafted (docs/architecture.md §6.3: the report's 85-90% for the second token); NaN when nothing was drafted. */
    public double acceptanceRate() { return drafted == 0 ? Double.NaN : (double) accepted / drafted; }
}
