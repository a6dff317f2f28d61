package dev.jseek.posttrain;

/**
 * One sampled answer of the policy: its token ids (the end-of-sentence included when generated), its text (decoded
 * without the end-of-sentence) and whether it ended with end-of-sentence (false: cut at the token limit).
 */
public record Completion(int[] tokens, String text, boolean finished) {
    public Completion {
        tokens = tokens.clone();
    }

    @Override public int[] tokens() { return tokens.clone(); }

    public int length() { return tokens.length; }
}
