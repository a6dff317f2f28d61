package dev.jseek.pipeline;

import dev.jseek.parallel.Communicator;
import dev.jseek.parallel.ElemType;
import dev.jseek.parallel.SubComm;
import dev.jseek.parallel.Transfer;
import dev.jseek.train.TrainModel;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Executes a {@link Schedule} for one training step on this rank of a pipeline group (report §3.2.1): the rank's
 * stages of the model ({@link StagePartition}) run their F, B (input gradient) and W (weight gradient) ops in the
 * schedule's order; activations and gradients move between ranks through the communicator's batched non-blocking
 * send/receive ({@link Communicator#exchange}), one batch per run of consecutive SEND/RECV ops.
 *
 * <p>Each micro-batch in flight on a stage has its own activation arenas, laid out for that stage's units only (a
 * {@link TrainModel} slot sharing the rank's parameter and gradient arenas, {@link TrainModel#TrainModel(TrainModel, int, int)},
 * taken on its F and returned by its W; {@link StepResult#peakActivationBytes} is the most bytes they held at once), so the W queue is the set of slots whose B
 * has run and whose W has not; it must be empty at the end of the step (checked: an {@link IllegalStateException}
 * naming the rank and the stages left). Without expert parallelism an F&amp;B pair runs its forward and then its
 * backward (on a CPU both would compete for the same cores); with it ({@code expert}, the expert-parallel group of
 * this stage rank, {@link RankGrid#expert()}) the two halves take turns at every expert all-to-all so that one
 * micro-batch's dispatch and combine are in flight while the other computes ({@link FbOverlap}, report Figure 4;
 * {@code -Djseek.pipeline.overlap=false} runs them in order). Every micro-batch slot's MoE layers use the group
 * through a view of their own.
 *
 * <p>Each rank's parameter and gradient arenas hold only the tensors of its stages ({@link TrainModel#forUnits}); at
 * the end of the step the gradients of tensors held by several ranks (a stage's two copies in DualPipe, the embedding
 * used by the first stage and by the MTP modules of the last) are summed on their owner in rank order
 * ({@link StageCopies#sumGradients}); after the optimizer step {@link #shareParameters} sends the owners' values to the
 * copies. Losses are returned by the rank of each micro-batch's last stage and shared with all ranks.
 */
public final class PipelineRunner {
    /** One micro-batch: B sequences of T input tokens and their next-token targets. */
    public record MicroBatch(int[] tokens, int[] targets) {}

    /** A compute op as it ran: nanoseconds since the step's start barrier. */
    public record Timed(int rank, Op op, long startNs, long endNs) {}

    /**
     * Per micro-batch total, main CE, mean MTP CE and balance losses (as {@link TrainModel#forward}), this rank's
     * timeline, its peak of micro-batch stages holding activations, and its expert all-to-all times (nanoseconds):
     * inside F&amp;B pairs, post to completion ({@code pairCommNs}) and the part not hidden behind the other half
     * ({@code pairExposedNs}); outside pairs ({@code plainCommNs}).
     */
    public record StepResult(double[] total, double[] main, double[] mtp, double[] balance, List<Timed> timeline, int peakSlots,
                             long pairCommNs, long pairExposedNs, long plainCommNs, long peakActivationBytes) {}

    private final Schedule schedule;
    private final StagePartition part;
    private final TrainModel base;
    private final Communicator comm;
    private final List<TrainModel> slots = new ArrayList<>();
    /** Per stage, its free micro-batch slots (activation arenas of that stage's units). */
    private final Map<Integer, ArrayDeque<TrainModel>> free = new HashMap<>();
    private final StageCopies copies;
    private final SubComm expert;
    private final Map<TrainModel, FbOverlap.SlotComm> slotComms = new java.util.IdentityHashMap<>();
    private final FbOverlap overlap;
    private boolean overlapOn;

    public PipelineRunner(Schedule schedule, StagePartition part, TrainModel base, Communicator comm) {
        this(schedule, part, base, comm, null);
    }

    /**
     * A runner whose MoE layers shard their experts over {@code expert} (null: all experts on every rank); the base
     * model's maxBatch must cover the group's rows ({@link TrainModel#setExpertParallel}).
     */
    public PipelineRunner(Schedule schedule, StagePartition part, TrainModel base, Communicator comm, SubComm expert) {
        if (comm.size() != schedule.ranks())
            throw new IllegalArgumentException("schedule " + schedule.name() + " needs " + schedule.ranks() + " ranks, the group has " + comm.size());
        if (part.stages() != schedule.stages())
            throw new IllegalArgumentException("schedule " + schedule.name() + " has " + schedule.stages() + " stages, the partition " + part.stages());
        if (part.units() != base.units())
            throw new IllegalArgumentException("the partition covers " + part.units() + " units, the model has " + base.units());
        this.schedule = schedule;
        this.part = part;
        this.base = base;
        this.comm = comm;
        this.expert = expert;
        this.overlap = expert == null ? null : new FbOverlap();
        this.overlapOn = Boolean.parseBoolean(System.getProperty(FbOverlap.PROPERTY, "true"));
        this.copies = new StageCopies(schedule, part, base, comm);
        slots.add(base);                  // its expert loads (none: it runs nothing) are summed with the slots'
    }

    /** A free slot of stage s (a new one when all are in flight). */
    private TrainModel take(int s) {
        TrainModel m = free.computeIfAbsent(s, k -> new ArrayDeque<>()).poll();
        if (m == null) {
            m = new TrainModel(base, part.first(s), part.end(s));
            m.setMtpLambda(base.mtpLambda());
            addSlot(m);
        }
        return m;
    }

    private void addSlot(TrainModel m) {
        slots.add(m);
        if (expert != null) {
            FbOverlap.SlotComm sc = new FbOverlap.SlotComm(expert, overlap.stats);
            slotComms.put(m, sc);
            m.setExpertParallel(sc, expert.size());
        }
    }

    private java.util.concurrent.Semaphore computeToken;

    /**
     * Measurement mode (null: off): every compute op of this runner first takes the token, so with one token shared
     * by all ranks of a process no two ops run at once and each op's time is its own, not shared with other rank
     * threads for the cores; the schedule's order and dependencies are kept ({@code bench pipeline} replays the
     * op times in the {@link Simulator}). Not for expert parallel (a rank in an all-to-all would hold the token).
     */
    public void serializeCompute(java.util.concurrent.Semaphore token) {
        if (token != null && expert != null) throw new IllegalArgumentException("serialized compute would deadlock the expert all-to-alls");
        computeToken = token;
    }

    /** Overlaps F&amp;B pairs or runs them in order from the next step on (every rank of the group alike; the default is {@code jseek.pipeline.overlap}). */
    public void setOverlap(boolean on) { overlapOn = on; }

    /** Whether F&amp;B pairs overlap their expert all-to-alls (expert parallel and {@code jseek.pipeline.overlap} not false). */
    public boolean overlaps() { return expert != null && overlapOn; }

    public Schedule schedule() { return schedule; }
    public StagePartition partition() { return part; }

    /** Sets the MTP loss weight on the base model and on every micro-batch slot (a slot copies it when created). */
    public void setMtpLambda(float lambda) {
        for (TrainModel m : slots) m.setMtpLambda(lambda);
    }

    /** Which ranks hold each tensor and which owns it. */
    public StageCopies copies() { return copies; }

    /**
     * Collective over the pipeline group, after the owners updated their tensors: the owners' values sent to the
     * other ranks holding them (DualPipe's mirrored stage, the head's copy of the embedding).
     */
    public void shareParameters() { copies.shareParameters(base.params()); }

    /**
     * One step over {@code batches} (as many as the schedule's micro-batches, each B x T): zeroes the gradients, runs
     * the schedule with gradScale on every micro-batch, sums the gradients over the group, and sums the expert loads
     * over slots and ranks into the base model ({@link TrainModel#setExpertLoad}).
     */
    public StepResult step(List<MicroBatch> batches, int B, int T, float gradScale) {
        int M = schedule.microBatches(), S = schedule.stages(), r = comm.rank(), N = B * T, dim = base.config().hiddenSize();
        if (batches.size() != M) throw new IllegalArgumentException(batches.size() + " micro-batches for a schedule of " + M);
        base.zeroGrad();
        Map<Integer, TrainModel> live = new HashMap<>();
        Map<Integer, float[]> actIn = new HashMap<>(), gradOut = new HashMap<>();
        Map<Integer, double[]> balIn = new HashMap<>();
        double[] total = new double[M], main = new double[M], mtp = new double[M], bal = new double[M];
        List<Timed> timeline = new ArrayList<>();
        List<Op> ops = schedule.ops().get(r);
        java.util.Set<Integer> wQueue = new java.util.TreeSet<>();   // stages whose B ran and whose W has not
        if (overlap != null) overlap.stats.reset();
        comm.barrier();
        long t0 = System.nanoTime();
        int peak = 0;
        long liveBytes = 0, peakBytes = 0;
        for (int i = 0; i < ops.size(); ) {
            Op op = ops.get(i);
            if (op.isComm()) {
                List<Transfer> batch = new ArrayList<>();
                List<Integer> sentKeys = new ArrayList<>();
                for (; i < ops.size() && ops.get(i).isComm(); i++) {
                    Op c = ops.get(i);
                    int key = c.mb() * S + c.stage(), tag = 3 * key + (c.grad() ? 2 : 0);
                    if (c.grad()) {
                        int k = c.mb() * S + c.stage() - 1;      // the gradient of stage (stage-1)'s output
                        if (c.kind() == Op.Kind.RECV) gradOut.put(k, new float[N * dim]);
                        float[] g = gradOut.get(k);
                        batch.add(new Transfer(c.kind() == Op.Kind.SEND, c.peer(), tag, MemorySegment.ofArray(g), N * dim, ElemType.FLOAT));
                        if (c.kind() == Op.Kind.SEND) sentKeys.add(-1 - k);
                    } else {
                        if (c.kind() == Op.Kind.RECV) { actIn.put(key, new float[N * dim]); balIn.put(key, new double[1]); }
                        batch.add(new Transfer(c.kind() == Op.Kind.SEND, c.peer(), tag, MemorySegment.ofArray(actIn.get(key)), N * dim, ElemType.FLOAT));
                        batch.add(new Transfer(c.kind() == Op.Kind.SEND, c.peer(), tag + 1, MemorySegment.ofArray(balIn.get(key)), 8, ElemType.BYTE));
                        if (c.kind() == Op.Kind.SEND) sentKeys.add(key);
                    }
                }
                comm.exchange(batch);
                for (int k : sentKeys) {
                    if (k >= 0) { actIn.remove(k); balIn.remove(k); }
                    else gradOut.remove(-1 - k);
                }
                continue;
            }
            if (computeToken != null) computeToken.acquireUninterruptibly();
            try {
                long a = System.nanoTime();
                switch (op.kind()) {
                    case F -> forward(op.mb(), op.stage(), batches, B, T, live, actIn, balIn, total, main, mtp, bal);
                    case B -> {
                        backwardInput(op.mb(), op.stage(), gradScale, N * dim, live, gradOut);
                        wQueue.add(op.mb() * S + op.stage());
                    }
                    case FB -> {
                        Runnable f = () -> forward(op.mb(), op.stage(), batches, B, T, live, actIn, balIn, total, main, mtp, bal);
                        Runnable b = () -> backwardInput(op.mb2(), op.stage2(), gradScale, N * dim, live, gradOut);
                        if (expert == null) { f.run(); b.run(); }
                        else {
                            // the forward's slot is taken before the pair starts, so both halves know their communicators
                            TrainModel fm = take(op.stage());
                            free.get(op.stage()).addFirst(fm);
                            FbOverlap.SlotComm fc = slotComms.get(fm), bc = slotComms.get(live.get(op.mb2() * S + op.stage2()));
                            if (bc == null) throw new IllegalStateException("rank " + r + ": " + op + ": B" + op.mb2() + "@" + op.stage2() + " before its F");
                            if (overlapOn) overlap.run(fc, f, bc, b);
                            else overlap.runInOrder(fc, f, bc, b);
                        }
                        wQueue.add(op.mb2() * S + op.stage2());
                    }
                    case W -> {
                        int key = op.mb() * S + op.stage();
                        if (!wQueue.remove(key)) throw new IllegalStateException("rank " + r + ": " + op + " before its B");
                        TrainModel m = live.remove(key);
                        if (m == null) throw new IllegalStateException("rank " + r + ": " + op + " without its F and B");
                        m.backwardWeightsStage(part.first(op.stage()), part.end(op.stage()));
                        free.get(op.stage()).add(m);
                    }
                    default -> throw new IllegalStateException(op.toString());
                }
                peak = Math.max(peak, live.size());
                liveBytes = 0;
                for (TrainModel m : live.values()) liveBytes += m.activationBytes();
                peakBytes = Math.max(peakBytes, liveBytes);
                timeline.add(new Timed(r, op, a - t0, System.nanoTime() - t0));
            } finally {
                if (computeToken != null) computeToken.release();
            }
            i++;
        }
        if (!wQueue.isEmpty()) {
            List<String> left = new ArrayList<>();
            for (int k : wQueue) left.add("W" + k / S + "@" + k % S);
            throw new IllegalStateException("rank " + r + ": the W queue is not empty at the end of the step: " + String.join(", ", left) + " never ran");
        }
        if (!live.isEmpty())
            throw new IllegalStateException("rank " + r + ": " + live.size() + " micro-batch stages still hold activations at the end of the step (their B never ran)");
        copies.sumGradients(base.grads());
        // losses from the rank of each micro-batch's last stage, identical on every rank
        double[] mine = new double[4 * M];
        for (int m = 0; m < M; m++) { mine[m] = total[m]; mine[M + m] = main[m]; mine[2 * M + m] = mtp[m]; mine[3 * M + m] = bal[m]; }
        double[] all = comm.allGather(mine);
        for (int m = 0; m < M; m++) {
            int o = schedule.rankOf(m, S - 1) * 4 * M;
            total[m] = all[o + m]; main[m] = all[o + M + m]; mtp[m] = all[o + 2 * M + m]; bal[m] = all[o + 3 * M + m];
        }
        sumExpertLoads();
        FbOverlap.Stats st = overlap == null ? new FbOverlap.Stats() : overlap.stats;
        return new StepResult(total, main, mtp, bal, timeline, peak, st.commNs, st.exposedNs, st.plainNs, peakBytes);
    }

    private void forward(int mb, int s, List<MicroBatch> batches, int B, int T, Map<Integer, TrainModel> live,
                         Map<Integer, float[]> actIn, Map<Integer, double[]> balIn, double[] total, double[] main, double[] mtp, double[] bal) {
        int S = schedule.stages(), key = mb * S + s, N = B * T, dim = base.config().hiddenSize();
        TrainModel m = take(s);
        live.put(key, m);
        double in = 0;
        if (s > 0) {
            float[] x = actIn.remove(key);
            if (x == null) throw new IllegalStateException("rank " + comm.rank() + ": F" + mb + "@" + s + " before its input arrived");
            System.arraycopy(x, 0, m.arenas().acts, m.stageInputOffset(part.first(s)), N * dim);
            in = balIn.remove(key)[0];
        }
        MicroBatch b = batches.get(mb);
        double out = m.forwardStage(part.first(s), part.end(s), b.tokens(), b.targets(), B, T, in);
        if (s < S - 1) {
            float[] y = new float[N * dim];
            System.arraycopy(m.arenas().acts, m.stageOutputOffset(part.end(s)), y, 0, N * dim);
            actIn.put(key + 1, y);
            balIn.put(key + 1, new double[]{out});
        } else {
            total[mb] = out;
            main[mb] = m.lastMainLoss();
            double[] k = m.lastMtpLosses();
            double sum = 0;
            for (double v : k) sum += v;
            mtp[mb] = k.length == 0 ? 0 : sum / k.length;
            bal[mb] = m.lastBalanceLoss();
        }
    }

    private void backwardInput(int mb, int s, float gradScale, int n, Map<Integer, TrainModel> live, Map<Integer, float[]> gradOut) {
        int S = schedule.stages(), key = mb * S + s;
        TrainModel m = live.get(key);
        if (m == null) throw new IllegalStateException("rank " + comm.rank() + ": B" + mb + "@" + s + " before its F");
        float[] g = null;
        if (s < S - 1) {
            g = gradOut.remove(key);
            if (g == null) throw new IllegalStateException("rank " + comm.rank() + ": B" + mb + "@" + s + " before its output gradient arrived");
        }
        m.backwardInputStage(part.first(s), part.end(s), gradScale, g, 0);
        if (s > 0) {
            float[] d = g != null ? g : new float[n];      // reuse the received buffer: same size
            System.arraycopy(m.arenas().dacts, m.stageInputGradOffset(part.first(s)), d, 0, n);
            gradOut.put(key - 1, d);
        }
    }

    /**
     * Collective over the pipeline group: the main next-token cross-entropy of one micro-batch, forward only (as
     * {@link TrainModel#forward} and {@link TrainModel#lastMainLoss} on one rank: validation). The stages run one after
     * the other on micro-batch 0's route, each handing its output to the next stage's rank; the expert loads they
     * count are dropped. Returns the same value on every rank.
     */
    public double evalLoss(MicroBatch b, int B, int T) {
        int S = schedule.stages(), r = comm.rank(), n = B * T * base.config().hiddenSize();
        float[] x = null;
        double[] bal = new double[1];
        double loss = 0;
        for (int s = 0; s < S; s++) {
            int q = schedule.rankOf(0, s), prev = s == 0 ? q : schedule.rankOf(0, s - 1);
            if (s > 0 && q != prev && (r == q || r == prev)) {
                if (r == q) { x = new float[n]; bal = new double[1]; }
                comm.exchange(List.of(
                        new Transfer(r == prev, r == q ? prev : q, 0, MemorySegment.ofArray(x), n, ElemType.FLOAT),
                        new Transfer(r == prev, r == q ? prev : q, 1, MemorySegment.ofArray(bal), 8, ElemType.BYTE)));
            }
            if (r != q) continue;
            TrainModel m = take(s);
            try {
                if (s > 0) System.arraycopy(x, 0, m.arenas().acts, m.stageInputOffset(part.first(s)), n);
                double out = m.forwardStage(part.first(s), part.end(s), b.tokens(), b.targets(), B, T, bal[0]);
                if (s < S - 1) {
                    x = new float[n];
                    System.arraycopy(m.arenas().acts, m.stageOutputOffset(part.end(s)), x, 0, n);
                    bal = new double[]{out};
                } else loss = m.lastMainLoss();
            } finally {
                m.resetExpertLoad();
                free.get(s).add(m);
            }
        }
        double[] all = comm.allGather(new double[]{loss});
        return all[schedule.rankOf(0, S - 1)];
    }

    /** Sums every slot's expert loads (counted by its forwards) over slots and ranks into the base model. */
    private void sumExpertLoads() {
        long[][] sum = null;
        for (TrainModel m : slots) {
            long[][] l = m.expertLoad();
            if (sum == null) sum = l;
            else for (int i = 0; i < l.length; i++) for (int j = 0; j < l[i].length; j++) sum[i][j] += l[i][j];
            m.resetExpertLoad();
        }
        int width = 0;
        for (long[] row : sum) width += row.length;
        long[] flat = new long[width];
        for (int i = 0, o = 0; i < sum.length; o += sum[i].length, i++) System.arraycopy(sum[i], 0, flat, o, sum[i].length);
        long[] all = comm.allGather(flat);
        for (int k = 0; k < width; k++) {
            long v = 0;
            for (int q = 0; q < comm.size(); q++) v += all[q * width + k];
            flat[k] = v;
        }
        for (int i = 0, o = 0; i < sum.length; o += sum[i].length, i++) System.arraycopy(flat, o, sum[i], 0, sum[i].length);
        base.setExpertLoad(sum);
    }
}
