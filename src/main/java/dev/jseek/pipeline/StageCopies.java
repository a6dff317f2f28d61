package dev.jseek.pipeline;

import dev.jseek.model.ModelConfig;
import dev.jseek.parallel.Communicator;
import dev.jseek.parallel.Transfer;
import dev.jseek.train.ParamLayout;
import dev.jseek.train.TrainModel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which pipeline ranks hold a copy of each parameter tensor, and which of them owns it (report §3.2.1). A rank's
 * arena holds only the tensors of the stages it runs ({@link TrainModel#forUnits}): a tensor is held by every rank
 * running its unit's stage for some micro-batch (DualPipe: two ranks, the stage and its mirrored copy), and
 * model.embed_tokens also by the ranks of the head's stage (the MTP modules read it). Its owner is the rank that
 * runs the stage on micro-batch 0's route (1F1B, ZB1P and DualPipe: stage s on rank s; DualPipeV: stages s and 2P-1-s
 * on rank s); the owner updates it.
 *
 * <p>After a step the other holders send their gradient of the tensor to the owner, which sums the holders' parts in
 * rank order ({@link #sumGradients}); after the update the owner sends the new values to the other holders
 * ({@link #shareParameters}). Tensors held by one rank (DualPipeV's, and every block of 1F1B) move nowhere.
 */
public final class StageCopies {
    private final Communicator comm;
    private final int me;
    /** Per tensor name (schema order): its holders ascending, its owner. */
    private final Map<String, int[]> holders = new LinkedHashMap<>();
    private final Map<String, Integer> owner = new LinkedHashMap<>();
    private final ParamLayout layout;

    /**
     * The copies of {@code schedule}'s stages split by {@code part} for the rank of {@code comm}, whose arena is
     * {@code base}'s. The base must hold exactly the tensors of its stages (checked, naming the first that differs).
     */
    public StageCopies(Schedule schedule, StagePartition part, TrainModel base, Communicator comm) {
        this.comm = comm;
        this.me = comm.rank();
        this.layout = base.layout();
        ModelConfig c = base.config();
        int P = schedule.ranks(), L = c.numHiddenLayers();
        boolean[][] units = new boolean[P][];
        for (int q = 0; q < P; q++) units[q] = part.unitsOf(schedule.stagesOf(q));
        for (ParamLayout.Entry e : layout.declared()) {
            String n = e.name();
            List<Integer> h = new ArrayList<>();
            for (int q = 0; q < P; q++) if (TrainModel.holds(units[q], n, c)) h.add(q);
            int o = schedule.rankOf(0, part.stageOf(TrainModel.unitOf(n, L)));
            if (!h.contains(o)) throw new IllegalStateException("tensor " + n + ": its owner, rank " + o + ", does not hold it");
            boolean mine = h.contains(me);
            if (mine != layout.contains(n))
                throw new IllegalArgumentException("pipeline rank " + me + " of " + schedule.name() + ": its arena " + (mine ? "lacks " : "holds ") + n
                        + ", which its stages " + schedule.stagesOf(me) + (mine ? " need" : " do not run") + " (build it with TrainModel.forUnits)");
            holders.put(n, h.stream().mapToInt(Integer::intValue).toArray());
            owner.put(n, o);
        }
    }

    /** The owner rank of tensor {@code name}. */
    public int owner(String name) {
        Integer o = owner.get(name);
        if (o == null) throw new IllegalArgumentException("no tensor " + name);
        return o;
    }

    /** The ranks holding tensor {@code name}, ascending. */
    public int[] holders(String name) { return holders.get(name).clone(); }

    /** Tensors this rank holds that {@code q} owns (to = true) or that this rank owns and q holds (to = false), in schema order. */
    private List<ParamLayout.Entry> between(int q, boolean toOwner) {
        List<ParamLayout.Entry> l = new ArrayList<>();
        for (var e : holders.entrySet()) {
            String n = e.getKey();
            int o = owner.get(n);
            boolean qHolds = false, iHold = false;
            for (int h : e.getValue()) { qHolds |= h == q; iHold |= h == me; }
            if (!iHold || !qHolds) continue;
            if (toOwner ? o == q : o == me) l.add(layout.get(n));
        }
        return l;
    }

    private static int floats(List<ParamLayout.Entry> l) {
        int n = 0;
        for (ParamLayout.Entry e : l) n += e.size();
        return n;
    }

    /** Floats this rank sends per step to other ranks' owners (its copies' gradients) and receives back (their updated values). */
    public long copyFloats() {
        long n = 0;
        for (int q = 0; q < comm.size(); q++) if (q != me) n += floats(between(q, true));
        return n;
    }

    /**
     * Collective over the pipeline group: every holder's gradient of each tensor sent to its owner, which sums the
     * holders' parts in rank order into {@code grads}; the other holders' gradients of it are left as they were.
     */
    public void sumGradients(float[] grads) {
        Map<Integer, float[]> got = exchange(grads, true, 0);
        // per owned tensor, each holder's part: this rank's from grads, the others' from their buffers
        Map<String, Map<Integer, Integer>> at = new LinkedHashMap<>();
        for (int q : got.keySet()) {
            int off = 0;
            for (ParamLayout.Entry en : between(q, false)) {
                at.computeIfAbsent(en.name(), k -> new LinkedHashMap<>()).put(q, off);
                off += en.size();
            }
        }
        for (var e : at.entrySet()) {
            ParamLayout.Entry en = layout.get(e.getKey());
            int[] h = holders.get(e.getKey());
            float[] sum = new float[en.size()];
            boolean first = true;
            for (int q : h) {
                float[] src = q == me ? grads : got.get(q);
                int o = q == me ? en.offset() : e.getValue().get(q);
                if (first) System.arraycopy(src, o, sum, 0, sum.length);
                else for (int i = 0; i < sum.length; i++) sum[i] += src[o + i];
                first = false;
            }
            System.arraycopy(sum, 0, grads, en.offset(), sum.length);
        }
    }

    /** Collective over the pipeline group: each owner's values of its tensors sent to their other holders' {@code params}. */
    public void shareParameters(float[] params) {
        for (var e : exchange(params, false, 1).entrySet()) {
            int at = 0;
            for (ParamLayout.Entry en : between(e.getKey(), true)) { System.arraycopy(e.getValue(), at, params, en.offset(), en.size()); at += en.size(); }
        }
    }

    /**
     * One exchange over the pipeline group, message tag {@code tag}: to every other rank q, the tensors
     * {@code between(q, toOwner)} packed from {@code src}; from q, the tensors {@code between(q, !toOwner)} into a
     * buffer of their own. Returns the received buffers by sending rank, in rank order (empty when nothing moves).
     */
    private Map<Integer, float[]> exchange(float[] src, boolean toOwner, int tag) {
        List<Transfer> t = new ArrayList<>();
        Map<Integer, float[]> got = new LinkedHashMap<>();
        for (int q = 0; q < comm.size(); q++) {
            if (q == me) continue;
            List<ParamLayout.Entry> out = between(q, toOwner), in = between(q, !toOwner);
            if (!out.isEmpty()) {
                float[] buf = new float[floats(out)];
                int at = 0;
                for (ParamLayout.Entry e : out) { System.arraycopy(src, e.offset(), buf, at, e.size()); at += e.size(); }
                t.add(Transfer.send(q, tag, buf, 0, buf.length));
            }
            if (!in.isEmpty()) {
                float[] buf = new float[floats(in)];
                got.put(q, buf);
                t.add(Transfer.recv(q, tag, buf, 0, buf.length));
            }
        }
        if (!t.isEmpty()) comm.exchange(t);
        return got;
    }
}
