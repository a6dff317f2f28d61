package dev.jseek.serve;

/**
 * Splits a thinking model's answer into its reasoning and its reply, as DeepSeek's own API returns them
 * ({@code reasoning_content} beside {@code content}): the reasoning is the text between {@code <think>} and the first
 * {@code </think>}, the reply what follows. The answer starts inside the reasoning when the prompt opened
 * {@code <think>} (DeepSeek-R1's template, V3.1's with {@code thinking} on); otherwise an answer that itself begins
 * with {@code <think>} (after whitespace; R1's January 2025 template leaves that to the model) enters it there, and
 * any other answer is all reply. An answer cut off before {@code </think>} is all reasoning.
 *
 * <p>Fed piece by piece as a stream arrives ({@link #feed}), it holds back only a tail that could still become one of
 * the two markers, so the pieces it gives out concatenate to what {@link #whole} gives for the full text.
 */
final class ReasoningSplit {
    static final String OPEN = "<think>", CLOSE = "</think>";

    /** One piece's share of each part; either may be empty. */
    record Parts(String reasoning, String content) {
        boolean isEmpty() { return reasoning.isEmpty() && content.isEmpty(); }
    }

    private enum State { START, REASONING, CONTENT }

    private State state;
    private final StringBuilder held = new StringBuilder();

    /** {@code opened}: the prompt ends inside {@code <think>}. */
    ReasoningSplit(boolean opened) { state = opened ? State.REASONING : State.START; }

    /** Whether a prompt's text (its last few tokens decoded, special tokens kept) leaves the answer inside {@code <think>}. */
    static boolean opens(String promptTail) { return promptTail.stripTrailing().endsWith(OPEN); }

    /** The parts of a whole answer. */
    static Parts whole(String text, boolean opened) {
        ReasoningSplit s = new ReasoningSplit(opened);
        Parts a = s.feed(text), b = s.finish();
        return new Parts(a.reasoning() + b.reasoning(), a.content() + b.content());
    }

    /** The parts of {@code delta} that can be given out now. */
    Parts feed(String delta) {
        held.append(delta);
        StringBuilder reasoning = new StringBuilder(), content = new StringBuilder();
        while (true) {
            switch (state) {
                case START -> {
                    int lead = 0;
                    while (lead < held.length() && Character.isWhitespace(held.charAt(lead))) lead++;
                    String rest = held.substring(lead);
                    if (rest.startsWith(OPEN)) {
                        held.delete(0, lead + OPEN.length());
                        state = State.REASONING;
                        continue;
                    }
                    if (OPEN.startsWith(rest)) return parts(reasoning, content); // undecided: wait for more
                    state = State.CONTENT;
                }
                case REASONING -> {
                    int end = held.indexOf(CLOSE);
                    if (end >= 0) {
                        reasoning.append(held, 0, end);
                        held.delete(0, end + CLOSE.length());
                        state = State.CONTENT;
                        continue;
                    }
                    int keep = partialSuffix(held, CLOSE);
                    reasoning.append(held, 0, held.length() - keep);
                    held.delete(0, held.length() - keep);
                    return parts(reasoning, content);
                }
                case CONTENT -> {
                    content.append(held);
                    held.setLength(0);
                    return parts(reasoning, content);
                }
            }
        }
    }

    /** What is still held back, at the end of the answer. */
    Parts finish() {
        String rest = held.toString();
        held.setLength(0);
        return state == State.REASONING ? new Parts(rest, "") : new Parts("", rest);
    }

    private static Parts parts(StringBuilder reasoning, StringBuilder content) { return new Parts(reasoning.toString(), content.toString()); }

    /** The length of the longest proper prefix of {@code marker} that {@code s} ends with. */
    private static int partialSuffix(CharSequence s, String marker) {
        for (int k = Math.min(marker.length() - 1, s.length()); k > 0; k--) {
            boolean match = true;
            for (int i = 0; i < k && match; i++) match = s.charAt(s.length() - k + i) == marker.charAt(i);
            if (match) return k;
        }
        return 0;
    }
}
