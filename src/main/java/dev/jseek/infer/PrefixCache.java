package dev.jseek.infer;

import dev.jseek.model.BlockPool;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Prompt prefixes whose latent cache blocks can be reused: a trie of prefill chunks. Chunk j of a prompt is its
 * tokens [j·C, (j+1)·C) (C = the engine's prefill chunk, a multiple of the block size); an entry holds the blocks
 * that chunk's cache rows live in, and one reference on each of them. Entries are keyed by their parent entry and
 * their own tokens, so a lookup walks the prompt chunk by chunk.
 *
 * <p>Why reuse is exact: the engine prefills every prompt in chunks at the same absolute boundaries, each chunk one
 * forward of C rows over the cache of the chunks before it. A chunk's cache rows are therefore a function of the
 * tokens up to its end alone, and a request that reuses them gets bitwise the cache it would have computed.
 *
 * <p>With speculative decoding the blocks also hold the MTP module's rows of the chunk (in the pool's last layer,
 * shifted one slot: see {@code BatchEngine}), which are a function of the same tokens, and an entry keeps the
 * chunk's last main hidden state for the next chunk's first MTP pair.
 *
 * <p>Eviction: least recently used entries without children, when the pool needs blocks. Used by the engine's
 * scheduler thread only.
 */
final class PrefixCache {
    private record Key(Entry parent, int[] tokens) {
        @Override public boolean equals(Object o) {
            return o instanceof Key k && k.parent == parent && Arrays.equals(k.tokens, tokens);
        }

        @Override public int hashCode() { return 31 * System.identityHashCode(parent) + Arrays.hashCode(tokens); }
    }

    static final class Entry {
        final Key key;
        final int[] blocks;
        /**
         * With speculative decoding: the main model's hidden state (after model.norm) at the chunk's last position,
         * which the MTP pair of that position needs when the next chunk is prefilled; else null.
         */
        final float[] hidden;
        int children;
        long lastUsed;

        Entry(Key key, int[] blocks, float[] hidden) {
            this.key = key;
            this.blocks = blocks;
            this.hidden = hidden;
        }
    }

    private final BlockPool pool;
    private final int chunk;
    private final Map<Key, Entry> entries = new HashMap<>();
    private long clock;

    PrefixCache(BlockPool pool, int chunk) {
        this.pool = pool;
        this.chunk = chunk;
    }

    /**
     * The cached chunks at the start of {@code prompt} that may be reused: whole chunks only, and never the chunk
     * holding the last prompt token (its logits must be computed). Returns the entries in order.
     */
    List<Entry> lookup(int[] prompt) {
        List<Entry> out = new ArrayList<>();
        Entry parent = null;
        for (int end = chunk; end < prompt.length; end += chunk) {
            Entry e = entries.get(new Key(parent, Arrays.copyOfRange(prompt, end - chunk, end)));
            if (e == null) break;
            e.lastUsed = ++clock;
            out.add(e);
            parent = e;
        }
        return out;
    }

    /**
     * Records chunk [end - C, end) of {@code prompt}, whose cache rows are in {@code blocks}, under the entry of the
     * chunk before it (null for the first chunk; it must be registered already). Takes a reference on the blocks.
     * Returns the entry (an existing one when the chunk is known). {@code hidden}: see {@link Entry#hidden}.
     */
    Entry register(Entry parent, int[] prompt, int end, int[] blocks, float[] hidden) {
        Key k = new Key(parent, Arrays.copyOfRange(prompt, end - chunk, end));
        Entry e = entries.get(k);
        if (e != null) {
            e.lastUsed = ++clock;
            return e;
        }
        e = new Entry(k, blocks.clone(), hidden == null ? null : hidden.clone());
        for (int b : e.blocks) pool.retain(b);
        e.lastUsed = ++clock;
        if (parent != null) parent.children++;
        entries.put(k, e);
        return e;
    }

    /**
     * Evicts least recently used leaf entries until the pool has {@code needFree} free blocks or nothing more can be
     * evicted (blocks still used by running sequences only become free when those end). Returns whether the pool
     * has them.
     */
    boolean makeRoom(int needFree) {
        while (pool.freeBlocks() < needFree) {
            Entry victim = null;
            for (Entry e : entries.values())
                if (e.children == 0 && (victim == null || e.lastUsed < victim.lastUsed)) victim = e;
            if (victim == null) return false;
            remove(victim);
        }
        return true;
    }

    /** Blocks free now plus those that evicting every entry would free (blocks only the cache holds). */
    int reclaimable() {
        int n = 0;
        for (Entry e : entries.values())
            for (int b : e.blocks) if (pool.refCount(b) == 1) n++;
        return n;
    }

    int size() { return entries.size(); }

    /** Drops every entry (the pool gets back the blocks nobody else uses). */
    void clear() {
        for (Entry e : new ArrayList<>(entries.values())) {
            for (int b : e.blocks) pool.release(b);
        }
        entries.clear();
    }

    private void remove(Entry e) {
        entries.remove(e.key);
        if (e.key.parent != null) e.key.parent.children--;
        for (int b : e.blocks) pool.release(b);
    }
}
