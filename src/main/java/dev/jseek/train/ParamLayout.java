package dev.jseek.train;

import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Names, shapes and offsets of every parameter in one flat float arena (llm.c style). Names are the Hugging Face
 * tensor names (docs/architecture.md §2.2), so the arena maps 1:1 onto an HF checkpoint. The gradient arena uses the same offsets.
 * Aliases name tensors that an HF checkpoint stores as copies of another (the MTP layer's
 * {@code embed_tokens}/{@code shared_head.head}, docs/architecture.md §6.1): one copy lives in the arena.
 * Non-trainable entries (the routing bias, docs/architecture.md §5.3) get no gradient and no optimizer update.
 */
public final class ParamLayout {
    /** One tensor: its offset in the arena, its shape (HF order, [out, in] for Linear weights). */
    public record Entry(String name, int offset, int[] shape, boolean trainable) {
        public int size() { int n = 1; for (int s : shape) n *= s; return n; }
    }

    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final Map<String, String> aliases = new LinkedHashMap<>();
    private long size;

    /** Appends a tensor; returns its offset. */
    public int add(String name, boolean trainable, int... shape) {
        if (entries.containsKey(name) || aliases.containsKey(name)) throw new IllegalArgumentException("duplicate parameter " + name);
        long n = 1;
        for (int s : shape) {
            if (s <= 0) throw new IllegalArgumentException("parameter " + name + " has non-positive dimension " + s);
            n *= s;
        }
        if (size + n > Integer.MAX_VALUE - 16)
            throw new IllegalArgumentException("parameter arena exceeds 2^31 floats at " + name + " (" + (size + n) + " elements)");
        int off = (int) size;
        entries.put(name, new Entry(name, off, shape.clone(), trainable));
        size += n;
        return off;
    }

    /** Appends a Linear weight [rows, cols] (trainable) and names it. */
    public Param matrix(String name, int rows, int cols) { return new Param(name, add(name, true, rows, cols), rows, cols); }

    /** Appends a vector [n] (a norm weight; trainable false: the routing bias) and names it. */
    public Param vector(String name, boolean trainable, int n) { return new Param(name, add(name, trainable, n), 1, n); }

    /** Declares {@code alias} (a checkpoint name) to be the same tensor as {@code target}. */
    public void alias(String alias, String target) {
        if (!entries.containsKey(target)) throw new IllegalArgumentException("alias " + alias + " targets unknown " + target);
        if (entries.containsKey(alias) || aliases.containsKey(alias)) throw new IllegalArgumentException("duplicate parameter " + alias);
        aliases.put(alias, target);
    }

    /** The entry of {@code name} (aliases resolved). */
    public Entry get(String name) {
        Entry e = entries.get(aliases.getOrDefault(name, name));
        if (e == null) throw new IllegalArgumentException("no parameter named " + name);
        return e;
    }

    public boolean contains(String name) { return entries.containsKey(name) || aliases.containsKey(name); }
    public int offset(String name) { return get(name).offset(); }
    public Collection<Entry> entries() { return Collections.unmodifiableCollection(entries.values()); }
    public Map<String, String> aliases() { return Collections.unmodifiableMap(aliases); }
    public int size() { return (int) size; }
}
