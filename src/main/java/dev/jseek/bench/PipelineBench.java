package dev.jseek.bench;

import dev.jseek.model.ModelConfig;
import dev.jseek.parallel.ThreadRanks;
import dev.jseek.pipeline.Costs;
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
 * micro-batches next to the report's formulas for those costs; measured timelines of every schedule on thread
 * ranks with their bubble fractions beside the simulator's (a PNG and an HTML chart); per-rank parameters and peak
 * activations against the report's table.
 */
public final class PipelineBench {
    private PipelineBench() {}

    public record Options(ModelConfig config, String preset, int seqLen, int pp, int microBatches, int reps, Path out) {}

    public static void run(Options o, PrintStream out) throws IOException {
        ModelConfig c = o.config();
        StagePartition part;
        TrainModel probe = new TrainModel(c, 1, o.seqLen());
        probe.initRandom(1, 0.02f);
        part = StagePartition.byCost(StagePartition.unitCosts(probe), o.pp());
        out.printf(Locale.ROOT, "model %s, 1 x %d tokens per micro-batch, %d stages (units %s: embedding, %d layers, head + MTP)%n",
                o.preset(), o.seqLen(), o.pp(), Arrays.toString(bounds(part)), c.numHiddenLayers());
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

        out.printf(Locale.ROOT, "%nmeasured on thread ranks (PP %d, %d micro-batches, one warm-up step, then the timed step)%n", o.pp(), o.microBatches());
        out.printf(Locale.ROOT, "%-10s %5s %9s %11s %11s %11s %11s %12s %12s%n", "schedule", "ranks", "step ms", "bubble meas", "bubble sim",
                "params/rank", "x stage", "act. peak", "report");
        long[] unitParams = StagePartition.unitParams(probe);
        long stageMean = 0;
        for (int s = 0; s < part.stages(); s++) stageMean += part.stageParams(unitParams, s);
        stageMean /= part.stages();
        List<TimelineChart.Panel> panels = new ArrayList<>();
        for (String name : Schedules.NAMES) {
            Schedule s = Schedules.byName(name, o.pp(), o.microBatches(), costs);
            List<PipelineRunner.StepResult> results = ThreadRanks.run(s.ranks(), comm -> {
                TrainModel m = new TrainModel(c, 1, o.seqLen());
                m.initRandom(1, 0.02f);
                PipelineRunner runner = new PipelineRunner(s, part, m, comm);
                runner.step(batches(c, o.microBatches(), o.seqLen(), 1), 1, o.seqLen(), 1f / o.microBatches());
                return runner.step(batches(c, o.microBatches(), o.seqLen(), 2), 1, o.seqLen(), 1f / o.microBatches());
            });
            List<PipelineRunner.Timed> all = new ArrayList<>();
            long end = 0;
            double busy = 0;
            int peakSlots = 0;
            for (PipelineRunner.StepResult r : results) {
                all.addAll(r.timeline());
                peakSlots = Math.max(peakSlots, r.peakSlots());
                for (PipelineRunner.Timed t : r.timeline()) { end = Math.max(end, t.endNs()); busy += t.endNs() - t.startNs(); }
            }
            double measured = 1 - busy / ((double) s.ranks() * end);
            Simulator.Result sim = Simulator.run(s, costs);
            long params = 0;
            for (int r = 0; r < s.ranks(); r++) {
                long p = 0;
                for (int st : s.stagesOf(r)) p += part.stageParams(unitParams, st);
                params = Math.max(params, p);
            }
            String report = name.startsWith("dualpipe") ? (2 + "x, PP+1 = " + (o.pp() + 1)) : ("1x, PP = " + o.pp());
            out.printf(Locale.ROOT, "%-10s %5d %9.1f %10.1f%% %10.1f%% %11d %11.2f %5d / %-5d %12s%n", name, s.ranks(), end / 1e6, 100 * measured,
                    100 * sim.bubbleFraction(), params, (double) params / stageMean, sim.maxPeakActivations(), peakSlots, report);
            panels.add(new TimelineChart.Panel(name + " (" + s.ranks() + " ranks, " + o.pp() + " stages, " + o.microBatches() + " micro-batches)",
                    s.ranks(), all, measured));
        }
        out.printf(Locale.ROOT, "params/rank: the largest rank's parameters (floats) of the stages it holds; x stage: over the mean stage's;%n"
                + "act. peak: micro-batches whose activations a rank holds at once, simulated / measured (live activation slots).%n");
        Path png = o.out().resolve("pipeline.png"), html = o.out().resolve("pipeline.html");
        TimelineChart.writePng(png, panels);
        TimelineChart.writeHtml(html, panels, String.format(Locale.ROOT, "model %s, %d tokens per micro-batch; F %.2f ms, B %.2f ms, W %.2f ms per stage",
                o.preset(), o.seqLen(), costs.f(), costs.b(), costs.w()));
        out.println("wrote " + png + " and " + html);
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
