package dev.jseek.train;

import java.math.BigInteger;

/**
 * The batch-size schedule of docs/architecture.md §7.1 (3072 -> 15360 sequences over the first 469B tokens, then 15360): the number
 * of sequences in the step that starts after {@code tokensSeen} tokens is
 * {@code start + floor((final - start) * min(tokensSeen, rampTokens) / rampTokens)}, rounded down to a multiple
 * of {@code granularity} (the micro-batch rows; a step is a whole number of micro-batches). Exact integer
 * arithmetic. The report says only "increased gradually"; a linear ramp is this implementation's choice.
 * A ramp is evaluated at the tokens seen BEFORE the step (the batch size must be known before it is fetched).
 */
public record BatchRamp(int start, int end, long rampTokens, int granularity) {
    public BatchRamp {
        if (granularity < 1) throw new IllegalArgumentException("batch granularity (micro-batch rows) must be >= 1, got " + granularity);
        if (start < granularity || start % granularity != 0)
            throw new IllegalArgumentException("batch ramp start " + start + " must be a positive multiple of the micro-batch rows " + granularity);
        if (end < start || end % granularity != 0)
            throw new IllegalArgumentException("batch ramp final size " + end + " must be >= start " + start + " and a multiple of the micro-batch rows " + granularity);
        if (rampTokens < 0) throw new IllegalArgumentException("batch ramp tokens must be >= 0, got " + rampTokens);
    }

    /** A fixed batch of {@code sequences} (a multiple of {@code granularity}). */
    public static BatchRamp fixed(int sequences, int granularity) { return new BatchRamp(sequences, sequences, 0, granularity); }

    /** The report's ramp: 3072 -> 15360 sequences over 469B tokens, in micro-batches of {@code granularity} rows. */
    public static BatchRamp deepseekV3(int granularity) { return new BatchRamp(3072, 15360, 469_000_000_000L, granularity); }

    /** Sequences in the step that starts after {@code tokensSeen} tokens. */
    public int sequences(long tokensSeen) {
        if (tokensSeen < 0) throw new IllegalArgumentException("tokens seen must be >= 0, got " + tokensSeen);
        if (rampTokens == 0 || tokensSeen >= rampTokens) return end;
        long inc = BigInteger.valueOf(end - start).multiply(BigInteger.valueOf(tokensSeen))
                .divide(BigInteger.valueOf(rampTokens)).longValueExact();
        long s = start + inc;
        return (int) (s - s % granularity);
    }

    /** Micro-batches in the step that starts after {@code tokensSeen} tokens. */
    public int microBatches(long tokensSeen) { return sequences(tokensSeen) / granularity; }
}
