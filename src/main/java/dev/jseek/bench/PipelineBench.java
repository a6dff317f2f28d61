package dev.jseek.bench;

import dev.jseek.model.ModelConfig;
import dev.jseek.parallel.ThreadRanks;
import dev.jseek.pipeline.Costs;
import dev.jseek.pipeline.Op;
import dev.jseek.pipeline.PipelineTrainStep;
import dev.jseek.pipeline.RankGrid;
import dev.jseek.pipeline.PipelineRunner;
import dev.jseek.pipeline.Schedule;
import dev.jseek.pipeline.Schedules;
import dev.jseek.pipeline.Simulator;
import dev.jseek.pipeline.StagePartition;
import dev.jseek.train.TrainModel;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * {@code jseek bench pipeline} (report §3.2.1, Table 2): measures one stage's F, B (whole backward) and W on a model
 * split into {@code pp} stages; the simulator's bubble of every schedule at PP = 4 and 8 with 8, 16 and 32
 * micro-batches next to the report's formulas for those costs; every schedule run on thread ranks twice: with one
 * compute op at a time (so each op's time is its own, not shared with the other rank threads for the cores), whose
 * op times the simulator replays, beside the simulator fed the same run's mean and per-stage F, B, W; and free
 * running (a PNG and an HTML chart of both); per-rank parameters and peak activations against the report's table;
 * and the F&amp;B overlap of report Figure 4 with expert parallelism: how much of the pairs' expert all-to-all time
 * is hidden behind the other micro-batch's compute.
 */
public final class PipelineBench {
    private PipelineBench() {}

    /** memoryOnly: just the per-rank memory table (deterministic: no timing). */
    public record Options(ModelConfig config, String preset, int seqLen, int pp, int microBatches, int reps, Path out, boolean memoryOnly) {
        public Options(ModelConfig config, String preset, int seqLen, int pp, int microBatches, int reps, Path out) {
            this(config, preset, seqLen, pp, microBatches, reps, out, false);
        }
    }

    public static void run(Options o, PrintStream out) throws IOException {
        ModelConfig c = o.config();
        StagePartition part;
        TrainModel probe = new TrainModel(c, 1, o.seqLen());
        probe.initRandom(1, 0.02f);
        part = StagePartition.byCost(StagePartition.unitCosts(probe), o.pp());
        out.printf(Locale.ROOT, "model %s, 1 x %d tokens per micro-batch, %d stages (units %s: embedding, %d layers, head + MTP)%n",
                o.preset(), o.seqLen(), o.pp(), Arrays.toString(bounds(part)), c.numHiddenLayers());
        if (o.memoryOnly()) {
            memory(c, o, part, StagePartition.unitParams(probe), out);
            return;
        }
        Costs costs = measure(probe, part, o.seqLen(), o.reps(), out);
        out.printf(Locale.ROOT, "%nmeasured per stage (mean of the stages' medians of %d): F %.2f ms, B %.2f ms (input part %.2f + W %.2f), F&B = F + B %.2f ms (no overlap on a CPU)%n",
                o.reps(), costs.f(), costs.b(), costs.b() - costs.w(), costs.w(), costs.fb());

        out.printf(Locale.ROOT, "%nsimulated bubble (ms; the largest rank's idle time per step) vs report Table 2 for these costs%n");
        out.printf(Locale.ROOT, "%-10s %4s %5s %10s %10s %9s  %s%n", "schedule", "PP", "micro", "simulated", "formula", "idle %", "formula");
        for (String name : Schedules.NAMES)
            for (int pp : new int[]{4, 8})
                for (int m : new int[]{8, 16, 32}) {
                    String f = switch (name) { case "1f1b" -> "(PP-1)(F+B)"; case "zb1p" -> "(PP-1)(F+B-2W)"; default -> "(PP/2-1)(F&B+B-3W)"; };
                    double formula = formula(name, pp, costs);
                    Schedule s;
                    try {
                        s = Schedules.byName(name, pp, m, costs);
                    } catch (IllegalArgumentException e) {
                        out.printf(Locale.ROOT, "%-10s %4d %5d %10s %10.2f %9s  %s%n", name, pp, m, "-", formula, "-", "(" + e.getMessage() + ")");
                        continue;
                    }
                    Simulator.Result r = Simulator.run(s, costs);
                    out.printf(Locale.ROOT, "%-10s %4d %5d %10.2f %10.2f %8.1f%%  %s%n", name, pp, m, r.maxBubble(), formula, 100 * r.bubbleFraction(), f);
                }

        long[] unitParams = StagePartition.unitParams(probe);
        out.printf(Locale.ROOT, "%nmeasured on thread ranks (PP %d, %d micro-batches, one warm-up step, then two timed steps), each schedule twice:%n"
                + "  serialized: the ranks' compute ops take one token in turn, so no two run at once and each op's time is its own (not shared%n"
                + "    with other rank threads for the cores); the bubble is the simulator's replay of those op times in the schedule's order,%n"
                + "    next to the simulator fed the same run's mean F, B, W (sim mean) and its per-stage medians (sim stage);%n"
                + "  free: the ranks run at once and share the machine's cores; its bubble is 1 - busy / (ranks x step) from its own op times.%n",
                o.pp(), o.microBatches());
        out.printf(Locale.ROOT, "%-10s %5s %8s %8s %8s %14s %6s %6s %8s %8s %10s%n", "schedule", "ranks", "F ms", "B ms", "W ms",
                "replay bubble", "sim", "sim", "free", "free", "");
        out.printf(Locale.ROOT, "%-10s %5s %8s %8s %8s %14s %6s %6s %8s %8s %10s%n", "", "", "(run)", "(input)", "(run)", "step 1 / 2", "mean", "stage",
                "step ms", "bubble", "replay-sim");
        List<TimelineChart.Panel> panels = new ArrayList<>();
        double worst = 0, noise = 0;
        for (String name : Schedules.NAMES) {
            Schedule s = Schedules.byName(name, o.pp(), o.microBatches(), costs);
            java.util.concurrent.Semaphore token = new java.util.concurrent.Semaphore(1, true);
            List<List<PipelineRunner.StepResult>> serSteps = measuredRun(c, o, s, part, token);
            List<PipelineRunner.StepResult> free = new ArrayList<>();
            for (List<PipelineRunner.StepResult> l : measuredRun(c, o, s, part, null)) free.add(l.getLast());
            // the serialized run's op times: the simulator's inputs (means, per-stage medians) and its replay
            java.util.Map<String, List<Double>> byKind = new java.util.HashMap<>();
            List<List<java.util.Map<Op, Double>>> opMs = new ArrayList<>();         // [timed step][rank]: op -> ms
            for (int step = 0; step < 2; step++) {
                List<java.util.Map<Op, Double>> ranks = new ArrayList<>();
                for (List<PipelineRunner.StepResult> rankSteps : serSteps) {
                    java.util.Map<Op, Double> mine = new java.util.HashMap<>();
                    for (PipelineRunner.Timed t : rankSteps.get(step).timeline()) {
                        double ms = (t.endNs() - t.startNs()) / 1e6;
                        mine.put(t.op(), ms);
                        if (t.op().kind() != Op.Kind.FB) {
                            byKind.computeIfAbsent(t.op().kind().name(), k -> new ArrayList<>()).add(ms);
                            byKind.computeIfAbsent(t.op().kind() + "@" + t.op().stage(), k -> new ArrayList<>()).add(ms);
                        }
                    }
                    ranks.add(mine);
                }
                opMs.add(ranks);
            }
            double F = mean(byKind.get("F")), BI = mean(byKind.get("B")), W = mean(byKind.get("W"));
            Costs runCosts = Costs.of(F, BI + W, W);
            Simulator.Result replay = Simulator.replay(s, runCosts, (r, i, op) -> opMs.get(1).get(r).get(op));
            Simulator.Result replay0 = Simulator.replay(s, runCosts, (r, i, op) -> opMs.get(0).get(r).get(op));
            Simulator.Result simMean = Simulator.run(s, runCosts);
            Simulator.Result simStage = Simulator.replay(s, runCosts, (r, i, op) -> switch (op.kind()) {
                case F, B, W -> stageMedian(byKind, op.kind().name(), op.stage());
                case FB -> stageMedian(byKind, "F", op.stage()) + stageMedian(byKind, "B", op.stage2());
                default -> 0;
            });
            long end = 0;
            double busy = 0;
            List<PipelineRunner.Timed> all = new ArrayList<>();
            for (PipelineRunner.StepResult r : free) {
                all.addAll(r.timeline());
                for (PipelineRunner.Timed t : r.timeline()) { end = Math.max(end, t.endNs()); busy += t.endNs() - t.startNs(); }
            }
            double freeBubble = 1 - busy / ((double) s.ranks() * end);
            double mid = (replay.bubbleFraction() + replay0.bubbleFraction()) / 2;
            worst = Math.max(worst, Math.abs(mid - simStage.bubbleFraction()));
            noise = Math.max(noise, Math.abs(replay.bubbleFraction() - replay0.bubbleFraction()));
            out.printf(Locale.ROOT, "%-10s %5d %8.2f %8.2f %8.2f %5.1f%% /%5.1f%% %5.1f%% %5.1f%% %8.1f %7.1f%% %+9.1f pt%n", name, s.ranks(), F, BI, W,
                    100 * replay0.bubbleFraction(), 100 * replay.bubbleFraction(), 100 * simMean.bubbleFraction(), 100 * simStage.bubbleFraction(),
                    end / 1e6, 100 * freeBubble, 100 * (mid - simStage.bubbleFraction()));
            List<PipelineRunner.Timed> replayed = new ArrayList<>();
            for (Simulator.Span sp : replay.spans()) replayed.add(new PipelineRunner.Timed(sp.rank(), sp.op(), Math.round(sp.start() * 1e6), Math.round(sp.end() * 1e6)));
            panels.add(new TimelineChart.Panel(name + ": measured op times replayed (" + s.ranks() + " ranks, " + o.pp() + " stages, " + o.microBatches()
                    + " micro-batches)", s.ranks(), replayed, replay.bubbleFraction()));
            panels.add(new TimelineChart.Panel(name + ": free-running thread ranks sharing the cores", s.ranks(), all, freeBubble));
        }
        out.printf(Locale.ROOT, "replay-sim: the mean of the two replayed bubbles minus the simulator's for the per-stage medians of both steps:%n"
                + "largest gap %.1f points, against %.1f points between the two timed steps of one schedule (the noise of the op times);%n"
                + "sim mean differs from sim stage by the stages' imbalance (the head with MTP is the largest stage).%n", 100 * worst, 100 * noise);
        memory(c, o, part, unitParams, out);
        Path png = o.out().resolve("pipeline.png"), html = o.out().resolve("pipeline.html");
        TimelineChart.writePng(png, panels);
        TimelineChart.writeHtml(html, panels, String.format(Locale.ROOT, "model %s, %d tokens per micro-batch; F %.2f ms, B %.2f ms, W %.2f ms per stage",
                o.preset(), o.seqLen(), costs.f(), costs.b(), costs.w()));
        out.println("wrote " + png + " and " + html);
        overlap(c, o, out);
    }

    /**
     * The per-rank memory table against report Table 2, measured from the arenas of one training step of every
     * schedule (built for the costs train uses, {@link PipelineTrainStep#COSTS}, so the table does not depend on
     * timing): each rank's model holds only its stages' tensors ({@link TrainModel#forUnits}); parameter and gradient
     * bytes are its arenas', optimizer bytes its stage-mode ZeRO-1 AdamW moments (FP32, no data group), activation
     * bytes the most its micro-batch slots (each a stage's activation arena) held at once.
     */
    static void memory(ModelConfig c, Options o, StagePartition part, long[] unitParams, PrintStream out) {
        long stageMean = 0, whole = 0;
        for (int s = 0; s < part.stages(); s++) stageMean += part.stageParams(unitParams, s);
        for (long u : unitParams) whole += u;
        stageMean /= part.stages();
        out.printf(Locale.ROOT, "%nper-rank memory vs report Table 2, measured from the arenas of one step of each schedule (%d stages, %d micro-batches of 1 x %d):%n"
                + "params / grads: bytes of the rank's parameter and gradient arenas (its stages' tensors only) and params over the mean stage's;%n"
                + "optimizer: bytes of the AdamW moments of the tensors it owns (FP32; 1/(dp x ep) of them per data rank with data parallel);%n"
                + "activations: the most bytes its micro-batch slots (one stage's activation arena each) held at once, over the mean stage's slot,%n"
                + "and the most micro-batches in flight, simulated / measured%n", part.stages(), o.microBatches(), o.seqLen());
        out.printf(Locale.ROOT, "%-10s %4s %-8s %14s %8s %14s %14s %16s %8s %9s %12s%n", "schedule", "rank", "stages", "params B", "x stage", "grads B",
                "optimizer B", "activations B", "x slot", "mb peak", "report");
        TrainModel whole1 = new TrainModel(c, 1, o.seqLen());
        long slotMean = 0;
        for (int st = 0; st < part.stages(); st++) slotMean += new TrainModel(whole1, part.first(st), part.end(st)).activationBytes();
        slotMean /= part.stages();
        for (String name : Schedules.NAMES) {
            Schedule s = Schedules.byName(name, o.pp(), o.microBatches(), PipelineTrainStep.COSTS);
            Simulator.Result sim = Simulator.run(s, PipelineTrainStep.COSTS);
            List<long[]> rows = ThreadRanks.run(s.ranks(), comm -> {
                TrainModel m = TrainModel.forUnits(c, 1, o.seqLen(), true, dev.jseek.train.Precision.FP32, part.unitsOf(s.stagesOf(comm.rank())));
                m.initRandom(1, 0.02f);
                PipelineRunner runner = new PipelineRunner(s, part, m, comm);
                List<String> names = m.layout().declared().stream().map(dev.jseek.train.ParamLayout.Entry::name).toList();
                int[] owners = names.stream().mapToInt(n -> runner.copies().owner(n)).toArray();
                dev.jseek.train.ZeroShard z = dev.jseek.train.ZeroShard.forStage(null, comm, names, owners, dev.jseek.train.TrainTensor.fromLayout(m.layout()),
                        m.params().length, dev.jseek.train.AdamW.deepSeekV3(m.layout(), 1e-8f).config());
                PipelineRunner.StepResult r = runner.step(batches(c, o.microBatches(), o.seqLen(), 1), 1, o.seqLen(), 1f / o.microBatches());
                return new long[]{4L * m.params().length, 4L * m.grads().length, z.optimizerBytes(), r.peakActivationBytes(), r.peakSlots()};
            });
            String report = name.startsWith("dualpipe") ? "2x, PP+1 = " + (o.pp() + 1) : "1x, PP = " + o.pp();
            for (int r = 0; r < s.ranks(); r++) {
                long[] v = rows.get(r);
                out.printf(Locale.ROOT, "%-10s %4d %-8s %,14d %8.2f %,14d %,14d %,16d %8.2f %4d / %-2d %12s%n", name, r, s.stagesOf(r).toString().replace(" ", ""),
                        v[0], v[0] / 4.0 / stageMean, v[1], v[2], v[3], (double) v[3] / slotMean, sim.peakActivations()[r], v[4], report);
            }
        }
        out.printf(Locale.ROOT, "(whole model: %,d parameter bytes; mean stage %,d; one micro-batch's activations on the mean stage %,d bytes)%n",
                4 * whole, 4 * stageMean, slotMean);
    }

    /** One warm-up step and two timed steps of schedule s on thread ranks (token: one compute op at a time; null: free); [rank][step]. */
    private static List<List<PipelineRunner.StepResult>> measuredRun(ModelConfig c, Options o, Schedule s, StagePartition part, java.util.concurrent.Semaphore token) {
        return ThreadRanks.run(s.ranks(), comm -> {
            TrainModel m = TrainModel.forUnits(c, 1, o.seqLen(), true, dev.jseek.train.Precision.FP32, part.unitsOf(s.stagesOf(comm.rank())));
            m.initRandom(1, 0.02f);
            PipelineRunner runner = new PipelineRunner(s, part, m, comm);
            runner.serializeCompute(token);
            runner.step(batches(c, o.microBatches(), o.seqLen(), 1), 1, o.seqLen(), 1f / o.microBatches());
            List<PipelineRunner.StepResult> l = new ArrayList<>();
            for (int k = 2; k <= 3; k++) l.add(runner.step(batches(c, o.microBatches(), o.seqLen(), k), 1, o.seqLen(), 1f / o.microBatches()));
            return l;
        });
    }

    /**
     * The F&amp;B overlap of report Figure 4 on a CPU: DualPipeV on pp=2 x ep=2 thread ranks (4 stages, the routed
     * experts sharded over 2 ranks per stage), the timed step run with the pairs in order and with them overlapped.
     * Overlapped, each all-to-all inside a pair is timed from post to completion (communication time) and for the
     * part waited after the other half computed (exposed); hidden = communication - exposed, both from the same
     * steps, so 0 &lt;= hidden &lt;= communication under any load. The in-order steps' communication time (each
     * all-to-all blocking for its whole time) is printed beside it for reference.
     */
    static void overlap(ModelConfig c, Options o, PrintStream out) {
        if (c.nRoutedExperts() % 2 != 0 || c.nRoutedExperts() == 0) {
            out.println("\nF&B overlap: skipped (the model's routed experts do not split over 2 ranks)");
            return;
        }
        int stages = 4, m = Math.max(o.microBatches(), 4);      // dualpipev on 2 ranks needs >= 4
        TrainModel probe = new TrainModel(c, 1, o.seqLen());
        StagePartition part = StagePartition.byCost(StagePartition.unitCosts(probe), stages);
        Schedule s = PipelineTrainStep.schedule("dualpipev", 2, m);
        out.printf(Locale.ROOT, "%nF&B overlap (report Figure 4): dualpipev on pp=2 x ep=2 thread ranks (4 stages, %d micro-batches per replica, %d routed experts%n"
                + "sharded over 2 ranks per stage); expert all-to-all time inside F&B pairs over 2 steps in order and 2 overlapped, alternating%n", m, c.nRoutedExperts());
        // one session: a warm-up step, then in order / overlapped / in order / overlapped; each mode's sums over its two steps
        List<List<PipelineRunner.StepResult>> perRank = ThreadRanks.run(4, comm -> {
            RankGrid g = RankGrid.of(comm, 2, 1, 2);
            TrainModel model = TrainModel.forUnits(c, 2, o.seqLen(), true, dev.jseek.train.Precision.FP32, part.unitsOf(s.stagesOf(g.pipeline().rank())));
            model.initRandom(1, 0.02f);
            PipelineRunner runner = new PipelineRunner(s, part, model, g.pipeline(), g.expert());
            int j = g.replica();
            List<PipelineRunner.MicroBatch> all = batches(c, 2 * m, o.seqLen(), 3);
            List<PipelineRunner.MicroBatch> mine = all.subList(j * m, (j + 1) * m);
            runner.setOverlap(true);
            runner.step(mine, 1, o.seqLen(), 1f / (2 * m));
            List<PipelineRunner.StepResult> l = new ArrayList<>();
            for (int k = 0; k < 4; k++) {
                runner.setOverlap(k % 2 == 1);
                l.add(runner.step(mine, 1, o.seqLen(), 1f / (2 * m)));
            }
            return l;
        });
        List<List<PipelineRunner.StepResult>> runs = List.of(new ArrayList<>(), new ArrayList<>());   // [mode][rank], steps summed
        for (List<PipelineRunner.StepResult> l : perRank)
            for (int mode = 0; mode < 2; mode++) runs.get(mode).add(sum(l.get(mode), l.get(mode + 2)));
        // comm, exposed and hidden all come from the same overlapped steps (each all-to-all: posted -> completed, and
        // the part waited after the turn came back), so 0 <= exposed <= comm whatever the load; the in-order steps'
        // comm (another run, its own skew between the ranks) is shown beside it only for reference
        out.printf(Locale.ROOT, "%4s %10s %12s %12s %12s %12s %12s %9s %12s %12s%n", "rank", "F&B pairs", "comm ms", "comm ms", "exposed ms", "hidden ms",
                "hidden/comm", "", "F&B ms", "F&B ms");
        out.printf(Locale.ROOT, "%4s %10s %12s %12s %12s %12s %12s %9s %12s %12s%n", "", "", "(in order)", "(overlap)", "(overlap)", "(overlap)", "(overlap)", "",
                "(in order)", "(overlap)");
        double comm = 0, exposed = 0;
        for (int r = 0; r < 4; r++) {
            PipelineRunner.StepResult off = runs.get(0).get(r), on = runs.get(1).get(r);
            long pairs = off.timeline().stream().filter(t -> t.op().kind() == Op.Kind.FB).count();
            double c0 = off.pairCommNs() / 1e6, c1 = on.pairCommNs() / 1e6, e1 = on.pairExposedNs() / 1e6;
            comm += c1;
            exposed += e1;
            out.printf(Locale.ROOT, "%4d %10d %12.2f %12.2f %12.2f %12.2f %11.1f%% %9s %12.2f %12.2f%n", r, pairs, c0, c1, e1, c1 - e1,
                    c1 > 0 ? 100 * (c1 - e1) / c1 : 0, "", fbMs(off), fbMs(on));
        }
        out.printf(Locale.ROOT, "all ranks: %.1f%% of the F&B pairs' expert all-to-all time hidden behind the other micro-batch's compute "
                + "(hidden / comm = (%.2f - %.2f) / %.2f ms, overlapped steps)%n", comm > 0 ? 100 * (comm - exposed) / comm : 0, comm, exposed, comm);
        long endOff = 0, endOn = 0;
        endOff = stepNs(perRank, 0) + stepNs(perRank, 2);
        endOn = stepNs(perRank, 1) + stepNs(perRank, 3);
        endOff /= 2;
        endOn /= 2;
        out.printf(Locale.ROOT, "step (mean of 2): %.1f ms in order, %.1f ms overlapped (4 rank threads on %d cores; comm is the wait for the partner rank's rows%n"
                + "plus the copies: on thread ranks the all-to-all moves memory, its time is mostly the two ranks' skew)%n",
                endOff / 1e6, endOn / 1e6, Runtime.getRuntime().availableProcessors());
    }

    /** The longest rank's end of timed step k. */
    private static long stepNs(List<List<PipelineRunner.StepResult>> perRank, int k) {
        long e = 0;
        for (List<PipelineRunner.StepResult> l : perRank) for (PipelineRunner.Timed t : l.get(k).timeline()) e = Math.max(e, t.endNs());
        return e;
    }

    /** Two steps of one rank as one: timelines concatenated, all-to-all times added. */
    private static PipelineRunner.StepResult sum(PipelineRunner.StepResult a, PipelineRunner.StepResult b) {
        List<PipelineRunner.Timed> t = new ArrayList<>(a.timeline());
        t.addAll(b.timeline());
        return new PipelineRunner.StepResult(a.total(), a.main(), a.mtp(), a.balance(), t, Math.max(a.peakSlots(), b.peakSlots()),
                a.pairCommNs() + b.pairCommNs(), a.pairExposedNs() + b.pairExposedNs(), a.plainCommNs() + b.plainCommNs(),
                Math.max(a.peakActivationBytes(), b.peakActivationBytes()));
    }

    private static double fbMs(PipelineRunner.StepResult r) {
        double s = 0;
        for (PipelineRunner.Timed t : r.timeline()) if (t.op().kind() == Op.Kind.FB) s += (t.endNs() - t.startNs()) / 1e6;
        return s;
    }

    private static double mean(List<Double> x) {
        if (x == null || x.isEmpty()) return Double.NaN;
        double s = 0;
        for (double v : x) s += v;
        return s / x.size();
    }

    private static double stageMedian(java.util.Map<String, List<Double>> byKind, String kind, int stage) {
        List<Double> l = byKind.get(kind + "@" + stage);
        if (l == null || l.isEmpty()) return mean(byKind.get(kind));   // a stage whose ops of this kind all ran in F&B pairs
        double[] a = l.stream().mapToDouble(Double::doubleValue).toArray();
        return median(a);
    }

    static double formula(String name, int pp, Costs c) {
        return switch (name) {
            case "1f1b" -> (pp - 1) * (c.f() + c.b());
            case "zb1p" -> (pp - 1) * (c.f() + c.b() - 2 * c.w());
            default -> (pp / 2 - 1) * (c.fb() + c.b() - 3 * c.w());
        };
    }

    private static int[] bounds(StagePartition p) {
        int[] b = new int[p.stages() + 1];
        for (int s = 0; s < p.stages(); s++) b[s] = p.first(s);
        b[p.stages()] = p.units();
        return b;
    }

    static List<PipelineRunner.MicroBatch> batches(ModelConfig c, int m, int T, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<PipelineRunner.MicroBatch> l = new ArrayList<>();
        for (int i = 0; i < m; i++) {
            int[] seq = new int[T + 1];
            for (int j = 0; j < seq.length; j++) seq[j] = rnd.nextInt(c.vocabSize());
            l.add(new PipelineRunner.MicroBatch(Arrays.copyOf(seq, T), Arrays.copyOfRange(seq, 1, T + 1)));
        }
        return l;
    }

    /** F, B, W per stage: medians over reps of each stage's forward, input and weight backward; their mean over stages. */
    static Costs measure(TrainModel m, StagePartition part, int T, int reps, PrintStream out) {
        int S = part.stages(), n = T * m.config().hiddenSize();
        double[][] f = new double[S][reps], bi = new double[S][reps], w = new double[S][reps];
        PipelineRunner.MicroBatch b = batches(m.config(), 1, T, 9).getFirst();
        for (int rep = -2; rep < reps; rep++) {           // two warm-up rounds
            for (int s = 0; s < S; s++) {
                long t0 = System.nanoTime();
                m.forwardStage(part.first(s), part.end(s), b.tokens(), b.targets(), 1, T, 0);
                if (rep >= 0) f[s][rep] = (System.nanoTime() - t0) / 1e6;
            }
            float[] g = null;
            for (int s = S - 1; s >= 0; s--) {
                long t0 = System.nanoTime();
                m.backwardInputStage(part.first(s), part.end(s), 1f, g, 0);
                long t1 = System.nanoTime();
                m.backwardWeightsStage(part.first(s), part.end(s));
                long t2 = System.nanoTime();
                if (rep >= 0) { bi[s][rep] = (t1 - t0) / 1e6; w[s][rep] = (t2 - t1) / 1e6; }
                if (s > 0) g = Arrays.copyOfRange(m.arenas().dacts, m.stageInputGradOffset(part.first(s)), m.stageInputGradOffset(part.first(s)) + n);
            }
        }
        double F = 0, BI = 0, W = 0;
        for (int s = 0; s < S; s++) {
            out.printf(Locale.ROOT, "stage %d (units %d..%d): F %.2f ms, B input %.2f ms, W %.2f ms%n", s, part.first(s), part.end(s) - 1,
                    median(f[s]), median(bi[s]), median(w[s]));
            F += median(f[s]) / S;
            BI += median(bi[s]) / S;
            W += median(w[s]) / S;
        }
        return Costs.of(F, BI + W, W);
    }

    private static double median(double[] x) {
        double[] c = x.clone();
        Arrays.sort(c);
        return c[c.length / 2];
    }
}
