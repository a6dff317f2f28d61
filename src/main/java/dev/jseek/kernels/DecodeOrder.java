package dev.jseek.kernels;

import java.util.List;

/**
 * The knobs of the order in which a one-token decode step's parallel products walk the weights (docs/quantization.md,
 * "The decode step"): each starts from its system property and can be switched while the process runs, so that
 * {@code jseek bench infer --alternate} can time both settings in turn inside one process (the host's memory speed
 * drifts between processes more than these effects). None of them changes a value: each product's rows are computed
 * by the same per-row kernel in the same order of summation, only which thread reads which rows when.
 *
 * <ul>
 *   <li>{@code jseek.seqRows} (default true): one token's 4-row BF16/F32 group reads its rows one after another
 *       (one sequential stream) instead of side by side ({@link HalfGemv}).</li>
 *   <li>{@code jseek.manyRows} (default 64): rows per task of {@link Gemm#linearMany} (a positive multiple of 4, so
 *       the row groups stay aligned).</li>
 *   <li>{@code jseek.contiguousTasks} (default false: not shown to win inside the model on a loaded machine; the lead's
 *       replay of the expert jobs alone found it faster): the one-token products' parallel jobs give each participant a
 *       contiguous run of tasks, taken front to back, and a participant that finishes its own takes the others' from
 *       their back ({@link Parallel#parallelForContiguous}); false: all participants take the next task from one
 *       shared counter, so with 2 threads each reads every other chunk.</li>
 * </ul>
 */
public final class DecodeOrder {
    private DecodeOrder() {}

    static boolean seqRows = bool("jseek.seqRows", true);
    static int manyRows = manyRows(System.getProperty("jseek.manyRows", "64"));
    static boolean contiguousTasks = bool("jseek.contiguousTasks", false);

    /** The knobs {@link #set} accepts. */
    public static List<String> names() { return List.of("jseek.seqRows", "jseek.manyRows", "jseek.contiguousTasks"); }

    /** True when {@code name} is one of {@link #names()}. */
    public static boolean has(String name) { return names().contains(name); }

    /**
     * Sets the knob {@code name} to {@code value} (between decode steps: a step in flight may see either setting);
     * a clear one-line error for an unknown knob or a bad value.
     */
    public static void set(String name, String value) {
        switch (name) {
            case "jseek.seqRows" -> seqRows = parseBool(name, value);
            case "jseek.manyRows" -> manyRows = manyRows(value);
            case "jseek.contiguousTasks" -> contiguousTasks = parseBool(name, value);
            default -> throw new IllegalArgumentException(name + " is not a decode-order knob (one of " + String.join(", ", names()) + ")");
        }
    }

    /** The current value of the knob {@code name}, as {@link #set} takes it. */
    public static String get(String name) {
        return switch (name) {
            case "jseek.seqRows" -> Boolean.toString(seqRows);
            case "jseek.manyRows" -> Integer.toString(manyRows);
            case "jseek.contiguousTasks" -> Boolean.toString(contiguousTasks);
            default -> throw new IllegalArgumentException(name + " is not a decode-order knob (one of " + String.join(", ", names()) + ")");
        };
    }

    private static boolean bool(String name, boolean dflt) {
        String s = System.getProperty(name);
        return s == null ? dflt : parseBool("system property " + name, s);
    }

    private static boolean parseBool(String what, String s) {
        String t = s.trim();
        if (t.equalsIgnoreCase("true")) return true;
        if (t.equalsIgnoreCase("false")) return false;
        throw new IllegalArgumentException(what + ": true or false, got '" + s + "'");
    }

    private static int manyRows(String s) {
        int r;
        try {
            r = Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("jseek.manyRows: not an integer: '" + s + "'");
        }
        if (r < 4 || r % 4 != 0) throw new IllegalArgumentException("jseek.manyRows: a positive multiple of 4, got " + r);
        return r;
    }
}
