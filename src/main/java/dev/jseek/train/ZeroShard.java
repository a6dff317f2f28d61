package dev.jseek.train;

import dev.jseek.parallel.Communicator;
import dev.jseek.parallel.ElemType;
import dev.jseek.parallel.Transfer;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * ZeRO stage 1 over a {@link Communicator} of data-parallel ranks (report §3.2: DeepSeek-V3 trains with ZeRO-1 data
 * parallelism): every rank keeps the full FP32 parameters and a full gradient arena (its micro-batches accumulate
 * there), but the AdamW moments only of its shard of the arena. One optimizer step:
 * <ol>
 *   <li>the gradient arena is reduce-scattered: each rank gets the rank-ordered sum of its shard
 *       ({@link Communicator#reduceScatterSum});</li>
 *   <li>the global gradient norm: each rank sums g^2 per trainable tensor of its shard in double, exactly as
 *       {@link GradClip#globalNorm} does; the per-tensor sums are gathered and added in tensor order, so the norm
 *       has the bits of the 1-rank norm of the same gradient;</li>
 *   <li>{@link AdamW} updates the shard's parameters with the shard's moments;</li>
 *   <li>the parameter shards are all-gathered into every rank's arena.</li>
 * </ol>
 * Shards are contiguous ranges whose boundaries fall on tensor boundaries (balanced greedily by size), so a tensor's
 * norm partial and update happen on one rank. AdamW is element-wise, so steps 3-4 equal the 1-rank update exactly.
 * For checkpoints the moments are gathered on rank 0 into a full-arena {@link AdamW} ({@link #gatherOptimizer}) and
 * a full optimizer is sliced back ({@link #loadFrom}): checkpoints do not depend on the number of ranks.
 *
 * <p>Stage mode (pipeline parallel, {@link #ZeroShard(Communicator, Communicator, int[], List, int, AdamW.Config)}):
 * the shards cover only the tensors of the stages this pipeline rank owns, packed in tensor order; the norm's
 * per-tensor sums are gathered over the data group and then the pipeline group, the updated tensors are all-gathered
 * over both, and a checkpoint's moments are assembled stage by stage on rank 0.
 */
public final class ZeroShard {
    private final Communicator comm;
    private final List<TrainTensor> tensors;
    private final AdamW.Config cfg;
    private final int arena;
    private final int[] counts, starts;
    private final int lo, hi;
    private final AdamW adam;
    private final float[] gShard, pShard;
    private final int[] owned;          // indices (into tensors) of this shard's trainable tensors
    // Stage mode (pipeline parallel): the shards cover only the tensors this pipeline rank owns ("sel"), packed in
    // tensor order into a stage arena of "packed" floats at packOff; pipe == null: the whole arena, packOff = offset.
    private final Communicator pipe;
    private final int[] ownerPipe;      // per tensor: the pipeline rank that updates it (stage mode)
    private final int[] sel, packOff;   // sel: tensor indices this rank owns; packOff: per tensor index, its packed offset (-1: not owned)
    private final int packed;

    public ZeroShard(Communicator comm, List<TrainTensor> tensors, int arenaSize, AdamW.Config cfg) {
        this(comm, null, null, tensors, arenaSize, cfg);
    }

    /**
     * Stage mode (pipeline parallel, report §3.2.1 with ZeRO-1): tensor i is updated by pipeline rank
     * {@code ownerPipe[i]} of {@code pipe} (the rank running the stage that holds it), and its AdamW moments and
     * reduced gradient are sharded over {@code data}, that stage's data-parallel ranks. A rank therefore holds the
     * moments of 1/data.size() of its own stages' tensors, not of the whole model. After the update the owners'
     * parameters are all-gathered over {@code pipe}, so every rank's arena stays the 1-rank one. {@code data} null:
     * the stage has no other data-parallel rank.
     */
    public ZeroShard(Communicator data, Communicator pipe, int[] ownerPipe, List<TrainTensor> tensors, int arenaSize, AdamW.Config cfg) {
        this.comm = data;
        this.pipe = pipe;
        this.tensors = List.copyOf(tensors);
        this.cfg = cfg;
        this.arena = arenaSize;
        int nt = this.tensors.size();
        if (pipe != null && (ownerPipe == null || ownerPipe.length != nt))
            throw new IllegalArgumentException("stage-mode ZeRO needs an owner for each of the " + nt + " tensors");
        this.ownerPipe = ownerPipe == null ? null : ownerPipe.clone();
        this.packOff = new int[nt];
        List<Integer> selL = new ArrayList<>();
        List<TrainTensor> pk = new ArrayList<>();
        int at = 0;
        for (int i = 0; i < nt; i++) {
            TrainTensor t = this.tensors.get(i);
            if (pipe == null) { packOff[i] = t.offset(); selL.add(i); pk.add(t); continue; }
            if (ownerPipe[i] < 0 || ownerPipe[i] >= pipe.size()) throw new IllegalArgumentException("tensor " + t.name() + " owned by pipeline rank " + ownerPipe[i]);
            if (ownerPipe[i] != pipe.rank()) { packOff[i] = -1; continue; }
            packOff[i] = at;
            selL.add(i);
            pk.add(new TrainTensor(t.name(), at, t.shape(), t.trainable(), t.decay()));
            at += t.size();
        }
        this.sel = selL.stream().mapToInt(Integer::intValue).toArray();
        this.packed = pipe == null ? arenaSize : at;
        int n = data == null ? 1 : data.size(), me = data == null ? 0 : data.rank();
        this.starts = boundaries(pk, packed, n);
        this.counts = new int[n];
        for (int r = 0; r < n; r++) counts[r] = starts[r + 1] - starts[r];
        this.lo = starts[me];
        this.hi = starts[me + 1];
        List<TrainTensor> mine = new ArrayList<>();
        List<Integer> own = new ArrayList<>();
        for (int k = 0; k < sel.length; k++) {
            TrainTensor t = pk.get(k);
            if (t.offset() >= lo && t.offset() < hi) {
                if (t.offset() + t.size() > hi) throw new IllegalStateException("tensor " + t + " crosses the shard end " + hi);
                mine.add(new TrainTensor(t.name(), t.offset() - lo, t.shape(), t.trainable(), t.decay()));
                if (t.trainable()) own.add(sel[k]);
            }
        }
        this.owned = own.stream().mapToInt(Integer::intValue).toArray();
        this.adam = new AdamW(cfg, hi - lo, mine);
        this.gShard = new float[hi - lo];
        this.pShard = new float[hi - lo];
    }

    /** Floats this rank's stages own (the whole arena outside stage mode): what its data group shards. */
    public int stageFloats() { return packed; }

    /**
     * Shard starts (n + 1 entries, the last = arena size): cut points at tensor starts (or the arena end), each the
     * one nearest to r * size / n, non-decreasing. Tensors must not overlap.
     */
    static int[] boundaries(List<TrainTensor> tensors, int size, int n) {
        List<Integer> cuts = new ArrayList<>();
        for (TrainTensor t : tensors) cuts.add(t.offset());
        cuts.add(size);
        cuts.sort(null);
        int[] s = new int[n + 1];
        s[n] = size;
        for (int r = 1; r < n; r++) {
            long target = (long) size * r / n;
            int best = s[r - 1];
            for (int c : cuts) if (c >= s[r - 1] && Math.abs(c - target) < Math.abs(best - target)) best = c;
            s[r] = best;
        }
        for (int r = 1; r <= n; r++) if (s[r] < s[r - 1]) s[r] = s[r - 1];
        return s;
    }

    /** Arena elements per rank. */
    public int[] counts() { return counts.clone(); }

    /** This rank's range [lo, hi) of the arena. */
    public int from() { return lo; }

    public int to() { return hi; }

    /** The shard's optimizer (moments of [from, to) only). */
    public AdamW optimizer() { return adam; }

    /** Bytes of AdamW moments this rank holds. */
    public long optimizerBytes() { return 2L * (hi - lo) * (cfg.bf16Moments() ? 2 : 4); }

    /** Bytes of the reduced gradient shard (besides the full accumulation arena). */
    public long gradShardBytes() { return 4L * (hi - lo); }

    /** Step 1: reduce-scatters the full gradient arena (stage mode: its owned tensors, packed) into this rank's shard. */
    public void reduceGradients(float[] grads) {
        if (pipe == null) { comm.reduceScatterSum(grads, 0, counts, gShard, 0); return; }
        float[] g = comm == null ? gShard : new float[packed];
        for (int i : sel) System.arraycopy(grads, tensors.get(i).offset(), g, packOff[i], tensors.get(i).size());
        if (comm != null) comm.reduceScatterSum(g, 0, counts, gShard, 0);
    }

    /** Step 2: the global gradient norm, bitwise {@link GradClip#globalNorm} of the reduced gradient. */
    public double globalNorm() {
        int nt = tensors.size();
        double[] part = new double[nt];
        for (int i : owned) {
            TrainTensor t = tensors.get(i);
            int from = packOff[i] - lo, to = from + t.size();
            double p = 0;
            for (int j = from; j < to; j++) {
                double g = gShard[j];
                p += g * g;
            }
            part[i] = p;
        }
        double[] all = comm == null ? part : comm.allGather(part);
        double[] stage = new double[nt];                 // each owned tensor's sum, from its data rank
        for (int i : sel) if (tensors.get(i).trainable()) stage[i] = all[owner(packOff[i]) * nt + i];
        double[] every = pipe == null || pipe.size() == 1 ? stage : pipe.allGather(stage);
        double s = 0;
        for (int i = 0; i < nt; i++) {
            if (!tensors.get(i).trainable()) continue;
            s += pipe == null || pipe.size() == 1 ? every[i] : every[ownerPipe[i] * nt + i];
        }
        return Math.sqrt(s);
    }

    private int owner(int packedOffset) {
        for (int r = 0; r < counts.length; r++) if (packedOffset >= starts[r] && packedOffset < starts[r + 1]) return r;
        throw new IllegalStateException("offset " + packedOffset + " lies in no shard");
    }

    /**
     * Steps 3-4: AdamW on the shard with the clip coefficient, then the parameters all-gathered into {@code params}
     * (stage mode: over the stage's data group, then the stages' tensors over the pipeline group).
     */
    public void step(float[] params, double lr, double gradScale) {
        if (pipe == null) {
            System.arraycopy(params, lo, pShard, 0, hi - lo);
            adam.step(pShard, gShard, lr, gradScale);
            comm.allGather(pShard, 0, counts, params, 0);
            return;
        }
        for (int i : sel) {
            int o = packOff[i];
            if (o >= lo && o < hi) System.arraycopy(params, tensors.get(i).offset(), pShard, o - lo, tensors.get(i).size());
        }
        adam.step(pShard, gShard, lr, gradScale);
        float[] p = pShard;
        if (comm != null) {
            p = new float[packed];
            comm.allGather(pShard, 0, counts, p, 0);
        }
        if (pipe.size() == 1) { unpack(p, 0, sel, params); return; }
        int P = pipe.size();
        int[] sizes = new int[P];
        List<List<Integer>> of = new ArrayList<>();
        for (int q = 0; q < P; q++) of.add(new ArrayList<>());
        for (int i = 0; i < tensors.size(); i++) { sizes[ownerPipe[i]] += tensors.get(i).size(); of.get(ownerPipe[i]).add(i); }
        int total = 0;
        for (int c : sizes) total += c;
        float[] every = new float[total];
        pipe.allGather(p, 0, sizes, every, 0);
        int base = 0;
        for (int q = 0; q < P; q++) {
            unpack(every, base, of.get(q).stream().mapToInt(Integer::intValue).toArray(), params);
            base += sizes[q];
        }
    }

    /** Copies tensors {@code idx} (packed back to back in tensor order from {@code from}) to their arena offsets. */
    private void unpack(float[] src, int from, int[] idx, float[] params) {
        int at = from;
        for (int i : idx) {
            TrainTensor t = tensors.get(i);
            System.arraycopy(src, at, params, t.offset(), t.size());
            at += t.size();
        }
    }

    /**
     * Collective: the moments of every shard sent to rank 0 and assembled there into a full-arena optimizer (for a
     * checkpoint); null on the other ranks, which hold no more than their shard at any time. Stage mode: each
     * stage's moments are first assembled on its data rank 0 (the pipeline group of replica 0), then sent to
     * pipeline rank 0.
     */
    public AdamW gatherOptimizer() {
        int eb = cfg.bf16Moments() ? 2 : 4;
        if (comm != null && comm.rank() != 0) {
            long bytes = (long) (hi - lo) * eb;
            comm.exchange(List.of(
                    Transfer.send(0, 1, adam.firstMoment(), Math.toIntExact(bytes), ElemType.BYTE),
                    Transfer.send(0, 2, adam.secondMoment(), Math.toIntExact(bytes), ElemType.BYTE)));
            return null;
        }
        AdamW full = new AdamW(cfg, packed, pipe == null ? tensors : List.of());
        full.setStep(adam.step());
        MemorySegment.copy(adam.firstMoment(), 0, full.firstMoment(), (long) lo * eb, (long) (hi - lo) * eb);
        MemorySegment.copy(adam.secondMoment(), 0, full.secondMoment(), (long) lo * eb, (long) (hi - lo) * eb);
        List<Transfer> recv = new ArrayList<>();
        for (int r = 0; r < counts.length; r++) {
            if (r == (comm == null ? 0 : comm.rank())) continue;
            long off = (long) starts[r] * eb, bytes = (long) counts[r] * eb;
            recv.add(Transfer.recv(r, 1, full.firstMoment().asSlice(off, bytes), Math.toIntExact(bytes), ElemType.BYTE));
            recv.add(Transfer.recv(r, 2, full.secondMoment().asSlice(off, bytes), Math.toIntExact(bytes), ElemType.BYTE));
        }
        if (comm != null) comm.exchange(recv);
        if (pipe == null) return full;
        // full holds this stage's packed moments; pipeline rank 0 assembles the whole arena's
        long bytes = (long) packed * eb;
        if (pipe.rank() != 0) {
            pipe.exchange(List.of(
                    Transfer.send(0, 1, full.firstMoment(), Math.toIntExact(bytes), ElemType.BYTE),
                    Transfer.send(0, 2, full.secondMoment(), Math.toIntExact(bytes), ElemType.BYTE)));
            return null;
        }
        int P = pipe.size();
        int[] sizes = new int[P];
        for (int i = 0; i < tensors.size(); i++) sizes[ownerPipe[i]] += tensors.get(i).size();
        AdamW[] parts = new AdamW[P];
        parts[0] = full;
        List<Transfer> got = new ArrayList<>();
        for (int q = 1; q < P; q++) {
            parts[q] = new AdamW(cfg, sizes[q], List.of());
            long b = (long) sizes[q] * eb;
            got.add(Transfer.recv(q, 1, parts[q].firstMoment(), Math.toIntExact(b), ElemType.BYTE));
            got.add(Transfer.recv(q, 2, parts[q].secondMoment(), Math.toIntExact(b), ElemType.BYTE));
        }
        pipe.exchange(got);
        AdamW whole = new AdamW(cfg, arena, tensors);
        whole.setStep(adam.step());
        long[] at = new long[P];
        for (int i = 0; i < tensors.size(); i++) {
            TrainTensor t = tensors.get(i);
            int q = ownerPipe[i];
            long n = (long) t.size() * eb, dst = (long) t.offset() * eb;
            MemorySegment.copy(parts[q].firstMoment(), at[q], whole.firstMoment(), dst, n);
            MemorySegment.copy(parts[q].secondMoment(), at[q], whole.secondMoment(), dst, n);
            at[q] += n;
        }
        return whole;
    }

    /** Takes this rank's shard of a full-arena optimizer's moments and its step count (after a resume). */
    public void loadFrom(AdamW full) {
        if (full.size() != arena) throw new IllegalArgumentException("optimizer of " + full.size() + " floats, arena " + arena);
        int eb = cfg.bf16Moments() ? 2 : 4;
        for (int i : sel) {
            int o = packOff[i];
            if (o < lo || o >= hi) continue;
            long n = (long) tensors.get(i).size() * eb;
            MemorySegment.copy(full.firstMoment(), (long) tensors.get(i).offset() * eb, adam.firstMoment(), (long) (o - lo) * eb, n);
            MemorySegment.copy(full.secondMoment(), (long) tensors.get(i).offset() * eb, adam.secondMoment(), (long) (o - lo) * eb, n);
        }
        adam.setStep(full.step());
    }
}
