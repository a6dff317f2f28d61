package dev.jseek.data;

/**
 * The small, fixed hash functions the data pipeline derives its deterministic choices from (validation split,
 * FIM decisions, shuffles, configuration fingerprints). Their definitions are part of the on-disk contract:
 * changing them changes which documents are held out, so they are frozen.
 */
public final class Hashing {
    private Hashing() {}

    /** The SplitMix64 finalizer (Stafford variant 13): a bijective 64-bit mixer. */
    public static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Mixes two values into one seed: {@code mix64(mix64(a) + 0x9E3779B97F4A7C15 * (b + 1))}. */
    public static long combine(long a, long b) {
        return mix64(mix64(a) + 0x9E3779B97F4A7C15L * (b + 1));
    }

    /** 64-bit hash of a string's UTF-16 code units: FNV-1a, then {@link #mix64}. */
    public static long hash(CharSequence s) {
        long h = 0xCBF29CE484222325L;
        for (int i = 0, n = s.length(); i < n; i++) {
            h ^= s.charAt(i);
            h *= 0x100000001B3L;
        }
        return mix64(h ^ s.length());
    }

    /** The top 53 bits of {@code h} as a double uniform in [0, 1). */
    public static double unit(long h) {
        return (h >>> 11) * 0x1.0p-53;
    }
}
