package dev.jseek.pipeline;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Replays a {@link Schedule} with given {@link Costs} and checks it: every op runs on the rank the route assigns
 * its stage; every micro-batch's F of a stage comes after the F of the stage before (received, when that ran on
 * another rank), its B after its F and after the gradient from the next stage, its W after its B; every
 * (micro-batch, stage) has exactly one F, B and W; no rank waits forever (deadlock); every W queue is empty at the
 * end. A failed check throws {@link IllegalStateException} naming the rank and op.
 *
 * <p>Each rank runs its ops in order. Communication follows {@link dev.jseek.parallel.Communicator#exchange}: a run
 * of consecutive SEND/RECV ops is one batch, whose sends are posted at once (buffered, as on thread ranks) and which
 * completes when all its receives have arrived ({@code comm} after the matching send was posted).
 */
public final class Simulator {
    private Simulator() {}

    /** One executed compute op. */
    public record Span(int rank, Op op, double start, double end) {}

    /**
     * The replay: {@code makespan} (all ranks start at 0), per rank its busy time, bubble (makespan - busy),
     * peak number of micro-batches whose activations it holds (F done, W not yet: the weight gradient still reads
     * the stage's saved inputs, and the runner frees a micro-batch's activation slot at its W; the report's
     * activation memory, in units of one stage's activations per micro-batch), peak W queue length, and the
     * compute spans.
     */
    public record Result(Schedule schedule, Costs costs, double makespan, double[] busy, double[] bubble,
                         int[] peakActivations, int[] peakWQueue, List<Span> spans) {
        public double maxBubble() { return Arrays.stream(bubble).max().orElse(0); }
        /** Idle share of all ranks' time: sum(bubble) / (ranks * makespan). */
        public double bubbleFraction() { return Arrays.stream(bubble).sum() / (bubble.length * makespan); }
        public int maxPeakActivations() { return Arrays.stream(peakActivations).max().orElse(0); }
    }

    /** The duration of op {@code index} of rank {@code rank}'s list ({@code op} is that op, a compute op). */
    @FunctionalInterface
    public interface Durations { double of(int rank, int index, Op op); }

    public static Result run(Schedule s, Costs costs) { return replay(s, costs, (r, i, op) -> costs.of(op)); }

    /**
     * The same replay with every compute op's own duration (e.g. each op's measured time in a run), communication
     * latency {@code costs.comm()}; the result's costs are {@code costs}.
     */
    public static Result replay(Schedule s, Costs costs, Durations durations) {
        int R = s.ranks(), S = s.stages(), M = s.microBatches();
        double[][] fEnd = nan(M, S), bEnd = nan(M, S), wEnd = nan(M, S), actIn = nan(M, S), gradIn = nan(M, S);
        double[][][] posted = {nan(M, S), nan(M, S)}; // [grad?1:0][mb][stage]
        int[] idx = new int[R], inflight = new int[R], peakAct = new int[R], queue = new int[R], peakQ = new int[R];
        int[] postedUpTo = new int[R];
        double[] t = new double[R], busy = new double[R];
        List<Span> spans = new ArrayList<>();
        boolean progress = true;
        while (progress) {
            progress = false;
            for (int r = 0; r < R; r++) {
                List<Op> ops = s.ops().get(r);
                while (idx[r] < ops.size()) {
                    Op op = ops.get(idx[r]);
                    if (op.isComm()) {
                        int end = idx[r];
                        while (end < ops.size() && ops.get(end).isComm()) end++;
                        if (postedUpTo[r] < end) {
                            for (int i = idx[r]; i < end; i++) {
                                Op c = ops.get(i);
                                if (c.kind() == Op.Kind.SEND) post(s, r, c, fEnd, bEnd, posted, t[r]);
                            }
                            postedUpTo[r] = end;
                        }
                        double done = t[r];
                        boolean ready = true;
                        for (int i = idx[r]; i < end && ready; i++) {
                            Op c = ops.get(i);
                            if (c.kind() != Op.Kind.RECV) continue;
                            checkRecv(s, r, c);
                            double p = posted[c.grad() ? 1 : 0][c.mb()][c.stage()];
                            if (Double.isNaN(p)) ready = false;
                            else done = Math.max(done, p + costs.comm());
                        }
                        if (!ready) break;
                        for (int i = idx[r]; i < end; i++) {
                            Op c = ops.get(i);
                            if (c.kind() != Op.Kind.RECV) continue;
                            if (c.grad()) gradIn[c.mb()][c.stage() - 1] = done;
                            else actIn[c.mb()][c.stage()] = done;
                        }
                        t[r] = done;
                        idx[r] = end;
                        progress = true;
                        continue;
                    }
                    double start = t[r];
                    boolean fPart = op.kind() == Op.Kind.F || op.kind() == Op.Kind.FB;
                    boolean bPart = op.kind() == Op.Kind.B || op.kind() == Op.Kind.FB;
                    int bm = op.kind() == Op.Kind.FB ? op.mb2() : op.mb(), bs = op.kind() == Op.Kind.FB ? op.stage2() : op.stage();
                    if (fPart) start = Math.max(start, needF(s, r, op, op.mb(), op.stage(), fEnd, actIn));
                    if (bPart) start = Math.max(start, needB(s, r, op, bm, bs, fEnd, bEnd, gradIn));
                    if (op.kind() == Op.Kind.W) {
                        owned(s, r, op, op.mb(), op.stage());
                        if (Double.isNaN(bEnd[op.mb()][op.stage()])) throw bad(r, op, "its B has not run on this rank");
                        if (!Double.isNaN(wEnd[op.mb()][op.stage()])) throw bad(r, op, "a second W of the same micro-batch and stage");
                    }
                    double d = durations.of(r, idx[r], op);
                    double end = start + d;
                    busy[r] += d;
                    if (fPart) {
                        fEnd[op.mb()][op.stage()] = end;
                        if (op.stage() < S - 1 && s.rankOf(op.mb(), op.stage() + 1) == r) actIn[op.mb()][op.stage() + 1] = end;
                        peakAct[r] = Math.max(peakAct[r], ++inflight[r]);
                    }
                    if (bPart) {
                        bEnd[bm][bs] = end;
                        if (bs > 0 && s.rankOf(bm, bs - 1) == r) gradIn[bm][bs - 1] = end;
                        peakQ[r] = Math.max(peakQ[r], ++queue[r]);
                    }
                    if (op.kind() == Op.Kind.W) { wEnd[op.mb()][op.stage()] = end; queue[r]--; inflight[r]--; }
                    spans.add(new Span(r, op, start, end));
                    t[r] = end;
                    idx[r]++;
                    progress = true;
                }
            }
        }
        StringBuilder stuck = new StringBuilder();
        for (int r = 0; r < R; r++)
            if (idx[r] < s.ops().get(r).size()) stuck.append(stuck.isEmpty() ? "" : "; ").append("rank ").append(r).append(" waits at ").append(s.ops().get(r).get(idx[r]));
        if (!stuck.isEmpty()) throw new IllegalStateException(s.name() + ": deadlock: " + stuck);
        for (int r = 0; r < R; r++)
            if (queue[r] != 0) throw new IllegalStateException(s.name() + ": rank " + r + " ends with " + queue[r] + " weight gradients queued");
        for (int m = 0; m < M; m++)
            for (int st = 0; st < S; st++)
                if (Double.isNaN(fEnd[m][st]) || Double.isNaN(bEnd[m][st]) || Double.isNaN(wEnd[m][st]))
                    throw new IllegalStateException(s.name() + ": micro-batch " + m + " stage " + st + " misses its "
                            + (Double.isNaN(fEnd[m][st]) ? "F" : Double.isNaN(bEnd[m][st]) ? "B" : "W"));
        double makespan = Arrays.stream(t).max().orElse(0);
        double[] bubble = new double[R];
        for (int r = 0; r < R; r++) bubble[r] = makespan - busy[r];
        return new Result(s, costs, makespan, busy, bubble, peakAct, peakQ, List.copyOf(spans));
    }

    private static double needF(Schedule s, int r, Op op, int mb, int st, double[][] fEnd, double[][] actIn) {
        owned(s, r, op, mb, st);
        if (!Double.isNaN(fEnd[mb][st])) throw bad(r, op, "a second F of micro-batch " + mb + " stage " + st);
        if (st == 0) return 0;
        if (Double.isNaN(actIn[mb][st]))
            throw bad(r, op, s.rankOf(mb, st - 1) == r ? "the F of stage " + (st - 1) + " has not run" : "its input was not received");
        return actIn[mb][st];
    }

    private static double needB(Schedule s, int r, Op op, int mb, int st, double[][] fEnd, double[][] bEnd, double[][] gradIn) {
        owned(s, r, op, mb, st);
        if (Double.isNaN(fEnd[mb][st])) throw bad(r, op, "B of micro-batch " + mb + " stage " + st + " before its F");
        if (!Double.isNaN(bEnd[mb][st])) throw bad(r, op, "a second B of micro-batch " + mb + " stage " + st);
        if (st == s.stages() - 1) return fEnd[mb][st];
        if (Double.isNaN(gradIn[mb][st]))
            throw bad(r, op, s.rankOf(mb, st + 1) == r ? "the B of stage " + (st + 1) + " has not run" : "its output gradient was not received");
        return Math.max(fEnd[mb][st], gradIn[mb][st]);
    }

    private static void owned(Schedule s, int r, Op op, int mb, int st) {
        if (mb < 0 || mb >= s.microBatches() || st < 0 || st >= s.stages()) throw bad(r, op, "micro-batch or stage out of range");
        if (s.rankOf(mb, st) != r) throw bad(r, op, "the route puts stage " + st + " of micro-batch " + mb + " on rank " + s.rankOf(mb, st));
    }

    private static void post(Schedule s, int r, Op c, double[][] fEnd, double[][] bEnd, double[][][] posted, double t) {
        int mb = c.mb(), st = c.stage();
        if (st <= 0 || st >= s.stages()) throw bad(r, c, "no stage boundary before stage " + st);
        int from = c.grad() ? s.rankOf(mb, st) : s.rankOf(mb, st - 1), to = c.grad() ? s.rankOf(mb, st - 1) : s.rankOf(mb, st);
        if (from != r || to != c.peer()) throw bad(r, c, "the route sends it from rank " + from + " to rank " + to);
        double have = c.grad() ? bEnd[mb][st] : fEnd[mb][st - 1];
        if (Double.isNaN(have)) throw bad(r, c, "sends what has not been computed yet");
        if (!Double.isNaN(posted[c.grad() ? 1 : 0][mb][st])) throw bad(r, c, "sent twice");
        posted[c.grad() ? 1 : 0][mb][st] = t;
    }

    private static void checkRecv(Schedule s, int r, Op c) {
        int mb = c.mb(), st = c.stage();
        if (st <= 0 || st >= s.stages()) throw bad(r, c, "no stage boundary before stage " + st);
        int from = c.grad() ? s.rankOf(mb, st) : s.rankOf(mb, st - 1), to = c.grad() ? s.rankOf(mb, st - 1) : s.rankOf(mb, st);
        if (to != r || from != c.peer()) throw bad(r, c, "the route sends it from rank " + from + " to rank " + to);
    }

    private static IllegalStateException bad(int r, Op op, String why) {
        return new IllegalStateException("rank " + r + ", " + op + ": " + why);
    }

    private static double[][] nan(int m, int s) {
        double[][] a = new double[m][s];
        for (double[] row : a) Arrays.fill(row, Double.NaN);
        return a;
    }
}
