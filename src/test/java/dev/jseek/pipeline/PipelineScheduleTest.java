package dev.jseek.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The schedules of report §3.2.1 replayed by the {@link Simulator}: each is valid (dependencies, no deadlock, W
 * queues empty) for PP = 2, 4, 8 and several micro-batch counts; the simulated bubble equals the report's Table 2
 * formulas under their exact conditions; the per-rank memory equals the table's; and the simulator rejects broken
 * schedules.
 */
class PipelineScheduleTest {
    private static final double EPS = 1e-9;

    private static double formula(String name, int pp, Costs c) {
        return switch (name) {
            case "1f1b" -> (pp - 1) * (c.f() + c.b());
            case "zb1p" -> (pp - 1) * (c.f() + c.b() - 2 * c.w());
            default -> (pp / 2 - 1) * (c.fb() + c.b() - 3 * c.w());
        };
    }

    private static List<Integer> microBatchCounts(String name, int pp) {
        return switch (name) {
            case "1f1b", "zb1p" -> List.of(1, pp - 1 > 0 ? pp - 1 : 1, pp, 2 * pp + 3, 4 * pp);
            default -> List.of(2 * pp, 2 * pp + 2, 4 * pp, 4 * pp + 6);
        };
    }

    @Test
    void everyScheduleIsValidForPp248() {
        Costs[] costs = {Costs.of(1, 2, 1), Costs.of(3, 5, 2).withFb(6.5), Costs.of(1, 1.3, 0.3).withComm(0.2), Costs.of(2, 7, 3)};
        int n = 0;
        for (String name : Schedules.NAMES)
            for (int pp : new int[]{2, 4, 8})
                for (int m : microBatchCounts(name, pp))
                    for (Costs c : costs) {
                        Schedule s = Schedules.byName(name, pp, m, c);
                        assertEquals(Schedules.ranksFor(name, pp), s.ranks(), name);
                        assertEquals(pp, s.stages());
                        Simulator.Result r = Simulator.run(s, c);
                        // every compute op accounted for: M x S of each of F, B, W (FB counts one F and one B)
                        int f = 0, b = 0, w = 0;
                        for (List<Op> l : s.ops())
                            for (Op op : l) switch (op.kind()) {
                                case F -> f++;
                                case B -> b++;
                                case W -> w++;
                                case FB -> { f++; b++; }
                                default -> {}
                            }
                        assertEquals(m * pp, f);
                        assertEquals(m * pp, b);
                        assertEquals(m * pp, w);
                        double work = m * pp * (c.f() + c.b()) - (c.f() + c.b() - c.fb()) * countFb(s);
                        assertEquals(work, java.util.Arrays.stream(r.busy()).sum(), 1e-6, "busy time is the work");
                        n++;
                    }
        assertTrue(n > 150);
    }

    private static int countFb(Schedule s) {
        int n = 0;
        for (List<Op> l : s.ops()) for (Op op : l) if (op.kind() == Op.Kind.FB) n++;
        return n;
    }

    @Test
    void oneFOneBBubbleIsExactForAnyCosts() {
        Random rnd = new Random(7);
        for (int i = 0; i < 20; i++) {
            double f = 0.5 + rnd.nextDouble() * 3, w = rnd.nextDouble() * 2, b = w + 0.2 + rnd.nextDouble() * 3;
            Costs c = Costs.of(f, b, w);
            for (int pp : new int[]{2, 4, 8})
                for (int m : new int[]{pp, 2 * pp + 1, 32}) {
                    Simulator.Result r = Simulator.run(Schedules.oneFOneB(pp, m), c);
                    for (double bubble : r.bubble()) assertEquals(formula("1f1b", pp, c), bubble, EPS);
                    assertEquals(m * (f + b) + (pp - 1) * (f + b), r.makespan(), EPS);
                }
        }
    }

    /**
     * The replay with per-op durations (what the bench feeds it from measured op times): durations that depend on
     * the op's kind only give exactly the cost-model run; lengthening rank 0's last op (on the critical path: nothing
     * runs after it) by d lengthens the makespan by exactly d and rank 0's busy time by d.
     */
    @Test
    void replayWithOpDurationsMatchesTheCostModel() {
        Costs c = Costs.of(1.25, 2.5, 0.75);
        for (String name : Schedules.NAMES) {
            Schedule s = Schedules.byName(name, 4, 8, c);
            Simulator.Result run = Simulator.run(s, c), rep = Simulator.replay(s, c, (r, i, op) -> c.of(op));
            assertEquals(run.makespan(), rep.makespan(), 0, name);
            assertArrayEquals(run.bubble(), rep.bubble(), 0, name);
            List<Op> ops0 = s.ops().getFirst();
            int last = ops0.size() - 1;
            while (ops0.get(last).isComm()) last--;
            int lastIdx = last;
            Simulator.Result longer = Simulator.replay(s, c, (r, i, op) -> c.of(op) + (r == 0 && i == lastIdx ? 5 : 0));
            assertEquals(run.makespan() + 5, longer.makespan(), EPS, name);
            assertEquals(run.busy()[0] + 5, longer.busy()[0], EPS, name);
        }
    }

    /**
     * ZB-H1's (PP-1)(F+B-2W) holds where the zero-bubble paper draws it (F = B - W = W), and more generally whenever
     * W &lt;= B - W &lt;= F (a delayed W then fits in each wait of the cool-down); for other costs it is never worse
     * than 1F1B's (PP-1)(F+B).
     */
    @Test
    void zb1pBubbleIsExactWhenWeightPartFitsTheWaits() {
        for (double u : new double[]{1, 2.5})
            for (int pp : new int[]{2, 4, 8})
                for (int m : new int[]{pp, 2 * pp, 32}) {
                    Costs c = Costs.of(u, 2 * u, u);
                    Simulator.Result r = Simulator.run(Schedules.zb1p(pp, m), c);
                    for (double bubble : r.bubble()) assertEquals(formula("zb1p", pp, c), bubble, EPS, "pp " + pp + " m " + m);
                }
        Random rnd = new Random(11);
        for (int i = 0; i < 30; i++) {
            double f = 0.5 + rnd.nextDouble() * 3, bIn = f * (0.2 + 0.8 * rnd.nextDouble()), w = bIn * rnd.nextDouble();
            Costs c = Costs.of(f, bIn + w, w);
            for (int pp : new int[]{2, 4, 8})
                for (int m : new int[]{pp, 2 * pp + 1, 32})
                    assertEquals(formula("zb1p", pp, c), Simulator.run(Schedules.zb1p(pp, m), c).maxBubble(), EPS, c + " pp " + pp + " m " + m);
        }
        for (int i = 0; i < 30; i++) {
            double f = 0.5 + rnd.nextDouble() * 3, bIn = 0.5 + rnd.nextDouble() * 3, w = rnd.nextDouble() * 3;
            Costs c = Costs.of(f, bIn + w, w);
            for (int pp : new int[]{4, 8}) {
                double bubble = Simulator.run(Schedules.zb1p(pp, 3 * pp), c).maxBubble();
                assertTrue(bubble <= formula("1f1b", pp, c) + EPS, c + " pp " + pp + ": " + bubble);
            }
        }
    }

    /**
     * DualPipe's and DualPipeV's (PP/2-1)(F&B+B-3W) is exactly the largest rank's bubble when F = B - W and W <= F,
     * for any overlap in F&amp;B (ranks nearer the middle may idle less).
     */
    @Test
    void dualPipeBubbleIsExactWhenForwardEqualsInputBackward() {
        for (double f = 1; f <= 3; f++)
            for (double w = 0.5; w <= f; w += 0.5)
                for (double fb = f + w; fb <= 2 * f + w + EPS; fb += 0.5) {
                    Costs c = new Costs(f, f + w, w, fb, 0);
                    for (int pp : new int[]{2, 4, 8})
                        for (int m : new int[]{2 * pp, 2 * pp + 6, 32}) {
                            for (String name : List.of("dualpipe", "dualpipev")) {
                                Simulator.Result r = Simulator.run(Schedules.byName(name, pp, m, c), c);
                                assertEquals(formula(name, pp, c), r.maxBubble(), EPS, name + " " + c + " pp " + pp + " m " + m);
                                for (double bubble : r.bubble()) assertTrue(bubble <= r.maxBubble() + EPS);
                            }
                        }
                }
    }

    /**
     * Report Table 2: parameters and activations per rank, in units of one stage's; a micro-batch holds its
     * activations from its F to its W (the runner frees its slot there). 1F1B: PP-r on rank r; ZB1P (ZB-H1, zero-bubble
     * paper §2.1: the Ws delayed so that every stage has the same number of micro-batches in flight): PP on every
     * rank, 1F1B's peak; DualPipe(V): PP+1.
     */
    @Test
    void memoryPerRankMatchesTheReportsTable() {
        Costs c = Costs.of(1, 2, 1);
        for (int pp : new int[]{2, 4, 8}) {
            int m = 4 * pp;
            for (String name : Schedules.NAMES) {
                Schedule s = Schedules.byName(name, pp, m, c);
                Simulator.Result r = Simulator.run(s, c);
                boolean dual = name.startsWith("dualpipe");
                for (int rank = 0; rank < s.ranks(); rank++) {
                    assertEquals(dual ? 2 : 1, s.stagesOf(rank).size(), name + " parameters on rank " + rank);
                    if (!dual) assertEquals(name.equals("zb1p") ? pp : pp - rank, r.peakActivations()[rank], name + " activations on rank " + rank);
                }
                assertEquals(dual ? pp + 1 : pp, r.maxPeakActivations(), name + " peak activations");
                for (int st = 0; st < pp; st++)
                    assertEquals(name.equals("dualpipe") ? 2 : 1, s.holdersOf(st).size(), name + ": copies of stage " + st);
            }
        }
    }

    @Test
    void dualPipeRoutesFromBothEndsAndDualPipeVIsAV() {
        Schedule d = Schedules.dualPipe(4, 8);
        assertEquals(List.of(0, 1, 2, 3), List.of(d.rankOf(0, 0), d.rankOf(0, 1), d.rankOf(0, 2), d.rankOf(0, 3)));
        assertEquals(List.of(3, 2, 1, 0), List.of(d.rankOf(7, 0), d.rankOf(7, 1), d.rankOf(7, 2), d.rankOf(7, 3)));
        Schedule v = Schedules.dualPipeV(2, 4);
        assertEquals(List.of(0, 1, 1, 0), List.of(v.rankOf(0, 0), v.rankOf(0, 1), v.rankOf(0, 2), v.rankOf(0, 3)));
        assertEquals(List.of(0, 3), v.stagesOf(0));
    }

    @Test
    void simulatorRejectsBrokenSchedules() {
        Costs c = Costs.of(1, 2, 1);
        Schedule good = Schedules.oneFOneB(2, 3);
        // a missing W: the queue is not empty at the end
        assertThrows(IllegalStateException.class, () -> Simulator.run(edit(good, 1, l -> l.removeIf(o -> o.kind() == Op.Kind.W && o.mb() == 2)), c),
                "W queue");
        // B before F on the last stage
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Simulator.run(edit(good, 1, l -> {
            int fi = l.indexOf(Op.f(0, 1)), bi = l.indexOf(Op.b(0, 1));
            l.set(fi, Op.b(0, 1));
            l.set(bi, Op.f(0, 1));
        }), c));
        assertTrue(e.getMessage().contains("before its F"), e.getMessage());
        // W before its B
        e = assertThrows(IllegalStateException.class, () -> Simulator.run(edit(good, 0, l -> {
            int wi = l.indexOf(Op.w(0, 0));
            l.remove(wi);
            l.add(0, Op.w(0, 0));
        }), c));
        assertTrue(e.getMessage().contains("B has not run"), e.getMessage());
        // rank 0 waits for the gradient of micro-batch 0 before sending micro-batch 0's activation: deadlock
        e = assertThrows(IllegalStateException.class, () -> Simulator.run(edit(good, 0, l -> {
            int si = l.indexOf(Op.send(0, 1, false, 1));
            Op send = l.remove(si);
            l.add(l.indexOf(Op.b(0, 0)) + 1, send);
        }), c));
        assertTrue(e.getMessage().contains("deadlock"), e.getMessage());
        // an op on a rank that does not hold the stage
        e = assertThrows(IllegalStateException.class, () -> Simulator.run(edit(good, 0, l -> l.add(0, Op.f(0, 1))), c));
        assertTrue(e.getMessage().contains("route puts stage 1"), e.getMessage());
    }

    private static Schedule edit(Schedule s, int rank, java.util.function.Consumer<List<Op>> change) {
        List<List<Op>> ops = new ArrayList<>();
        for (List<Op> l : s.ops()) ops.add(new ArrayList<>(l));
        change.accept(ops.get(rank));
        return new Schedule(s.name(), s.ranks(), s.stages(), s.microBatches(), s.route(), ops);
    }

    @Test
    void badArgumentsSayWhat() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Schedules.dualPipe(4, 6));
        assertTrue(e.getMessage().contains("dualpipe needs an even number of micro-batches >= 2 pp = 8, got 6"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Schedules.byName("gpipe", 4, 8, Costs.of(1, 2, 1)));
        assertTrue(e.getMessage().contains("unknown schedule 'gpipe'"), e.getMessage());
    }
}
