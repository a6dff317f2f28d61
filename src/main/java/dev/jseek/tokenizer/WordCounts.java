package dev.jseek.tokenizer;

import java.util.Arrays;

/**
 * Counts of distinct pre-token strings (BPE training), looked up by a char range of the input so that a repeated
 * word allocates nothing. Open addressing, grows at 3/4 load.
 */
final class WordCounts {
    String[] keys;
    long[] counts;
    private int[] hashes;
    private int mask;
    int size;

    WordCounts(int capacity) {
        int cap = Integer.highestOneBit(Math.max(16, capacity) - 1) << 1;
        keys = new String[cap];
        counts = new long[cap];
        hashes = new int[cap];
        mask = cap - 1;
    }

    private static int spread(int h) { return (h ^ (h >>> 16)) * 0x45d9f3b; }

    void add(String s, int start, int end, long n) {
        int h = PieceCache.hash(s, start, end);
        int len = end - start;
        int i = spread(h) & mask;
        while (true) {
            String k = keys[i];
            if (k == null) break;
            if (hashes[i] == h && k.length() == len && k.regionMatches(0, s, start, len)) {
                counts[i] += n;
                return;
            }
            i = (i + 1) & mask;
        }
        keys[i] = s.substring(start, end);
        hashes[i] = h;
        counts[i] = n;
        if (++size > (keys.length >> 2) * 3) grow();
    }

    void addAll(WordCounts other) {
        for (int i = 0; i < other.keys.length; i++) {
            if (other.keys[i] != null) add(other.keys[i], 0, other.keys[i].length(), other.counts[i]);
        }
    }

    private void grow() {
        String[] ok = keys;
        long[] oc = counts;
        int[] oh = hashes;
        int cap = ok.length * 2;
        keys = new String[cap];
        counts = new long[cap];
        hashes = new int[cap];
        mask = cap - 1;
        for (int j = 0; j < ok.length; j++) {
            if (ok[j] == null) continue;
            int i = spread(oh[j]) & mask;
            while (keys[i] != null) i = (i + 1) & mask;
            keys[i] = ok[j];
            counts[i] = oc[j];
            hashes[i] = oh[j];
        }
    }

    /** The distinct words in sorted order (for deterministic ids). */
    String[] sortedKeys() {
        String[] out = new String[size];
        int n = 0;
        for (String k : keys) if (k != null) out[n++] = k;
        Arrays.sort(out);
        return out;
    }

    long count(String k) {
        int h = PieceCache.hash(k, 0, k.length());
        int i = spread(h) & mask;
        while (keys[i] != null) {
            if (hashes[i] == h && keys[i].equals(k)) return counts[i];
            i = (i + 1) & mask;
        }
        return 0;
    }
}
