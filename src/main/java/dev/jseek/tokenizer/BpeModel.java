package dev.jseek.tokenizer;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * A byte-level BPE model (docs/architecture.md §7.8): a vocabulary of byte-level token strings and an ordered merge list, where the
 * rank of a merge is its position. Encoding one pre-token: its UTF-8 bytes become the ids of their byte symbols,
 * then the adjacent pair with the lowest merge rank is merged (leftmost first among equal ranks) until no adjacent
 * pair has a merge — the exact order of HF tokenizers' {@code Word::merge_all}: a min-heap keyed (rank, position)
 * over a doubly linked list of symbols, with stale heap entries skipped.
 *
 * <p>Immutable and thread-safe; the scratch buffers and the piece cache live in {@link Scratch} (one per thread).
 */
final class BpeModel {
    /** id -> byte-level token string (null where the id is unused). */
    final String[] idToToken;
    final Map<String, Integer> tokenToId;
    /** byte -> id of its byte symbol, or -1 when the vocabulary lacks it (HF then drops the byte). */
    final int[] byteToId = new int[256];
    /** With ignore_merges, a pre-token that is itself in the vocabulary becomes that single token. */
    final boolean ignoreMerges;

    // merges: open addressing map (left << 32 | right) -> rank, new id
    private final long[] mergeKeys;
    private final int[] mergeRank;
    private final int[] mergeNew;
    private final int mergeMask;
    final int mergeCount;

    private static final long EMPTY = -1L;

    /**
     * @param vocab   token string -> id
     * @param merges  merges as [left id, right id, new id], in rank order (a later duplicate pair overrides an
     *                earlier one, as in HF)
     */
    BpeModel(Map<String, Integer> vocab, int[][] merges, boolean ignoreMerges) {
        this.tokenToId = Map.copyOf(vocab);
        int maxId = -1;
        for (int id : vocab.values()) maxId = Math.max(maxId, id);
        idToToken = new String[maxId + 1];
        for (var e : vocab.entrySet()) idToToken[e.getValue()] = e.getKey();
        for (int b = 0; b < 256; b++) {
            Integer id = vocab.get(String.valueOf(ByteLevel.byteToChar(b)));
            byteToId[b] = id == null ? -1 : id;
        }
        this.ignoreMerges = ignoreMerges;
        int cap = Integer.highestOneBit(Math.max(16, merges.length * 2)) * 2;
        mergeKeys = new long[cap];
        Arrays.fill(mergeKeys, EMPTY);
        mergeRank = new int[cap];
        mergeNew = new int[cap];
        mergeMask = cap - 1;
        for (int r = 0; r < merges.length; r++) {
            long key = pairKey(merges[r][0], merges[r][1]);
            int slot = slot(key);
            mergeKeys[slot] = key;
            mergeRank[slot] = r;
            mergeNew[slot] = merges[r][2];
        }
        mergeCount = merges.length;
    }

    static long pairKey(int left, int right) { return ((long) left << 32) | (right & 0xFFFFFFFFL); }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        int i = (int) (h >>> 40) & mergeMask;
        while (mergeKeys[i] != EMPTY && mergeKeys[i] != key) i = (i + 1) & mergeMask;
        return i;
    }

    /** Slot of the merge of (left, right), or -1. */
    private int find(int left, int right) {
        long key = pairKey(left, right);
        long h = key * 0x9E3779B97F4A7C15L;
        int i = (int) (h >>> 40) & mergeMask;
        while (true) {
            long k = mergeKeys[i];
            if (k == key) return i;
            if (k == EMPTY) return -1;
            i = (i + 1) & mergeMask;
        }
    }

    /** Rank of the merge (left, right), or -1 if there is none. */
    int mergeRank(int left, int right) {
        int s = find(left, right);
        return s < 0 ? -1 : mergeRank[s];
    }

    int size() { return idToToken.length; }

    /** Per-thread scratch space and piece cache. */
    static final class Scratch {
        byte[] bytes = new byte[256];
        int[] sym = new int[256], prev = new int[256], next = new int[256];
        boolean[] dead = new boolean[256];
        long[] heap = new long[3 * 256];
        final PieceCache cache = new PieceCache(1 << 17);

        void ensure(int n) {
            if (sym.length < n) {
                int c = Math.max(n, sym.length * 2);
                sym = new int[c];
                prev = new int[c];
                next = new int[c];
                dead = new boolean[c];
                heap = new long[3 * c];
            }
        }

        void ensureBytes(int n) { if (bytes.length < n) bytes = new byte[Math.max(n, bytes.length * 2)]; }
    }

    /** Pieces longer than this (in chars) are not cached. */
    static final int CACHE_MAX_CHARS = 128;

    /** Appends the ids of piece {@code s[start, end)} to {@code out}. */
    void encodePiece(String s, int start, int end, Scratch sc, IntList out) {
        int len = end - start;
        if (len == 1) {
            char c = s.charAt(start);
            if (c < 0x80) {
                int id = byteToId[c];
                if (id >= 0) out.add(id);
                return;
            }
        }
        PieceCache cache = sc.cache;
        boolean cacheable = len <= CACHE_MAX_CHARS;
        int hash = 0;
        if (cacheable) {
            hash = PieceCache.hash(s, start, end);
            int[] hit = cache.get(s, start, end, hash);
            if (hit != null) {
                out.addAll(hit, 0, hit.length);
                return;
            }
        }
        sc.ensureBytes(len * 3);
        int nb = Utf8.encode(s, start, end, sc.bytes, 0);
        int before = out.size;
        encodeBytes(sc.bytes, nb, sc, out);
        if (cacheable) cache.put(s.substring(start, end), hash, Arrays.copyOfRange(out.a, before, out.size));
    }

    /** Appends the ids of a pre-token given as UTF-8 bytes {@code b[0, n)}. */
    void encodeBytes(byte[] b, int n, Scratch sc, IntList out) {
        if (ignoreMerges) {
            Integer whole = tokenToId.get(ByteLevel.encode(b, 0, n));
            if (whole != null) {
                out.add(whole);
                return;
            }
        }
        sc.ensure(n);
        int[] sym = sc.sym, prev = sc.prev, next = sc.next;
        boolean[] dead = sc.dead;
        int m = 0;
        for (int i = 0; i < n; i++) {
            int id = byteToId[b[i] & 0xFF];
            if (id >= 0) sym[m++] = id; // HF drops a symbol missing from the vocab (no unk, no byte fallback)
        }
        if (m == 0) return;
        if (m == 1) {
            out.add(sym[0]);
            return;
        }
        for (int i = 0; i < m; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < m ? i + 1 : -1;
            dead[i] = false;
        }
        long[] heap = sc.heap;
        int hs = 0;
        for (int i = 0; i + 1 < m; i++) {
            int slot = find(sym[i], sym[i + 1]);
            if (slot >= 0) hs = heapPush(heap, hs, ((long) mergeRank[slot] << 32) | i);
        }
        while (hs > 0) {
            long top = heap[0];
            hs = heapPop(heap, hs);
            int pos = (int) top;
            int rank = (int) (top >>> 32);
            if (dead[pos]) continue;
            int right = next[pos];
            if (right < 0) continue;
            int slot = find(sym[pos], sym[right]);
            if (slot < 0 || mergeRank[slot] != rank) continue; // stale entry
            sym[pos] = mergeNew[slot];
            dead[right] = true;
            int rn = next[right];
            next[pos] = rn;
            if (rn >= 0) prev[rn] = pos;
            int p = prev[pos];
            if (p >= 0) {
                int s2 = find(sym[p], sym[pos]);
                if (s2 >= 0) hs = heapPush(heap, hs, ((long) mergeRank[s2] << 32) | p);
            }
            if (rn >= 0) {
                int s3 = find(sym[pos], sym[rn]);
                if (s3 >= 0) hs = heapPush(heap, hs, ((long) mergeRank[s3] << 32) | pos);
            }
        }
        for (int i = 0; i >= 0; i = next[i]) out.add(sym[i]);
    }

    private static int heapPush(long[] h, int n, long v) {
        int i = n;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (h[parent] <= v) break;
            h[i] = h[parent];
            i = parent;
        }
        h[i] = v;
        return n + 1;
    }

    private static int heapPop(long[] h, int n) {
        n--;
        if (n == 0) return 0;
        long v = h[n];
        int i = 0;
        while (true) {
            int c = 2 * i + 1;
            if (c >= n) break;
            if (c + 1 < n && h[c + 1] < h[c]) c++;
            if (h[c] >= v) break;
            h[i] = h[c];
            i = c;
        }
        h[i] = v;
        return n;
    }

    /** The model token of an id, or null. */
    String token(int id) { return id >= 0 && id < idToToken.length ? idToToken[id] : null; }

}
