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

    int[] get(String s, int start, int end, int hash) {
        int len = end - start;
        int i = spread(hash) & mask;
        while (true) {
            String k = keys[i];
            if (k == null) return null;
            if (hashes[i] == hash && k.length() == len && k.regionMatches(0, s, start, len)) return values[i];
            i = (i + 1) & mask;
        }
    }

    void put(String key, int hash, int[] ids) {
        if (size >= (keys.length >> 2) * 3) clear();
        int i = spread(hash) & mask;
        while (keys[i] != null) {
            if (hashes[i] == hash && keys[i].equals(key)) return;
            i = (i + 1) & mask;
        }
        keys[i] = key;
        hashes[i] = hash;
        values[i] = ids;
        size++;
    }

    void clear() {
        java.util.Arrays.fill(keys, null);
        java.util.Arrays.fill(values, null);
        size = 0;
    }
}
