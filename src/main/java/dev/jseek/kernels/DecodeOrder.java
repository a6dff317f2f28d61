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
 *   <li>{@code jseek.seqRows} (default: set by {@link #forModel} when a model loads): one token's 4-row BF16/F32
 *       group reads its rows one after another (one sequential stream, which the prefetchers follow from memory)
 *       instead of side by side (4 independent multiply-add chains, faster when the rows come from cache)
 *       ({@link HalfGemv}).</li>
 *   <li>{@code jseek.contiguousBatch} (default true since {@code bench rows --alternate} measured it: 1.07-1.10x at 4
 *       rows, 1.03-1.05x at 16): the same contiguous runs for products of 2 and more token rows (the batch engine's
 *       steps; {@link #contiguous}).</li>
 *   <li>{@code jseek.manyRows} (default 64): rows per task of {@link Gemm#linearMany} (a positive multiple of 4, so
 *       the row groups stay aligned).</li>
 *   <li>{@code jseek.contiguousTasks} (default true; measured quiet with {@code bench infer --alternate}: BF16 1.10x,
 *       Q8_0 1.28x, the 12M F32 model 1.05x the shared counter's decode tokens/s): the one-token products' parallel jobs give each participant a
 *       contiguous run of tasks, taken front to back, and a participant that finishes its own takes the others' from
 *       their back ({@link Parallel#parallelForContiguous}); false: all participants take the next task from one
 *       shared counter, so with 2 threads each reads every other chunk.</li>
 * </ul>
 */
public final class DecodeOrder {
    private DecodeOrder() {}

    static boolean seqRows = bool("jseek.seqRows", true);
    static int manyRows = manyRows(System.getProperty("jseek.manyRows", "64"));
    static boolean contiguousTasks = bool("jseek.contiguousTasks", true);
    static boolean contiguousBatch = bool("jseek.contiguousBatch", true);

    /**
     * Whether a streaming product of m token rows hands each participant a contiguous run of its tasks
     * ({@link Parallel#parallelForContiguous}): {@code jseek.contiguousTasks} for one token, {@code
     * jseek.contiguousBatch} (default true) for 2 and more (the batch engine's steps, the speculative verify): on the
     * 1.5B BF16 model a batched step of 4 rows ran 1.07-1.10x faster with it and one of 16 rows 1.03-1.05x, alternating
     * in one process (docs/serving.md, "Contiguous task runs for batched steps").
     */
    static boolean contiguous(int m) { return m == 1 ? contiguousTasks : contiguousBatch; }

    /** True when the system property {@code jseek.seqRows} was given: then {@link #forModel} leaves the knob alone. */
    private static final boolean SEQ_ROWS_GIVEN = System.getProperty("jseek.seqRows") != null;

    /**
     * Sets {@code jseek.seqRows} for a model just loaded, unless the property was given: on when its decode step reads
     * more weight bytes ({@code decodeBytes}) than the last-level cache holds ({@link #lastLevelCacheBytes}), so the
     * weights stream from memory; off when they can stay in the cache between tokens. Measured quiet (2 threads,
     * {@code bench infer --alternate jseek.seqRows=true,false}): the 1.5B BF16 model (503 MB per token) 1.09x with it,
     * the 12M F32 model (18 MB per token, a 32 MiB L3) 1.19-1.33x without it. The knob changes no value, so the
     * last model loaded in a process decides for all.
     */
    public static void forModel(long decodeBytes) {
        if (!SEQ_ROWS_GIVEN) seqRows = decodeBytes > lastLevelCacheBytes();
    }

    private static long llc = -1;

    /**
     * Bytes of the largest cache level of CPU 0 (Linux sysfs {@code /sys/devices/system/cpu/cpu0/cache/index*}), 32 MiB
     * when it cannot be read.
     */
    public static synchronized long lastLevelCacheBytes() {
        if (llc < 0) llc = readLastLevelCache(java.nio.file.Path.of("/sys/devices/system/cpu/cpu0/cache"));
        return llc;
    }

    public static long readLastLevelCache(java.nio.file.Path dir) {
        long best = -1;
        int bestLevel = -1;
        try (var s = java.nio.file.Files.newDirectoryStream(dir, "index*")) {
            for (java.nio.file.Path p : s) {
                try {
                    int level = Integer.parseInt(java.nio.file.Files.readString(p.resolve("level")).trim());
                    String v = java.nio.file.Files.readString(p.resolve("size")).trim().toUpperCase(java.util.Locale.ROOT);
                    long mul = v.endsWith("K") ? 1024 : v.endsWith("M") ? 1024 * 1024 : 1;
                    long size = Long.parseLong(mul == 1 ? v : v.substring(0, v.length() - 1)) * mul;
                    if (level > bestLevel || level == bestLevel && size > best) { bestLevel = level; best = size; }
                } catch (java.io.IOException | RuntimeException e) {
                    // an index without a readable level or size: skip it
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            return 32L << 20;
        }
        return best > 0 ? best : 32L << 20;
    }

    /** The knobs {@link #set} accepts. */
    public static List<String> names() { return List.of("jseek.seqRows", "jseek.manyRows", "jseek.contiguousTasks", "jseek.contiguousBatch"); }

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
            case "jseek.contiguousBatch" -> contiguousBatch = parseBool(name, value);
            default -> throw new IllegalArgumentException(name + " is not a decode-order knob (one of " + String.join(", ", names()) + ")");
        }
    }

    /** The current value of the knob {@code name}, as {@link #set} takes it. */
    public static String get(String name) {
        return switch (name) {
            case "jseek.seqRows" -> Boolean.toString(seqRows);
            case "jseek.manyRows" -> Integer.toString(manyRows);
            case "jseek.contiguousTasks" -> Boolean.toString(contiguousTasks);
            case "jseek.contiguousBatch" -> Boolean.toString(contiguousBatch);
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
