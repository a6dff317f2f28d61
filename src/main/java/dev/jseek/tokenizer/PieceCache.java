package dev.jseek.tokenizer;

/**
 * A per-thread cache from pre-token text to its BPE ids, looked up by a char range of the input (no String is
 * allocated on a hit). Open addressing; when three quarters full it is cleared (pre-token frequencies are
 * Zipfian, so the frequent pieces come back at once).
 */
final class PieceCache {
    private final String[] keys;
    private final int[] hashes;
    private final int[][] values;
    private final int mask;
    private int size;

    PieceCache(int capacity) {
        int cap = Integer.highestOneBit(capacity - 1) << 1;
        keys = new String[cap];
        hashes = new int[cap];
        values = new int[cap][];
        mask = cap - 1;
    }

    static int hash(String s, int start, int end) {
        int h = 0;
        for (int i = start; i < end; i++) h = 31 * h + s.charAt(i);
        return h;
    }

    private static int spread(int h) { return (h ^ (h >>> 16)) * 0x45d9f3b; }

    /** Stored hashes have the top bit set, so 0 marks an empty slot and a probe touches only {@code hashes}. */
    private static final int USED = 0x80000000;

    int[] get(String s, int start, int end, int hash) {
        int len = end - start;
        int tagged = hash | USED;
        int i = spread(hash) & mask;
        while (true) {
            int h = hashes[i];
            if (h == 0) return null;
            if (h == tagged) {
                String k = keys[i];
                if (k.length() == len && k.regionMatches(0, s, start, len)) return values[i];
            }
            i = (i + 1) & mask;
        }
    }

    void put(String key, int hash, int[] ids) {
        if (size >= (keys.length >> 2) * 3) clear();
        int tagged = hash | USED;
        int i = spread(hash) & mask;
        while (hashes[i] != 0) {
            if (hashes[i] == tagged && keys[i].equals(key)) return;
            i = (i + 1) & mask;
        }
        keys[i] = key;
        hashes[i] = tagged;
        values[i] = ids;
        size++;
    }

    void clear() {
        java.util.Arrays.fill(keys, null);
        java.util.Arrays.fill(values, null);
        java.util.Arrays.fill(hashes, 0);
        size = 0;
    }
}
