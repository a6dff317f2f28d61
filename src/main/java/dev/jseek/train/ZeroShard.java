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

    public ZeroShard(Communicator comm, List<TrainTensor> tensors, int arenaSize, AdamW.Config cfg) {
        this.comm = comm;
        this.tensors = List.copyOf(tensors);
        this.cfg = cfg;
        this.arena = arenaSize;
        int n = comm.size();
        this.starts = boundaries(this.tensors, arenaSize, n);
        this.counts = new int[n];
        for (int r = 0; r < n; r++) counts[r] = starts[r + 1] - starts[r];
        this.lo = starts[comm.rank()];
        this.hi = starts[comm.rank() + 1];
        List<TrainTensor> mine = new ArrayList<>();
        List<Integer> own = new ArrayList<>();
        for (int i = 0; i < this.tensors.size(); i++) {
            TrainTensor t = this.tensors.get(i);
            if (t.offset() >= lo && t.offset() < hi) {
                if (t.offset() + t.size() > hi) throw new IllegalStateException("tensor " + t + " crosses the shard end " + hi);
                mine.add(new TrainTensor(t.name(), t.offset() - lo, t.shape(), t.trainable(), t.decay()));
                if (t.trainable()) own.add(i);
            }
        }
        this.owned = own.stream().mapToInt(Integer::intValue).toArray();
        this.adam = new AdamW(cfg, hi - lo, mine);
        this.gShard = new float[hi - lo];
        this.pShard = new float[hi - lo];
    }

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

    /** Step 1: reduce-scatters the full gradient arena into this rank's shard. */
    public void reduceGradients(float[] grads) {
        comm.reduceScatterSum(grads, 0, counts, gShard, 0);
    }

    /** Step 2: the global gradient norm, bitwise {@link GradClip#globalNorm} of the reduced gradient. */
    public double globalNorm() {
        double[] part = new double[tensors.size()];
        for (int i : owned) {
            TrainTensor t = tensors.get(i);
            int from = t.offset() - lo, to = from + t.size();
            double p = 0;
            for (int j = from; j < to; j++) {
                double g = gShard[j];
                p += g * g;
            }
            part[i] = p;
        }
        double[] all = comm.allGather(part);
        double s = 0;
        int nt = tensors.size();
        for (int i = 0; i < nt; i++) {
            TrainTensor t = tensors.get(i);
            if (!t.trainable()) continue;
            s += all[owner(t) * nt + i];
        }
        return Math.sqrt(s);
    }

    private int owner(TrainTensor t) {
        for (int r = 0; r < counts.length; r++) if (t.offset() >= starts[r] && t.offset() < starts[r + 1]) return r;
        throw new IllegalStateException("tensor " + t + " lies in no shard");
    }

    /** Steps 3-4: AdamW on the shard with the clip coefficient, then the parameters all-gathered into {@code params}. */
    public void step(float[] params, double lr, double gradScale) {
        System.arraycopy(params, lo, pShard, 0, hi - lo);
        adam.step(pShard, gShard, lr, gradScale);
        comm.allGather(pShard, 0, counts, params, 0);
    }

    /**
     * Collective: the moments of every shard sent to rank 0 and assembled there into a full-arena optimizer (for a
     * checkpoint); null on the other ranks, which hold no more than their shard at any time.
     */
    public AdamW gatherOptimizer() {
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
        if (full.size() != arena) throw new IllegalArgumentException("optimizer of " + full.size() + " floats, arena " + arena);
        int eb = cfg.bf16Moments() ? 2 : 4;
        MemorySegment.copy(full.firstMoment(), (long) lo * eb, adam.firstMoment(), 0, (long) (hi - lo) * eb);
        MemorySegment.copy(full.secondMoment(), (long) lo * eb, adam.secondMoment(), 0, (long) (hi - lo) * eb);
        adam.setStep(full.step());
    }
}
