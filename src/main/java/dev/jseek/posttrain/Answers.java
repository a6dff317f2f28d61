package dev.jseek.posttrain;

import java.math.BigDecimal;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Answer extraction and comparison of the rule-based rewards (docs/architecture.md §7.6: "boxed" math answers). The answer of a text is
 * the content of its last {@code \boxed{...}} (braces balanced), else the whole text trimmed. Two answers are equal
 * when their trimmed strings are, or when both are decimal numbers of equal value (so "42.0" equals "42").
 */
public final class Answers {
    private Answers() {}

    static final Pattern NUMBER = Pattern.compile("[-+]?\\d+(\\.\\d+)?");

    /** The content of the last balanced \boxed{...}, or null. */
    public static String boxed(String text) {
        int i = text.lastIndexOf("\\boxed{");
        if (i < 0) return null;
        int depth = 0, start = i + "\\boxed{".length();
        for (int j = start; j < text.length(); j++) {
            char c = text.charAt(j);
            if (c == '{') depth++;
            else if (c == '}') {
                if (depth == 0) return text.substring(start, j).trim();
                depth--;
            }
        }
        return null;
    }

    /** The answer of a completion text (see class doc). */
    public static String extract(String text) {
        String b = boxed(text);
        return b != null ? b : text.trim();
    }

    /** Whether a text is in the strict answer format: a bare number, or a \boxed{...} answer. */
    public static boolean wellFormed(String text) {
        return boxed(text) != null || NUMBER.matcher(text.trim()).matches();
    }

    public static boolean equal(String answer, String reference) {
        String a = answer.trim(), r = reference.trim();
        if (a.equals(r)) return true;
        Matcher ma = NUMBER.matcher(a), mr = NUMBER.matcher(r);
        if (ma.matches() && mr.matches()) return new BigDecimal(a).compareTo(new BigDecimal(r)) == 0;
        return false;
    }
}
