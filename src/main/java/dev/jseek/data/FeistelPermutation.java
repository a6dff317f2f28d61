package dev.jseek.data;

/**
 * A pseudo-random permutation of {@code [0, n)} in O(1) memory: a 4-round balanced Feistel network over the
 * smallest even bit width {@code w} with {@code 2^w >= n}, with cycle walking (re-encrypt until the value is below
 * {@code n}; fewer than 4 steps on average since {@code 2^w < 4n}). Used by {@link DataLoader} to shuffle sequence
 * windows per epoch without materialising an index array (3.6 billion windows at 14.8T tokens and 4K sequences).
 */
public final class FeistelPermutation {
    private final long n;
    private final int halfBits;
    private final long halfMask;
    private final long[] keys = new long[4];

    public FeistelPermutation(long n, long key) {
        if (n < 1) throw new IllegalArgumentException("permutation of " + n + " elements");
        this.n = n;
        int bits = Math.max(2, 64 - Long.numberOfLeadingZeros(n - 1));
        if ((bits & 1) == 1) bits++;
        this.halfBits = bits / 2;
        this.halfMask = (1L << halfBits) - 1;
        for (int r = 0; r < 4; r++) keys[r] = Hashing.combine(key, r);
    }

    public long size() { return n; }

    /** The image of {@code i}, for {@code 0 <= i < n}. */
    public long apply(long i) {
        if (i < 0 || i >= n) throw new IndexOutOfBoundsException(i + " not in [0, " + n + ")");
        long x = i;
        do x = encrypt(x); while (x >= n);
        return x;
    }

    private long encrypt(long x) {
        long l = x >>> halfBits, r = x & halfMask;
        for (long k : keys) {
            long t = l ^ (Hashing.mix64(r ^ k) & halfMask);
            l = r;
            r = t;
        }
        return (l << halfBits) | r;
    }
}
