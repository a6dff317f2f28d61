package dev.jseek.pipeline;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The schedules of report §3.2.1 and Table 2, built as data ({@link Schedule}).
 * <ul>
 *   <li>{@link #oneFOneB 1F1B}: PP ranks, stage r on rank r; rank r runs PP-1-r warm-up forwards, then alternates
 *       one forward and one whole backward (B then W), then the remaining backwards.</li>
 *   <li>{@link #zb1p ZB1P} (zero-bubble ZB-H1): 1F1B's order of F and B (at most PP-r micro-batches
 *       between their F and B on rank r), with the weight-gradient part split off and delayed
 *       by r micro-batches on rank r, so that it fills the waits of the cool-down; at most PP micro-batches hold
 *       activations on any rank (1F1B's peak).</li>
 *   <li>{@link #dualPipe DualPipe}: PP ranks, each holding two stages in mirror order (stage r and stage PP-1-r);
 *       half the micro-batches enter at rank 0 and run stage s on rank s, half enter at rank PP-1 and run stage s on
 *       rank PP-1-s; the gradients of the two copies of a stage are summed. Eight phases per rank: forwards of the
 *       near direction, forward pairs, B-W-F with the W split, the main F&amp;B pairs, B and pairs, backwards of both
 *       directions (W split in the second half), W-B, and the last Ws.</li>
 *   <li>{@link #dualPipeV DualPipeV}: PP/2 ranks holding stages r and PP-1-r of PP stages, every micro-batch going
 *       down the ranks and back up (the V): DualPipe's first half of ranks, the second direction's micro-batches
 *       being the return leg of the first's ("cut in half").</li>
 * </ul>
 */
public final class Schedules {
    private Schedules() {}

    public static final List<String> NAMES = List.of("1f1b", "zb1p", "dualpipe", "dualpipev");

    /**
     * The schedule {@code name} for a pipeline of {@code stages} stages ({@code stages} ranks, DualPipeV
     * {@code stages / 2}) and {@code microBatches} micro-batches. The four schedules are fixed orders, the same
     * for any {@code costs} (with which the {@link Simulator} replays them).
     */
    public static Schedule byName(String name, int stages, int microBatches, Costs costs) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "1f1b" -> oneFOneB(stages, microBatches);
            case "zb1p" -> zb1p(stages, microBatches);
            case "dualpipe" -> dualPipe(stages, microBatches);
            case "dualpipev" -> {
                if (stages % 2 != 0) throw new IllegalArgumentException("dualpipev needs an even number of stages, got " + stages);
                yield dualPipeV(stages / 2, microBatches);
            }
            default -> throw new IllegalArgumentException("unknown schedule '" + name + "' (expected one of " + String.join(", ", NAMES) + ")");
        };
    }

    /** Ranks a schedule of {@code stages} stages runs on (DualPipeV: half). */
    public static int ranksFor(String name, int stages) { return name.equalsIgnoreCase("dualpipev") ? stages / 2 : stages; }

    private static int[][] straight(int p, int m) {
        int[][] route = new int[m][p];
        for (int[] row : route) for (int s = 0; s < p; s++) row[s] = s;
        return route;
    }

    public static Schedule oneFOneB(int p, int m) {
        check(p >= 1 && m >= 1, "1f1b needs pp >= 1 and micro-batches >= 1, got pp=" + p + ", micro-batches=" + m);
        List<List<Op>> ops = new ArrayList<>();
        for (int r = 0; r < p; r++) {
            List<Op> l = new ArrayList<>();
            int warm = Math.min(p - 1 - r, m);
            for (int i = 0; i < warm; i++) l.add(Op.f(i, r));
            for (int i = 0; i < m - warm; i++) {
                l.add(Op.f(warm + i, r));
                l.add(Op.b(i, r));
                l.add(Op.w(i, r));
            }
            for (int i = m - warm; i < m; i++) { l.add(Op.b(i, r)); l.add(Op.w(i, r)); }
            ops.add(l);
        }
        return Schedule.withComm("1f1b", p, p, straight(p, m), ops, true);
    }

    /**
     * ZB-H1 (Qi et al., "Zero Bubble Pipeline Parallelism", §2.1): 1F1B's order of F and B (PP-1-r warm-up forwards on
     * rank r, then one F and one B at a time, then the remaining Bs), with the W of each backward split off and
     * delayed by r micro-batches on rank r: in the steady state rank r runs F, B and then the W of the micro-batch
     * r backwards before, in the cool-down a queued W after each B but the last (filling the wait for the next
     * gradient), and the rest at the end. Every rank then holds the activations of at most PP micro-batches until
     * their W (rank 0 as in 1F1B, the others r more than in 1F1B while their Ws wait): the peak stays 1F1B's PP
     * (report Table 2), and the bubble is (PP-1)(F+B-2W) (exact when B-W &lt;= F, see PipelineScheduleTest). Keeping
     * every rank to 1F1B's own PP-r instead would force the last rank to run each W before its next F, and the
     * bubble would be (PP-1)(F+B-W).
     */
    public static Schedule zb1p(int p, int m) {
        check(p >= 1 && m >= 1, "zb1p needs pp >= 1 and micro-batches >= 1, got pp=" + p + ", micro-batches=" + m);
        List<List<Op>> ops = new ArrayList<>();
        for (int r = 0; r < p; r++) {
            List<Op> l = new ArrayList<>();
            ArrayDeque<Integer> queue = new ArrayDeque<>();
            int warm = Math.min(p - 1 - r, m), nb = 0;
            for (int i = 0; i < warm; i++) l.add(Op.f(i, r));
            for (int j = 0; j < m - warm; j++) {
                l.add(Op.f(warm + j, r));
                l.add(Op.b(nb, r));
                queue.add(nb++);
                if (j >= r) l.add(Op.w(queue.poll(), r));
            }
            while (nb < m) {
                l.add(Op.b(nb, r));
                queue.add(nb++);
                if (nb < m) l.add(Op.w(queue.poll(), r));
            }
            while (!queue.isEmpty()) l.add(Op.w(queue.poll(), r));
            ops.add(l);
        }
        return Schedule.withComm("zb1p", p, p, straight(p, m), ops);
    }

    /** DualPipe on {@code p} ranks (even) with {@code m} micro-batches (even, m/2 from each end, m/2 >= p). */
    public static Schedule dualPipe(int p, int m) {
        check(p >= 2 && p % 2 == 0, "dualpipe needs an even pp >= 2, got " + p);
        check(m % 2 == 0 && m / 2 >= p, "dualpipe needs an even number of micro-batches >= 2 pp = " + 2 * p + ", got " + m);
        int h = m / 2;
        int[][] route = new int[m][p];
        for (int i = 0; i < m; i++) for (int s = 0; s < p; s++) route[i][s] = i < h ? s : p - 1 - s;
        List<List<Op>> ops = new ArrayList<>();
        for (int r = 0; r < p; r++) ops.add(new DualRank(p, h, r).ops);
        return Schedule.withComm("dualpipe", p, p, route, ops);
    }

    /** DualPipeV on {@code ranks} ranks (2 ranks stages) with {@code m} micro-batches (m >= 2 ranks). */
    public static Schedule dualPipeV(int ranks, int m) {
        check(ranks >= 1, "dualpipev needs at least 1 rank, got " + ranks);
        check(m >= 2 * ranks, "dualpipev needs micro-batches >= 2 x ranks = " + 2 * ranks + ", got " + m);
        int p = 2 * ranks;
        int[][] route = new int[m][p];
        for (int i = 0; i < m; i++) for (int s = 0; s < p; s++) route[i][s] = s < ranks ? s : p - 1 - s;
        List<List<Op>> ops = new ArrayList<>();
        for (int r = 0; r < ranks; r++) {
            List<Op> l = new ArrayList<>();
            for (Op op : new DualRank(p, m, r).ops) l.add(relabel(op, m));
            ops.add(l);
        }
        return Schedule.withComm("dualpipev", ranks, p, route, ops);
    }

    /** DualPipe's second-direction micro-batch h + j is micro-batch j's return leg in DualPipeV. */
    private static Op relabel(Op op, int h) {
        return new Op(op.kind(), op.mb() % h, op.stage(), op.mb2() < 0 ? op.mb2() : op.mb2() % h, op.stage2(), op.grad(), op.peer());
    }

    /** One rank's compute ops in DualPipe: phase 0 is the direction fed at this rank's nearer end. */
    private static final class DualRank {
        final List<Op> ops = new ArrayList<>();
        private final int[] stage = new int[2], base = new int[2], nf = new int[2], nb = new int[2];
        private final ArrayDeque<Op> queue = new ArrayDeque<>();

        DualRank(int p, int h, int r) {
            int hp = p / 2, hr = Math.min(r, p - 1 - r);
            boolean middle = hr == hp - 1;
            stage[0] = hr;
            stage[1] = p - 1 - hr;
            base[0] = r < hp ? 0 : h;
            base[1] = r < hp ? h : 0;
            for (int i = 0; i < 2 * (hp - hr - 1); i++) f(0);                     // 1: forwards of the near direction
            for (int i = 0; i < hr + 1; i++) { f(0); f(1); }                       // 2: forwards of both
            for (int i = 0; i < hp - hr - 1; i++) { b(1, true); w(); f(1); }      // 3: B, W, F (W split)
            int main = h - p + hr + 1;                                             // 4: the main F&B pairs
            for (int i = 0; i < main; i++) {
                if (i == 0 && middle) { f(0); b(1, false); }                       //    the middle ranks' first pair runs apart
                else fb(0, 1);
                fb(1, 0);
            }
            for (int i = 0; i < hp - hr - 1; i++) { b(1, false); fb(1, 0); }      // 5: B and pairs
            boolean zb = false;                                                    // 6: backwards, W split from the middle on
            for (int i = 0; i < hr + 1; i++) {
                if (i == (hr + 1) / 2 && hr % 2 == 1) zb = true;
                b(1, zb);
                if (i == (hr + 1) / 2 && hr % 2 == 0) zb = true;
                b(0, zb);
            }
            for (int i = 0; i < hp - hr - 1; i++) { w(); b(0, true); }            // 7: W, B
            for (int i = 0; i < hr + 1; i++) w();                                  // 8: the last Ws
            if (!queue.isEmpty()) throw new IllegalStateException("dualpipe: rank " + r + " left " + queue.size() + " Ws queued");
        }

        private void f(int ph) { ops.add(Op.f(base[ph] + nf[ph]++, stage[ph])); }

        private void b(int ph, boolean split) {
            Op b = Op.b(base[ph] + nb[ph]++, stage[ph]);
            ops.add(b);
            Op w = Op.w(b.mb(), b.stage());
            if (split) queue.add(w);
            else ops.add(Schedule.whole(w));
        }

        private void w() { ops.add(queue.poll()); }

        private void fb(int phF, int phB) {
            Op op = Op.fb(base[phF] + nf[phF]++, stage[phF], base[phB] + nb[phB]++, stage[phB]);
            ops.add(op);
            ops.add(Schedule.whole(Op.w(op.mb2(), op.stage2())));
        }
    }

    private static void check(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }
}
