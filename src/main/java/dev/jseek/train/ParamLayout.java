package dev.jseek.train;

import dev.jseek.model.TensorSchema;
import java.util.Arrays;
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
 *
 * <p>The whole model's layout is declared against the {@link TensorSchema} ({@link #ParamLayout(TensorSchema)}): each
 * module declares its tensors in the schema's order, and a tensor whose name, shape or trainability differs from the
 * schema's next one is an error, as is a schema tensor left undeclared ({@link #requireComplete}). Offsets therefore
 * follow the schema's order. A layout without a schema (a single module under test) takes any tensors.
 */
public final class ParamLayout {
    /** One tensor: its offset in the arena, its shape (HF order, [out, in] for Linear weights). */
    public record Entry(String name, int offset, int[] shape, boolean trainable) {
        public int size() { int n = 1; for (int s : shape) n *= s; return n; }
    }

    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final Map<String, String> aliases = new LinkedHashMap<>();
    private long size;
    /** The schema's tensors in order (null: no order to follow), and the index of the next one to be declared. */
    private final java.util.List<TensorSchema.Tensor> schema;
    private int next;
    /** Where {@link #matrix(String)} and {@link #vector(String)} take shapes from (null: a layout without a schema). */
    private final TensorSchema shapes;

    /** Expert-parallel shard (null: every tensor is held): which routed experts this arena holds. */
    private final ExpertShard shard;
    /** Every declared tensor in declaration order, held or not ({@link #declared()}). */
    private final java.util.List<Entry> declared = new java.util.ArrayList<>();
    /** Next offset of the held experts' region, and where that region starts (expert shard only). */
    private long expertNext;
    private int sharedEnd = -1;
    /** Which tensors a pipeline rank holds (null: every tensor); the others are declared with offset -1, like experts held elsewhere. */
    private final java.util.function.Predicate<String> holds;
    /** Declared tensors not held here (aliases of them are declared and dropped). */
    private final java.util.Set<String> absent = new java.util.HashSet<>();

    /** A layout of any tensors, each declared with its shape (a single module under test). */
    public ParamLayout() { this.schema = null; this.shapes = null; this.shard = null; this.holds = null; }

    /** A layout that must declare exactly the tensors of {@code schema}, in its order. */
    public ParamLayout(TensorSchema schema) { this(schema, null); }

    /**
     * A layout of {@code schema} that holds only the routed experts of {@code shard} (null: all). Offsets: the shared
     * tensors (everything but routed experts) first, in schema order, then the held experts in schema order from
     * {@link #sharedEnd()}; routed experts of other ranks are declared (schema-checked, listed in
     * {@link #declared()}) but get no storage (offset -1) and are absent from {@link #entries()}.
     */
    public ParamLayout(TensorSchema schema, ExpertShard shard) { this(schema, shard, null); }

    /**
     * A layout of {@code schema} whose arena stores only the tensors {@code holds} accepts (a pipeline rank's stages,
     * report §3.2.1; null: all), packed in schema order; the others are declared (schema-checked, in
     * {@link #declared()} with offset -1) but get no storage, and an alias of one of them is dropped. Not combined
     * with an expert shard.
     */
    public ParamLayout(TensorSchema schema, ExpertShard shard, java.util.function.Predicate<String> holds) {
        if (shard != null && holds != null) throw new IllegalArgumentException("a layout holds either an expert shard or some tensors by name, not both");
        this.schema = schema.tensors();
        this.shapes = schema;
        this.shard = shard;
        this.holds = holds;
        if (shard != null) {
            long shared = 0;
            for (TensorSchema.Tensor t : this.schema) {
                if (t.kind() == TensorSchema.Kind.MTP_COPY || ExpertShard.expertOf(t.name()) >= 0) continue;
                long n = 1;
                for (long d : t.shape()) n *= d;
                shared += n;
            }
            if (shared > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("shared parameters exceed 2^31 floats (" + shared + ")");
            sharedEnd = (int) shared;
            expertNext = shared;
        }
    }

    private ParamLayout(TensorSchema shapes, boolean anyOrder) { this.schema = null; this.shapes = shapes; this.shard = null; this.holds = null; }

    /** A layout of some of {@code schema}'s tensors in any order (one module under test), shapes from the schema. */
    public static ParamLayout partial(TensorSchema schema) { return new ParamLayout(schema, true); }

    /** The schema's tensor {@code name}; an error when this layout has no schema or the schema has no such tensor. */
    private TensorSchema.Tensor schemaTensor(String name) {
        if (shapes == null) throw new IllegalStateException("parameter " + name + ": a layout without a tensor schema needs its shape declared");
        TensorSchema.Tensor t = shapes.find(name);
        if (t == null) throw new IllegalStateException("parameter " + name + " is not in the tensor schema");
        return t;
    }

    /** Where the held experts' region starts (the shared tensors' size); the arena size when every tensor is held. */
    public int sharedEnd() { return shard == null ? size() : sharedEnd; }

    /** True when this layout stores only some tensors by name (a pipeline rank's stages). */
    public boolean partial() { return holds != null; }

    /** The expert shard this layout holds (null: all tensors). */
    public ExpertShard shard() { return shard; }

    /** Every declared tensor (aliases excluded) in schema order, including routed experts not held here (offset -1). */
    public java.util.List<Entry> declared() { return Collections.unmodifiableList(declared); }

    /** Checks that {@code name} is the schema's next tensor, of this shape and trainability (no schema: nothing to check). */
    private void expect(String name, boolean trainable, boolean alias, int[] shape) {
        if (schema == null) return;
        if (next >= schema.size())
            throw new IllegalStateException("parameter " + name + " is not in the tensor schema (it ends at " + schema.getLast().name() + ")");
        TensorSchema.Tensor t = schema.get(next);
        long[] s = new long[shape.length];
        for (int i = 0; i < s.length; i++) s[i] = shape[i];
        boolean copy = t.kind() == TensorSchema.Kind.MTP_COPY;
        if (!t.name().equals(name) || copy != alias || (!alias && (t.trainable() != trainable || !Arrays.equals(t.shape(), s))))
            throw new IllegalStateException("parameter " + name + (alias ? " (alias)" : Arrays.toString(shape) + (trainable ? "" : " frozen"))
                    + " differs from the tensor schema's next tensor " + t + (copy ? " (alias)" : t.trainable() ? "" : " frozen"));
        next++;
    }

    /** Throws unless every tensor of the schema has been declared. */
    public void requireComplete() {
        if (schema != null && next != schema.size())
            throw new IllegalStateException("the layout declares " + next + " of the tensor schema's " + schema.size() + " tensors; missing "
                    + schema.get(next).name());
    }

    /** Appends a tensor; returns its offset. */
    public int add(String name, boolean trainable, int... shape) {
        if (entries.containsKey(name) || aliases.containsKey(name)) throw new IllegalArgumentException("duplicate parameter " + name);
        expect(name, trainable, false, shape);
        long n = 1;
        for (int s : shape) {
            if (s <= 0) throw new IllegalArgumentException("parameter " + name + " has non-positive dimension " + s);
            n *= s;
        }
        if (holds != null && !holds.test(name)) {
            declared.add(new Entry(name, -1, shape.clone(), trainable));
            absent.add(name);
            return -1;
        }
        if (size + n > Integer.MAX_VALUE - 16)
            throw new IllegalArgumentException("parameter arena exceeds 2^31 floats at " + name + " (" + (size + n) + " elements)");
        int e = shard == null ? -1 : ExpertShard.expertOf(name);
        if (e >= 0) {
            if (!shard.holds(e)) {
                declared.add(new Entry(name, -1, shape.clone(), trainable));
                return -1;
            }
            int off = (int) expertNext;
            expertNext += n;
            Entry en = new Entry(name, off, shape.clone(), trainable);
            entries.put(name, en);
            declared.add(en);
            size += n;
            return off;
        }
        int off = (int) (shard == null ? size : size - (expertNext - sharedEnd));
        Entry en = new Entry(name, off, shape.clone(), trainable);
        entries.put(name, en);
        declared.add(en);
        size += n;
        return off;
    }

    /** Appends a Linear weight [rows, cols] (trainable) and names it (a layout without a schema; else {@link #matrix(String)}). */
    public Param matrix(String name, int rows, int cols) { return new Param(name, add(name, true, rows, cols), rows, cols); }

    /** Appends a vector [n] (a norm weight; trainable false: the routing bias) and names it (without a schema; else {@link #vector(String)}). */
    public Param vector(String name, boolean trainable, int n) { return new Param(name, add(name, trainable, n), 1, n); }

    /** Appends the schema's matrix {@code name} with the schema's shape [rows, cols]. */
    public Param matrix(String name) {
        TensorSchema.Tensor t = schemaTensor(name);
        if (t.shape().length != 2) throw new IllegalStateException("parameter " + name + " is " + t + " in the tensor schema, not a matrix");
        return matrix(name, t.rows(), t.cols());
    }

    /** Appends the schema's vector {@code name} with the schema's length and trainability (a norm weight, the routing bias). */
    public Param vector(String name) {
        TensorSchema.Tensor t = schemaTensor(name);
        if (t.shape().length != 1) throw new IllegalStateException("parameter " + name + " is " + t + " in the tensor schema, not a vector");
        return vector(name, t.trainable(), t.cols());
    }

    /** Declares {@code alias} (a checkpoint name) to be the same tensor as {@code target}. */
    public void alias(String alias, String target) {
        if (absent.contains(target)) {                      // a copy of a tensor held by another pipeline rank
            expect(alias, false, true, new int[0]);
            return;
        }
        if (!entries.containsKey(target)) throw new IllegalArgumentException("alias " + alias + " targets unknown " + target);
        if (entries.containsKey(alias) || aliases.containsKey(alias)) throw new IllegalArgumentException("duplicate parameter " + alias);
        expect(alias, false, true, new int[0]);
        if (schema != null && !schema.get(next - 1).slot().copyOf().hfName(-1, -1).equals(target))
            throw new IllegalStateException("alias " + alias + " targets " + target + ", the tensor schema says "
                    + schema.get(next - 1).slot().copyOf().hfName(-1, -1));
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
