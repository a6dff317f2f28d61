package dev.jseek.parallel;

/**
 * Knobs of the communicators (system properties):
 * <ul>
 *   <li>{@code jseek.comm.timeoutSeconds} (default 300): how long a collective or a batched send/receive waits for
 *       the other ranks before it fails naming the ranks that did not arrive. It bounds the time between two ranks
 *       reaching the same collective, so it must exceed the longest step-time difference between ranks.</li>
 * </ul>
 */
public final class CommConfig {
    private CommConfig() {}

    public static final String TIMEOUT_PROPERTY = "jseek.comm.timeoutSeconds";

    /** The deadline of one communication call, in seconds (validated). */
    public static double timeoutSeconds() {
        String s = System.getProperty(TIMEOUT_PROPERTY);
        if (s == null || s.isBlank()) return 300;
        double t;
        try {
            t = Double.parseDouble(s.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("system property " + TIMEOUT_PROPERTY + ": not a number: '" + s + "'");
        }
        if (!(t > 0) || t > 1e7) throw new IllegalArgumentException("system property " + TIMEOUT_PROPERTY + ": must be in (0, 1e7] seconds, got " + s);
        return t;
    }

    /** {@link #timeoutSeconds()} in nanoseconds. */
    public static long timeoutNanos() { return (long) (timeoutSeconds() * 1e9); }
}
