package dev.jseek.api;

import dev.jseek.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.List;

/**
 * The stop-string rule computed the slow way, independently of {@link StopMatcher}: decode the generated ids one
 * prefix at a time (with {@link Tokenizer#decode}); the first prefix whose text contains a stop string ends
 * generation, and the answer is that text before the leftmost occurrence of any stop string.
 */
public final class StopOracle {
    private StopOracle() {}

    /** The cut text and how many tokens were generated when it was found (all of them if never). */
    public record Cut(String text, int tokens, boolean stopped) {}

    public static Cut cut(Tokenizer t, int[] ids, List<String> stops) {
        for (int n = 1; n <= ids.length; n++) {
            String text = t.decode(Arrays.copyOf(ids, n), true);
            int best = -1;
            for (String s : stops) {
                int i = text.indexOf(s);
                if (i >= 0 && (best < 0 || i < best)) best = i;
            }
            if (best >= 0) return new Cut(text.substring(0, best), n, true);
        }
        return new Cut(t.decode(ids, true), ids.length, false);
    }

    /** Three ASCII letters/spaces from the second half of the text whose first occurrence is there, or null. */
    public static String pickAsciiStop(String text) {
        for (int i = text.length() / 2; i + 3 <= text.length(); i++) {
            String s = text.substring(i, i + 3);
            if (s.chars().allMatch(c -> (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == ' ') && text.indexOf(s) == i) return s;
        }
        return null;
    }
}
