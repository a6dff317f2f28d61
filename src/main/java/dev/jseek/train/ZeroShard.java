package dev.jseek.train;

import dev.jseek.parallel.Communicator;
import dev.jseek.parallel.ElemType;
import dev.jseek.parallel.RankOrderSum;
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
 * <p>Expert-sharded arenas ({@link #ZeroShard(Communicator, List, int, AdamW.Config, int, int, List)}; {@link ExpertShard}):
 * the arena is the shared tensors [0, sharedEnd), replicated on every rank and sharded as above over all ranks, then
 * this rank's routed experts [sharedEnd, size), replicated only on the ranks of the same expert-parallel index q (ranks
 * q, q + ep, q + 2 ep, ...: one per expert-parallel group). The experts' region is sharded the same way over those
 * ranks, its reduce-scatter and all-gather run as all-to-all-v calls with zero counts outside them (every q at once),
 * and the reduce-scatter sums in rank order ({@link RankOrderSum}). The shard's optimizer holds both pieces one
 * after the other. The global norm adds per-tensor partials in the order of the whole model's tensors
 * ({@code globalNames}), each partial coming from the one rank that owns it, so it still has the 1-rank bits.
 * Such an arena has no full-arena optimizer on any rank: checkpoints are written per rank ({@link #ownedTensors}).
 *
 * <p>Stage mode (pipeline parallel, {@link #forStage}, report §3.2.1 with ZeRO-1): the arena is a pipeline rank's,
 * holding only its stages' tensors ({@link TrainModel#forUnits}); the shards cover the tensors this rank owns,
 * packed in tensor order into a stage arena; the norm's per-tensor sums are gathered over the data group and then
 * the pipeline group and added in the whole model's order (the 1-rank bits), and the updated tensors are
 * all-gathered over the data group (the pipeline step then sends them to the ranks holding copies). No rank holds
 * the whole model, so checkpoints are written per rank ({@link #sharded}, {@link ShardedCheckpoint}).
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
    /** Expert region (sharedEnd == arena: none): start, the ep group size, this rank's index among its D replicas, their shard starts. */
    private final int sharedEnd, ep, members, member, bLo, bHi;
    private final int[] bStarts;
    /** Index of each tensor in the whole model's order (the global norm's order), and that order's length. */
    private final int[] globalIndex;
    private final int globalCount;
    private final List<TrainTensor> ownedAll = new ArrayList<>();
    private final List<TrainTensor> shardTensors;
    /**
     * Stage mode (null pipe: none): the pipeline group, each model tensor's owner rank (whole model order), the rank's
     * arena's tensors and size, each owned tensor's index in them and in the whole model's order, and the owned
     * tensors of this shard with their arena offsets.
     */
    private Communicator pipe;
    private int[] ownerPipe, sel, selGlobal;
    private List<TrainTensor> full, stageOwned;
    private int fullArena;

    public ZeroShard(Communicator comm, List<TrainTensor> tensors, int arenaSize, AdamW.Config cfg) {
        this(comm, tensors, arenaSize, cfg, arenaSize, 1, null);
    }

    /**
     * An expert-sharded arena: the shared tensors end at {@code sharedEnd}, the rest are this rank's routed experts,
     * replicated on the ranks of the same index in expert-parallel groups of {@code ep}; {@code globalNames} lists the
     * whole model's tensors in order (null: {@code tensors}' names; needed when the arena holds only some experts).
     */
    public ZeroShard(Communicator comm, List<TrainTensor> tensors, int arenaSize, AdamW.Config cfg, int sharedEnd, int ep, List<String> globalNames) {
        this.comm = comm;
        this.tensors = List.copyOf(tensors);
        this.cfg = cfg;
        this.arena = arenaSize;
        this.sharedEnd = sharedEnd;
        int n = comm.size();
        if (sharedEnd < arenaSize && (ep < 2 || n % ep != 0))
            throw new IllegalArgumentException("an expert-sharded arena needs expert-parallel groups that tile the " + n + " ranks, got " + ep);
        this.ep = sharedEnd < arenaSize ? ep : 1;
        List<TrainTensor> shared = new ArrayList<>(), experts = new ArrayList<>();
        for (TrainTensor t : this.tensors) {
            if (t.offset() < sharedEnd && t.offset() + t.size() > sharedEnd) throw new IllegalStateException("tensor " + t + " crosses the shared end " + sharedEnd);
            (t.offset() < sharedEnd ? shared : experts).add(t);
        }
        this.starts = boundaries(shared, sharedEnd, n);
        this.counts = new int[n];
        for (int r = 0; r < n; r++) counts[r] = starts[r + 1] - starts[r];
        this.lo = starts[comm.rank()];
        this.hi = starts[comm.rank() + 1];
        this.members = n / this.ep;
        this.member = comm.rank() / this.ep;
        List<TrainTensor> rebased = new ArrayList<>();
        for (TrainTensor t : experts) rebased.add(new TrainTensor(t.name(), t.offset() - sharedEnd, t.shape(), t.trainable(), t.decay()));
        this.bStarts = boundaries(rebased, arenaSize - sharedEnd, members);
        for (int i = 0; i < bStarts.length; i++) bStarts[i] += sharedEnd;
        this.bLo = bStarts[member];
        this.bHi = bStarts[member + 1];
        List<TrainTensor> mine = new ArrayList<>();
        List<Integer> own = new ArrayList<>();
        for (int i = 0; i < this.tensors.size(); i++) {
            TrainTensor t = this.tensors.get(i);
            int base;
            if (t.offset() >= lo && t.offset() < hi) {
                if (t.offset() + t.size() > hi) throw new IllegalStateException("tensor " + t + " crosses the shard end " + hi);
                base = t.offset() - lo;
            } else if (t.offset() >= bLo && t.offset() < bHi) {
                if (t.offset() + t.size() > bHi) throw new IllegalStateException("tensor " + t + " crosses the shard end " + bHi);
                base = t.offset() - bLo + (hi - lo);
            } else continue;
            mine.add(new TrainTensor(t.name(), base, t.shape(), t.trainable(), t.decay()));
            ownedAll.add(t);
            if (t.trainable()) own.add(i);
        }
        this.owned = own.stream().mapToInt(Integer::intValue).toArray();
        this.shardTensors = List.copyOf(mine);
        int len = hi - lo + bHi - bLo;
        this.adam = new AdamW(cfg, len, mine);
        this.gShard = new float[len];
        this.pShard = new float[len];
        java.util.Map<String, Integer> order = new java.util.HashMap<>();
        List<String> names = globalNames != null ? globalNames : this.tensors.stream().map(TrainTensor::name).toList();
        for (int i = 0; i < names.size(); i++) order.put(names.get(i), i);
        this.globalCount = names.size();
        this.globalIndex = new int[this.tensors.size()];
        for (int i = 0; i < globalIndex.length; i++) {
            Integer g = order.get(this.tensors.get(i).name());
            if (g == null) throw new IllegalArgumentException("tensor " + this.tensors.get(i).name() + " is not among the model's tensors");
            globalIndex[i] = g;
        }
    }

    /**
     * Stage mode: {@code tensors} are a pipeline rank's arena of {@code arenaSize} floats (its stages' tensors);
     * tensor {@code globalNames[i]} of the whole model is updated by pipeline rank {@code ownerPipe[i]} of {@code pipe}
     * (the rank running the stage that holds it), and its AdamW moments and reduced gradient are sharded over
     * {@code data}, that stage's data-parallel ranks (null: the stage has no other). A rank therefore holds the moments
     * of 1/data.size() of the tensors it owns, not of the whole model. Tensors the arena holds but another rank owns
     * (copies) are neither reduced nor updated here.
     */
    public static ZeroShard forStage(Communicator data, Communicator pipe, List<String> globalNames, int[] ownerPipe, List<TrainTensor> tensors,
                                     int arenaSize, AdamW.Config cfg) {
        if (ownerPipe.length != globalNames.size())
            throw new IllegalArgumentException("stage-mode ZeRO needs an owner for each of the model's " + globalNames.size() + " tensors, got " + ownerPipe.length);
        java.util.Map<String, Integer> global = new java.util.HashMap<>();
        for (int i = 0; i < globalNames.size(); i++) {
            if (ownerPipe[i] < 0 || ownerPipe[i] >= pipe.size())
                throw new IllegalArgumentException("tensor " + globalNames.get(i) + " owned by pipeline rank " + ownerPipe[i]);
            global.put(globalNames.get(i), i);
        }
        List<TrainTensor> packed = new ArrayList<>();
        List<Integer> sel = new ArrayList<>(), selGlobal = new ArrayList<>();
        int at = 0;
        for (int i = 0; i < tensors.size(); i++) {
            TrainTensor t = tensors.get(i);
            Integer g = global.get(t.name());
            if (g == null) throw new IllegalArgumentException("tensor " + t.name() + " is not among the model's tensors");
            if (ownerPipe[g] != pipe.rank()) continue;
            packed.add(new TrainTensor(t.name(), at, t.shape(), t.trainable(), t.decay()));
            sel.add(i);
            selGlobal.add(g);
            at += t.size();
        }
        // no data group: a one-rank group in this process (its collectives are local copies)
        Communicator d = data != null ? data : new dev.jseek.parallel.ThreadComm.Group(1, dev.jseek.parallel.CommConfig.timeoutNanos()).member(0);
        ZeroShard z = new ZeroShard(d, packed, at, cfg);
        z.pipe = pipe;
        z.ownerPipe = ownerPipe.clone();
        z.sel = sel.stream().mapToInt(Integer::intValue).toArray();
        z.selGlobal = selGlobal.stream().mapToInt(Integer::intValue).toArray();
        z.full = List.copyOf(tensors);
        z.fullArena = arenaSize;
        java.util.Map<String, TrainTensor> byName = new java.util.HashMap<>();
        for (TrainTensor t : tensors) byName.put(t.name(), t);
        List<TrainTensor> owned = new ArrayList<>();
        for (TrainTensor t : z.ownedAll) owned.add(byName.get(t.name()));
        z.stageOwned = List.copyOf(owned);
        return z;
    }

    /** Floats this rank's stages own (the whole arena outside stage mode): what its data group shards. */
    public int stageFloats() { return arena; }

    /** The owned tensors packed back to back in tensor order (stage mode). */
    private float[] pack(float[] src) {
        float[] p = new float[arena];
        int at = 0;
        for (int i : sel) {
            TrainTensor t = full.get(i);
            System.arraycopy(src, t.offset(), p, at, t.size());
            at += t.size();
        }
        return p;
    }

    /** Copies tensors {@code idx} of the whole arena, packed back to back from {@code from}, to their offsets. */
    private void unpack(float[] src, int from, int[] idx, float[] params) {
        int at = from;
        for (int i : idx) {
            TrainTensor t = full.get(i);
            System.arraycopy(src, at, params, t.offset(), t.size());
            at += t.size();
        }
    }

    /** True when the arena holds only this rank's routed experts (no rank has a full-arena optimizer). */
    public boolean expertSharded() { return sharedEnd < arena; }

    /** True when no rank holds the whole model (expert-sharded or stage mode): checkpoints are written per rank ({@link #ownedTensors}). */
    public boolean sharded() { return expertSharded() || pipe != null; }

    /**
     * The tensors whose AdamW moments this rank holds (its shard of the shared tensors and of its experts), with
     * their offsets in the arena: every tensor of the whole model is owned by exactly one rank.
     */
    public List<TrainTensor> ownedTensors() { return pipe != null ? stageOwned : java.util.Collections.unmodifiableList(ownedAll); }

    /** {@link #ownedTensors} with their offsets in the shard's optimizer ({@link #optimizer}). */
    public List<TrainTensor> shardTensors() { return shardTensors; }


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
    public long optimizerBytes() { return 2L * (hi - lo + bHi - bLo) * (cfg.bf16Moments() ? 2 : 4); }

    /** Bytes of the reduced gradient shard (besides the full accumulation arena). */
    public long gradShardBytes() { return 4L * (hi - lo + bHi - bLo); }

    /** Floats of the arena whose optimizer state this rank holds. */
    public int shardFloats() { return hi - lo + bHi - bLo; }

    /** Step 1: reduce-scatters the full gradient arena into this rank's shard. */
    public void reduceGradients(float[] grads) {
        if (pipe != null) grads = pack(grads);          // stage mode: its owned tensors
        comm.reduceScatterSum(grads, 0, counts, gShard, 0);
        if (!expertSharded()) return;
        int len = bHi - bLo, off = hi - lo;
        if (members == 1) { System.arraycopy(grads, bLo, gShard, off, len); return; }
        Exchange x = expertExchange(sharedEnd, true);
        MemorySegment parts = comm.scratch(0, 4L * Math.max(1, members * len));
        comm.allToAllV(MemorySegment.ofArray(grads).asSlice(4L * sharedEnd), x.partCounts, x.partDispls, parts, x.shardCounts, x.shardDispls, ElemType.FLOAT);
        MemorySegment out = MemorySegment.ofArray(gShard).asSlice(4L * off, 4L * len);
        RankOrderSum.sum(parts, members, len, out);
    }

    /**
     * The all-to-all-v counts and displacements, per rank of the group, of the expert block's exchange among this
     * rank's expert-shard members (rank q + j ep is member j; other ranks get 0): member j's part of the block,
     * [bStarts[j], bStarts[j+1]) less {@code partBase}, and this rank's shard of it, len = bHi - bLo floats, at j len
     * ({@code gathered}: the reduce receives every member's copy of it side by side) or at hi - lo in pShard.
     */
    private Exchange expertExchange(int partBase, boolean gathered) {
        int n = comm.size(), q = comm.rank() % ep, len = bHi - bLo, off = hi - lo;
        Exchange x = new Exchange(new int[n], new int[n], new int[n], new int[n]);
        for (int j = 0; j < members; j++) {
            int r = q + j * ep;
            x.partCounts[r] = bStarts[j + 1] - bStarts[j];
            x.partDispls[r] = bStarts[j] - partBase;
            x.shardCounts[r] = len;
            x.shardDispls[r] = gathered ? j * len : off;
        }
        return x;
    }

    /** All-to-all-v counts and displacements (per rank) of the expert parts and of this rank's shard ({@link #expertExchange}). */
    private record Exchange(int[] partCounts, int[] partDispls, int[] shardCounts, int[] shardDispls) {}

    /** Step 2: the global gradient norm, bitwise {@link GradClip#globalNorm} of the reduced gradient. */
    public double globalNorm() {
        double[] part = new double[globalCount];
        for (int i : owned) {
            TrainTensor t = tensors.get(i);
            int from = t.offset() < sharedEnd ? t.offset() - lo : t.offset() - bLo + (hi - lo), to = from + t.size();
            double p = 0;
            for (int j = from; j < to; j++) {
                double g = gShard[j];
                p += g * g;
            }
            part[globalIndex[i]] = p;
        }
        double[] all = comm.allGather(part);
        double s = 0;
        int nt = globalCount, n = comm.size();
        double[] per = new double[nt];
        for (int i = 0; i < nt; i++) {          // one rank owns each tensor; the others hold +0.0, which adds exactly
            double p = 0;
            for (int r = 0; r < n; r++) p += all[r * nt + i];
            per[i] = p;
        }
        if (pipe != null) {                     // stage mode: the stages' sums in the whole model's tensor order
            int NT = ownerPipe.length, P = pipe.size();
            double[] mine = new double[NT];
            for (int k = 0; k < sel.length; k++) mine[selGlobal[k]] = per[k];
            double[] every = P == 1 ? mine : pipe.allGather(mine);
            per = new double[NT];
            for (int i = 0; i < NT; i++) per[i] = every[ownerPipe[i] * NT + i];
        }
        for (double p : per) s += p;
        return Math.sqrt(s);
    }

    /** Steps 3-4: AdamW on the shard with the clip coefficient, then the parameters all-gathered into {@code params}. */
    public void step(float[] params, double lr, double gradScale) {
        if (pipe != null) {                     // stage mode: the packed owned tensors, then over the pipeline group
            float[] own = pack(params);
            System.arraycopy(own, lo, pShard, 0, hi - lo);
            adam.step(pShard, gShard, lr, gradScale);
            comm.allGather(pShard, 0, counts, own, 0);
            unpack(own, 0, sel, params);        // the copies on other pipeline ranks: PipelineStep#shareParameters
            return;
        }
        System.arraycopy(params, lo, pShard, 0, hi - lo);
        System.arraycopy(params, bLo, pShard, hi - lo, bHi - bLo);
        adam.step(pShard, gShard, lr, gradScale);
        comm.allGather(pShard, 0, counts, params, 0);
        if (!expertSharded()) return;
        int len = bHi - bLo, off = hi - lo;
        if (members == 1) { System.arraycopy(pShard, off, params, bLo, len); return; }
        Exchange x = expertExchange(0, false);
        comm.allToAllV(MemorySegment.ofArray(pShard), x.shardCounts, x.shardDispls, MemorySegment.ofArray(params), x.partCounts, x.partDispls, ElemType.FLOAT);
    }

    /**
     * Collective: the moments of every shard sent to rank 0 and assembled there into a full-arena optimizer (for a
     * checkpoint); null on the other ranks, which hold no more than their shard at any time.
     */
    public AdamW gatherOptimizer() {
        if (sharded()) throw new IllegalStateException("an expert-sharded or pipeline stage's arena has no full optimizer on one rank; checkpoints are written per rank");
        int eb = cfg.bf16Moments() ? 2 : 4;
        if (comm.rank() != 0) {
            long bytes = (long) (hi - lo) * eb;
            comm.exchange(List.of(
                    Transfer.send(0, 1, adam.firstMoment(), Math.toIntExact(bytes), ElemType.BYTE),
                    Transfer.send(0, 2, adam.secondMoment(), Math.toIntExact(bytes), ElemType.BYTE)));
            return null;
        }
        AdamW full = new AdamW(cfg, arena, tensors);
        full.setStep(adam.step());
        MemorySegment.copy(adam.firstMoment(), 0, full.firstMoment(), 0, (long) (hi - lo) * eb);
        MemorySegment.copy(adam.secondMoment(), 0, full.secondMoment(), 0, (long) (hi - lo) * eb);
        List<Transfer> recv = new ArrayList<>();
        for (int r = 1; r < counts.length; r++) {
            long off = (long) starts[r] * eb, bytes = (long) counts[r] * eb;
            recv.add(Transfer.recv(r, 1, full.firstMoment().asSlice(off, bytes), Math.toIntExact(bytes), ElemType.BYTE));
            recv.add(Transfer.recv(r, 2, full.secondMoment().asSlice(off, bytes), Math.toIntExact(bytes), ElemType.BYTE));
        }
        comm.exchange(recv);
        return full;
    }

    /** Takes this rank's shard of a full-arena optimizer's moments and its step count (after a resume). */
    public void loadFrom(AdamW full) {
        if (pipe != null) {                     // stage mode: this shard's owned tensors, from their whole-arena offsets
            if (full.size() != fullArena) throw new IllegalArgumentException("optimizer of " + full.size() + " floats, arena " + fullArena);
            int eb = cfg.bf16Moments() ? 2 : 4;
            for (int k = 0, at = 0; k < sel.length; at += this.full.get(sel[k]).size(), k++) {
                if (at < lo || at >= hi) continue;
                TrainTensor t = this.full.get(sel[k]);
                long n = (long) t.size() * eb;
                MemorySegment.copy(full.firstMoment(), (long) t.offset() * eb, adam.firstMoment(), (long) (at - lo) * eb, n);
                MemorySegment.copy(full.secondMoment(), (long) t.offset() * eb, adam.secondMoment(), (long) (at - lo) * eb, n);
            }
            adam.setStep(full.step());
            return;
        }
        if (full.size() != arena) throw new IllegalArgumentException("optimizer of " + full.size() + " floats, arena " + arena);
        int eb = cfg.bf16Moments() ? 2 : 4;
        MemorySegment.copy(full.firstMoment(), (long) lo * eb, adam.firstMoment(), 0, (long) (hi - lo) * eb);
        MemorySegment.copy(full.secondMoment(), (long) lo * eb, adam.secondMoment(), 0, (long) (hi - lo) * eb);
        MemorySegment.copy(full.firstMoment(), (long) bLo * eb, adam.firstMoment(), (long) (hi - lo) * eb, (long) (bHi - bLo) * eb);
        MemorySegment.copy(full.secondMoment(), (long) bLo * eb, adam.secondMoment(), (long) (hi - lo) * eb, (long) (bHi - bLo) * eb);
        adam.setStep(full.step());
    }
}
