package dev.jseek.posttrain;

import java.util.Arrays;

/**
 * One tokenized SFT conversation (docs/architecture.md §7.5): its token ids and, per token, whether the assistant produced it (the
 * content and end-of-sentence of each assistant turn; not the role markers, user, system or tool text). Training
 * predicts token i+1 from tokens 0..i; the target is kept only where token i+1 is an assistant token
 * ({@link #target(int)}), everything else is -1 (ignored by the loss).
 */
public record SftExample(int[] tokens, boolean[] assistant) {
    public SftExample {
        if (tokens.length != assistant.length)
            throw new IllegalArgumentException(tokens.length + " tokens but " + assistant.length + " assistant flags");
        tokens = tokens.clone();
        assistant = assistant.clone();
    }

    public int length() { return tokens.length; }

    /** The target of input position i (0 <= i < length-1): token i+1 if the assistant produced it, else -1. */
    public int target(int i) { return assistant[i + 1] ? tokens[i + 1] : -1; }

    /** Number of trained targets among the first {@code len} tokens (positions 0..len-2). */
    public int trainedTargets(int len) {
        int n = 0;
        for (int i = 1; i < Math.min(len, tokens.length); i++) if (assistant[i]) n++;
        return n;
    }

    /** The first {@code len} tokens (a truncated copy; this when already short enough). */
    public SftExample truncate(int len) {
        return len >= tokens.length ? this : new SftExample(Arrays.copyOf(tokens, len), Arrays.copyOf(assistant, len));
    }

    @Override public int[] tokens() { return tokens.clone(); }

    @Override public boolean[] assistant() { return assistant.clone(); }

    @Override public boolean equals(Object o) {
        return o instanceof SftExample e && Arrays.equals(e.tokens, tokens) && Arrays.equals(e.assistant, assistant);
    }

    @Override public int hashCode() { return Arrays.hashCode(tokens) * 31 + Arrays.hashCode(assistant); }

    @Override public String toString() { return "SftExample[" + tokens.length + " tokens, " + trainedTargets(tokens.length) + " trained]"; }
}
