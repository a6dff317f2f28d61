package dev.jseek.model;

import java.util.Locale;

/** How jseek prints a parameter count for people: 1.23B, 45.67M, 8.9K, or the plain number below a thousand. */
public final class ParameterCount {
    private ParameterCount() {}

    /** {@code n} with a B/M/K suffix (two decimals for B and M, one for K), or {@code n} itself below 1000. */
    public static String human(long n) {
        if (n >= 1_000_000_000L) return String.format(Locale.ROOT, "%.2fB", n / 1e9);
        if (n >= 1_000_000L) return String.format(Locale.ROOT, "%.2fM", n / 1e6);
        if (n >= 1_000L) return String.format(Locale.ROOT, "%.1fK", n / 1e3);
        return Long.toString(n);
    }
}
