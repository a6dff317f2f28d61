package dev.jseek.bench;

import dev.jseek.kernels.Gemm;
import dev.jseek.model.ModelConfig;
import dev.jseek.model.ParameterCount;
import dev.jseek.train.AdamW;
import dev.jseek.train.Profiler;
import dev.jseek.train.TrainFlops;
import dev.jseek.train.TrainModel;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;

/**
 * Tokens/s and MFU of the full training step (zero grads, forward + backward with every
 * loss of report §2.1.2 and §2.2, AdamW update) for model presets, against a PyTorch eager port of the same step run in
 * the same process when one is on the class path ({@link TrainStepPeer}; tools/bench-train.sh adds it).
 *
 * <p>MFU = {@link TrainFlops#stepFlops} / step time / peak, where peak is the best F32 FLOP/s of a large square
 * {@link Gemm#sgemm} measured in the same run (or {@code peakGflops}). Before timing, both implementations run the
 * same batch from the same weights and the bench prints the two losses and gradient norms (they must agree to float
 * rounding; it is the check that the peer is the same model). Each implementation is warmed up ({@code warmup} steps
 * and {@code warmupSeconds}), then the two are timed interleaved, step by step, so both see the same machine load;
 * times are the medians of {@code steps} steps.
 * {@code jseek bench train} runs it.
 *
 * @param presets     the names of {@code configs}, for the table
 * @param peakGflops  peak F32 GFLOP/s for MFU, or null to measure it with a {@code peakSize}^3 sgemm
 * @param peer        the reference implementation, or null
 * @param lookForPeer whether a peer was looked for (prints which one, or that none is on the class path)
 */
public record TrainBench(List<String> presets, List<ModelConfig> configs, int batch, int seq, int warmup, double warmupSeconds, int steps,
                         float lr, long seed, Double peakGflops, int peakSize, TrainStepPeer peer, boolean lookForPeer, boolean noRecompute,
                         boolean profile) {
    public TrainBench {
        presets = List.copyOf(presets);
        configs = List.copyOf(configs);
    }

    /** The first {@link TrainStepPeer} on the class path ({@link java.util.ServiceLoader}), or null. */
    public static TrainStepPeer findPeer() {
        for (TrainStepPeer p : java.util.ServiceLoader.load(TrainStepPeer.class)) return p;
        return null;
    }

    /** One row of the result table. */
    record Row(String preset, long params, long activePerToken, int B, int T, long stepFlops,
               double jseekSec, double peerSec, double jseekLoss, double peerLoss, double jseekNorm, double peerNorm) {}

    static final int P_ZERO = Profiler.section("zero parameter grads"), P_ADAM = Profiler.section("adamw step");

    /** Runs every preset (closing the peer at the end) and prints the table to {@code out}. */
    public void run(PrintStream out) throws Exception {
        int threads = jseekThreads();
        double peak = peakGflops != null ? peakGflops * 1e9 : measurePeak(peakSize);
        out.printf(Locale.ROOT, "recompute %s%n", noRecompute ? "off" : "on (RMSNorm outputs, MLA up-projections; docs/architecture.md §7.1)");
        out.printf(Locale.ROOT, "threads %d; peak %.1f GFLOP/s (%s); load average %s%n", threads, peak / 1e9,
                peakGflops != null ? "--peak-gflops" : "sgemm " + peakSize + "^3, best of 10", loadAverage());
        if (lookForPeer)
            out.println(peer == null ? "peer: none on the class path (tools/bench-train.sh adds the PyTorch peer)" : "peer: " + peer.name());
        List<Row> rows = new ArrayList<>();
        try {
            for (int i = 0; i < configs.size(); i++) rows.add(benchOne(presets.get(i), configs.get(i), peer, threads, out));
        } finally {
            if (peer != null) peer.close();
        }
        out.println();
        out.printf(Locale.ROOT, "%-7s %9s %9s %8s %12s %12s %12s %7s %9s %9s%n", "config", "params", "active/tok", "B x T",
                "GFLOP/step", "jseek tok/s", "torch tok/s", "ratio", "jseek MFU", "torch MFU");
        for (Row r : rows) {
            double tokens = (double) r.B * r.T;
            double jt = tokens / r.jseekSec, pt = r.peerSec > 0 ? tokens / r.peerSec : Double.NaN;
            out.printf(Locale.ROOT, "%-7s %9s %9s %8s %12.3f %12.1f %12s %7s %8.2f%% %9s%n", r.preset, ParameterCount.human(r.params),
                    ParameterCount.human(r.activePerToken), r.B + "x" + r.T, r.stepFlops / 1e9, jt,
                    Double.isNaN(pt) ? "-" : String.format(Locale.ROOT, "%.1f", pt),
                    Double.isNaN(pt) ? "-" : String.format(Locale.ROOT, "%.2fx", jt / pt),
                    100 * r.stepFlops / r.jseekSec / peak,
                    Double.isNaN(pt) ? "-" : String.format(Locale.ROOT, "%.2f%%", 100 * r.stepFlops / r.peerSec / peak));
        }
        out.println("MFU = (6 * active Linear params * rows + 3 * causal attention fwd FLOPs) per step / step time / peak"
                + " (dev.jseek.train.TrainFlops); tokens/s = B*T / median step time; load average after: " + loadAverage());
    }


    private Row benchOne(String name, ModelConfig c, TrainStepPeer peer, int threads, PrintStream out) throws Exception {
        int B = batch, T = seq;
        TrainModel m = new TrainModel(c, B, T, !noRecompute);
        m.initRandom(seed, (float) c.initializerRange());
        AdamW opt = AdamW.deepSeekV3(m.layout(), 1e-8f);
        TrainStepPeer.Hyper h = new TrainStepPeer.Hyper(m.mtpLambda(), m.balanceAlpha(), m.sequenceWiseBalance(),
                0.9f, 0.95f, 1e-8f, 0.1f);
        int nb = 4;
        int[][] tok = new int[nb][], tgt = new int[nb][];
        SplittableRandom rnd = new SplittableRandom(seed * 7919 + 17);
        for (int i = 0; i < nb; i++) {
            tok[i] = new int[B * T];
            tgt[i] = new int[B * T];
            for (int j = 0; j < B * T; j++) tok[i][j] = rnd.nextInt(c.vocabSize());
            for (int j = 0; j < B * T; j++) tgt[i][j] = (j + 1) % T != 0 ? tok[i][j + 1] : rnd.nextInt(c.vocabSize());
        }
        long stepFlops = TrainFlops.stepFlops(c, B, T);
        out.printf(Locale.ROOT, "%n== %s: %s parameters, %s active Linear parameters/token, B=%d T=%d, %.3f GFLOP/step%n",
                name, ParameterCount.human(m.layout().size()), ParameterCount.human(TrainFlops.activeParamsPerToken(c)), B, T, stepFlops / 1e9);
        double peerLoss = Double.NaN, peerNorm = Double.NaN, peerSec = Double.NaN;
        if (peer != null) {
            peer.setup(c, m.layout(), m.params().clone(), B, T, h, threads);
            double[] ln = peer.lossAndGradNorm(tok[0], tgt[0]);
            peerLoss = ln[0];
            peerNorm = ln[1];
        }
        m.zeroGrad();
        double jLoss = m.forwardBackward(tok[0], tgt[0], B, T);
        double jNorm = AdamW.clipGradNorm(m.layout(), m.grads(), Double.POSITIVE_INFINITY);
        out.printf(Locale.ROOT, "check (same weights and batch): jseek loss %.7f grad-norm %.7e", jLoss, jNorm);
        if (peer != null)
            out.printf(Locale.ROOT, " | peer loss %.7f grad-norm %.7e | rel. diff %.1e / %.1e", peerLoss, peerNorm,
                    Math.abs(jLoss - peerLoss) / Math.abs(peerLoss), Math.abs(jNorm - peerNorm) / Math.abs(peerNorm));
        out.println();

        // warm each implementation up separately, then time them interleaved step by step (jseek, peer, jseek, ...) so
        // both see the same machine load; both run the same batches in the same order
        int[] ji = {0}, pi = {0};
        DoubleSupplier js = () -> {
            int i = ji[0]++;
            long p0 = Profiler.start();
            m.zeroGrad();
            Profiler.stop(P_ZERO, p0);
            double l = m.forwardBackward(tok[i % nb], tgt[i % nb], B, T);
            p0 = Profiler.start();
            opt.step(m.params(), m.grads(), lr);
            Profiler.stop(P_ADAM, p0);
            return l;
        };
        DoubleSupplier ps = peer == null ? null : () -> {
            int i = pi[0]++;
            return peer.step(tok[i % nb], tgt[i % nb], lr);
        };
        List<Double> jl = new ArrayList<>(), pl = new ArrayList<>();
        int wj = warm(js, jl), wp = ps == null ? 0 : warm(ps, pl);
        double[] jt = new double[steps], jc = new double[steps], pt = new double[steps], pc = new double[steps];
        boolean wasOn = Profiler.enabled();
        if (profile) { Profiler.reset(); Profiler.enable(true); }
        for (int k = 0; k < steps; k++) {
            long c0 = cpuNanos(), t0 = System.nanoTime();
            jl.add(js.getAsDouble());
            jt[k] = (System.nanoTime() - t0) / 1e9;
            jc[k] = (cpuNanos() - c0) / 1e9;
            if (ps == null) continue;
            c0 = cpuNanos();
            t0 = System.nanoTime();
            pl.add(ps.getAsDouble());
            pt[k] = (System.nanoTime() - t0) / 1e9;
            pc[k] = (cpuNanos() - c0) / 1e9;
        }
        Profiler.enable(wasOn);
        double jSec = median(jt);
        out.printf(Locale.ROOT, "jseek: %d warmup steps; median step %.4f s (%s), process CPU %.4f s/step; losses %s%n", wj, jSec,
                fmt(jt), median(jc), fmt(jl));
        if (profile) printProfile(out, jt);
        warnNonFinite(out, "jseek", jl);
        if (ps != null) {
            warnNonFinite(out, "peer", pl);
            peerSec = median(pt);
            out.printf(Locale.ROOT, "peer:  %d warmup steps; median step %.4f s (%s), process CPU %.4f s/step; losses %s%n", wp,
                    peerSec, fmt(pt), median(pc), fmt(pl));
        }
        return new Row(name, m.layout().size(), TrainFlops.activeParamsPerToken(c), B, T, stepFlops, jSec,
                peer == null ? 0 : peerSec, jLoss, peerLoss, jNorm, peerNorm);
    }

    private void printProfile(PrintStream out, double[] times) {
        double total = 0;
        for (double t : times) total += t;
        List<String> names = Profiler.names();
        long[] ns = Profiler.nanos(), calls = Profiler.calls();
        Integer[] order = new Integer[names.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, (x, y) -> Long.compare(ns[y], ns[x]));
        out.printf(Locale.ROOT, "  profile over %d steps (%.1f ms/step; sections are exclusive; the gemm lines overlap them and"
                + " count the GEMMs issued outside parallel loops, i.e. all but the routed experts'):%n", times.length, 1e3 * total / times.length);
        long gemmNs = 0;
        double sum = 0;
        for (int i : order) {
            if (calls[i] == 0) continue;
            boolean gemm = names.get(i).startsWith("gemm ");
            if (gemm) gemmNs += ns[i];
            else sum += ns[i];
            out.printf(Locale.ROOT, "  %s %-40s %9.2f ms/step %6.1f%% %8d calls/step%n", gemm ? "  " : "", names.get(i),
                    ns[i] / 1e6 / times.length, 100 * ns[i] / 1e9 / total, calls[i] / times.length);
        }
        out.printf(Locale.ROOT, "  sections cover %.1f%% of the step; GEMMs: %.1f%% of the step at %.2f GFLOP/s%n",
                100 * sum / 1e9 / total, 100 * gemmNs / 1e9 / total, Profiler.gemmFlops() / (gemmNs / 1e9) / 1e9);
    }

    private static void warnNonFinite(PrintStream out, String who, List<Double> losses) {
        for (int i = 0; i < losses.size(); i++)
            if (!Double.isFinite(losses.get(i))) {
                out.printf(Locale.ROOT, "WARNING: %s loss is %s from step %d on (the model diverged; its times may not be typical)%n",
                        who, losses.get(i), i);
                return;
            }
    }

    /** Runs steps until at least --warmup of them and --warmup-seconds have passed; returns the number run. */
    private int warm(DoubleSupplier step, List<Double> losses) {
        long w0 = System.nanoTime();
        int n = 0;
        while (n < warmup || System.nanoTime() - w0 < warmupSeconds * 1e9) {
            losses.add(step.getAsDouble());
            n++;
        }
        return n;
    }

    /** CPU time of the whole process (all threads; under load it shows the work done, wall time the waiting too). */
    static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** jseek's thread count: the kernels pool size (system property jseek.threads, default all processors). */
    static int jseekThreads() { return dev.jseek.kernels.Parallel.threads(); }

    /** Best F32 FLOP/s of C = A B^T for square n (10 runs after one warmup; the best run is the least disturbed). */
    static double measurePeak(int n) {
        float[] a = new float[n * n], b = new float[n * n], c = new float[n * n];
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < a.length; i++) { a[i] = (float) r.nextDouble(-1, 1); b[i] = (float) r.nextDouble(-1, 1); }
        double best = 0;
        for (int it = 0; it < 11; it++) {
            long t0 = System.nanoTime();
            Gemm.sgemm(false, true, n, n, n, 1f, a, 0, n, b, 0, n, 0f, c, 0, n);
            double s = (System.nanoTime() - t0) / 1e9;
            if (it > 0) best = Math.max(best, 2.0 * n * n * n / s);
        }
        return best;
    }

    static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    }

    /** The first 4 and the last 2 losses (enough to see that both implementations follow the same trajectory). */
    private static String fmt(List<Double> x) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < x.size(); i++) {
            if (i == 4 && x.size() > 6) { sb.append(" ... (step ").append(x.size() - 1).append(")"); i = x.size() - 2; }
            sb.append(sb.isEmpty() ? "" : " ").append(String.format(Locale.ROOT, "%.4f", x.get(i)));
        }
        return sb.toString();
    }

    private static String fmt(double[] x) {
        StringBuilder sb = new StringBuilder();
        for (double v : x) sb.append(sb.isEmpty() ? "" : " ").append(String.format(Locale.ROOT, "%.4f", v));
        return sb.toString();
    }

    static String loadAverage() {
        try {
            String s = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).trim();
            String[] f = s.split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (Exception e) {
            return String.format(Locale.ROOT, "%.2f", java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        }
    }
}
