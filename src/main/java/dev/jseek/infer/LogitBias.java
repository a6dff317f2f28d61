package dev.jseek.infer;

import java.util.Arrays;

/**
 * OpenAI's {@code logit_bias}: values added to the logits of some token ids before sampling ({@link Sampler}), each
 * in [-100, 100] (-100 in effect bans a token, +100 all but forces it).
 *
 * @param ids    token ids, each at most once
 * @param values the bias of ids[i]
 */
public record LogitBias(int[] ids, float[] values) {
    /** No bias. */
    public static final LogitBias NONE = new LogitBias(new int[0], new float[0]);

    /** The most entries one bias may hold (OpenAI's limit is 300). */
    public static final int MAX_ENTRIES = 1024;

    public LogitBias {
        ids = ids.clone();
        values = values.clone();
        if (ids.length != values.length) throw new IllegalArgumentException(ids.length + " ids but " + values.length + " values");
        if (ids.length > MAX_ENTRIES) throw new IllegalArgumentException("a logit bias of " + ids.length + " tokens; at most " + MAX_ENTRIES);
        int[] sorted = ids.clone();
        Arrays.sort(sorted);
        for (int i = 0; i < sorted.length; i++) {
            if (sorted[i] < 0) throw new IllegalArgumentException("token id " + sorted[i] + " in a logit bias is negative");
            if (i > 0 && sorted[i] == sorted[i - 1]) throw new IllegalArgumentException("token id " + sorted[i] + " is biased twice");
        }
        for (float v : values)
            if (!(v >= -100f && v <= 100f)) throw new IllegalArgumentException("a logit bias must be in [-100, 100], got " + v);
    }

    public boolean isEmpty() { return ids.length == 0; }

    /** The largest biased id, or -1. */
    public int maxId() {
        int m = -1;
        for (int id : ids) m = Math.max(m, id);
        return m;
    }

    @Override public boolean equals(Object o) {
        return o instanceof LogitBias b && Arrays.equals(ids, b.ids) && Arrays.equals(values, b.values);
    }

    @Override public int hashCode() { return 31 * Arrays.hashCode(ids) + Arrays.hashCode(values); }

    @Override public String toString() { return "LogitBias" + Arrays.toString(ids) + Arrays.toString(values); }
}
