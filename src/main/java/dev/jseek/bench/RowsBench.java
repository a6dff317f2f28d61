package dev.jseek.bench;

import dev.jseek.infer.Prefill;
import dev.jseek.kernels.DecodeOrder;
import dev.jseek.kernels.Parallel;
import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.KvCache;
import dev.jseek.model.StepProfile;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * What a forward over M token rows costs against a 1-token forward, on a real model (docs/quantization.md, "Small-M
 * products"): the two places where decode runs M rows through the weights at once.
 * <ul>
 *   <li>verify: {@code forwardHidden} of M consecutive tokens of one sequence plus their M rows of logits (the MTP
 *       speculative verify is M = 2);</li>
 *   <li>batch: {@code decodeBatch} of M sequences, one new token each (a continuous-batching decode step).</li>
 * </ul>
 * Each sequence first gets a {@code context}-token random prompt; every timed forward then writes the same cache
 * positions again (so the attention length stays {@code context}). Prints milliseconds per forward (median of
 * {@code reps} after {@code reps} untimed), the ratio to M = 1 (the goal is about 1: the weights are read once for
 * all rows), the calling thread's CPU time per forward (with one pool thread the work itself, robust to other jobs'
 * load), and, with {@code profile}, the per-phase microseconds of each M ({@link StepProfile}; thread CPU time with
 * {@code -Djseek.profile.cpu=true}).
 *
 * <p>With a {@code knob} ({@code bench rows --alternate KNOB=V1,V2,...}, a {@link DecodeOrder} knob): every
 * timed round runs each M once per value, the knob switched between values inside the process (the value order
 * rotated by one each round), so that the host's drift falls on all values alike (as {@link DecodeAlternation} does
 * for decode); one table per value, and per M the median over rounds of the first value's time over this value's
 * (above 1: this value is faster).
 */
public record RowsBench(DeepSeekV3 m, String label, int[] ms, int context, int reps, boolean verify, boolean batch, boolean profile, long seed,
                        String knob, List<String> values) {
    public RowsBench {
        if (knob != null) {
            DecodeAlternation.check(knob, values);
            if (profile) throw new IllegalArgumentException("--alternate and --profile: give one of them (the profile times one setting)");
        }
    }

    /** Without a knob to alternate. */
    public RowsBench(DeepSeekV3 m, String label, int[] ms, int context, int reps, boolean verify, boolean batch, boolean profile, long seed) {
        this(m, label, ms, context, reps, verify, batch, profile, seed, null, null);
    }
    private static final java.lang.management.ThreadMXBean MX = java.lang.management.ManagementFactory.getThreadMXBean();

    public void run(PrintStream out) {
        int vocab = m.config.vocabSize();
        int maxM = 0;
        for (int x : ms) maxM = Math.max(maxM, x);
        SplittableRandom r = new SplittableRandom(seed);
        int[] prompt = new int[context];
        for (int i = 0; i < context; i++) prompt[i] = r.nextInt(vocab);
        int[] next = new int[maxM];
        for (int i = 0; i < maxM; i++) next[i] = r.nextInt(vocab);
        out.printf("model %s (%d layers, hidden %d, vocab %d), %d threads, context %d, median of %d forwards per M after %d untimed rounds over all M%n",
                label, m.config.numHiddenLayers(), m.config.hiddenSize(), vocab, Parallel.threads(), context, reps, reps);
        out.printf("%-6s %4s %10s %8s %12s %11s %8s%n", "mode", "M", "ms/forward", "vs M=1", "ms/row", "cpu ms", "vs M=1");
        long[][][] phases = new long[2][ms.length][];
        for (int mode = 0; mode < 2; mode++) {
            if (mode == 0 && !verify || mode == 1 && !batch) continue;
            KvCache[] caches = new KvCache[maxM];
            for (int i = 0; i < (mode == 0 ? 1 : maxM); i++) {
                caches[i] = m.newCache(context + maxM, AttnMode.ABSORB);
                Prefill.lastLogits(m, prompt, 0, caches[i], Prefill.chunk());
            }
            int[] positions = new int[maxM];
            java.util.Arrays.fill(positions, context);
            Runnable[] fwd = new Runnable[ms.length];
            for (int j = 0; j < ms.length; j++) {
                int M = ms[j];
                int[] toks = java.util.Arrays.copyOf(next, M);
                fwd[j] = mode == 0 ? () -> m.logits(m.forwardHidden(toks, context, caches[0]), 0, M)
                        : () -> m.decodeBatch(toks, positions, caches, M);
            }
            // untimed rounds over every M first (the JIT compiles each M's kernels), then timed rounds, the M's
            // interleaved so that a change of machine load falls on all of them alike
            if (knob != null) {
                alternate(out, mode, fwd);
                continue;
            }
            for (int k = 0; k < reps; k++) for (Runnable f : fwd) f.run();
            long[][] t = new long[ms.length][reps], c = new long[ms.length][reps];
            for (int k = 0; k < reps; k++)
                for (int j = 0; j < ms.length; j++) {
                    long c0 = MX.getCurrentThreadCpuTime(), t0 = System.nanoTime();
                    fwd[j].run();
                    t[j][k] = System.nanoTime() - t0;
                    c[j][k] = MX.getCurrentThreadCpuTime() - c0;
                }
            double base = 0, cbase = 0;
            for (int j = 0; j < ms.length; j++) {
                java.util.Arrays.sort(t[j]);
                java.util.Arrays.sort(c[j]);
                double ms1 = t[j][reps / 2] / 1e6, cms = c[j][reps / 2] / 1e6;
                if (j == 0) {
                    base = ms1;
                    cbase = cms;
                }
                out.printf("%-6s %4d %10.3f %7.2fx %12.3f %11.3f %7.2fx%n", mode == 0 ? "verify" : "batch", ms[j], ms1, ms1 / base, ms1 / ms[j],
                        cms, cms / cbase);
            }
            if (profile)
                for (int j = 0; j < ms.length; j++) {
                    boolean was = StepProfile.enabled();
                    StepProfile.reset();
                    StepProfile.enable(true);
                    for (int k = 0; k < reps; k++) fwd[j].run();
                    StepProfile.enable(was);
                    phases[mode][j] = StepProfile.nanos();
                }
        }
        if (!profile) return;
        StepProfile.Phase[] ps = StepProfile.Phase.values();
        for (int mode = 0; mode < 2; mode++) {
            if (phases[mode][0] == null) continue;
            out.printf("%n%s: us per forward by phase (* = weight GEMV)%n%-34s", mode == 0 ? "verify" : "batch", "phase");
            for (int M : ms) out.printf(" %9s", "M=" + M);
            out.println();
            long[] tot = new long[ms.length];
            for (StepProfile.Phase p : ps) {
                boolean any = false;
                for (int j = 0; j < ms.length; j++) any |= phases[mode][j][p.ordinal()] != 0;
                if (!any) continue;
                out.printf("%-34s", p.name().toLowerCase() + (p.gemv() ? " *" : ""));
                for (int j = 0; j < ms.length; j++) {
                    long v = phases[mode][j][p.ordinal()];
                    tot[j] += v;
                    out.printf(" %9.1f", v / 1e3 / reps);
                }
                out.println();
            }
            out.printf("%-34s", "timed total");
            for (int j = 0; j < ms.length; j++) out.printf(" %9.1f", tot[j] / 1e3 / reps);
            out.println();
        }
    }

    /** The timed rounds with {@link #knob} switched between {@link #values}: one table per value, and its speed ratio. */
    private void alternate(PrintStream out, int mode, Runnable[] fwd) {
        int nv = values.size();
        String was = DecodeOrder.get(knob);
        double[][][] t = new double[nv][ms.length][reps];
        try {
            for (int k = 0; k < reps; k++)
                for (int v = 0; v < nv; v++) {
                    DecodeOrder.set(knob, values.get(v));
                    for (Runnable f : fwd) f.run();
                }
            for (int k = 0; k < reps; k++)
                for (int i = 0; i < nv; i++) {
                    int v = Math.floorMod(i + k, nv);
                    DecodeOrder.set(knob, values.get(v));
                    for (int j = 0; j < ms.length; j++) {
                        long t0 = System.nanoTime();
                        fwd[j].run();
                        t[v][j][k] = (System.nanoTime() - t0) / 1e6;
                    }
                }
        } finally {
            DecodeOrder.set(knob, was);
        }
        String name = mode == 0 ? "verify" : "batch";
        out.printf("%s, %s alternating in one process (order rotated each round): ms per forward, median of %d rounds%n", name, knob, reps);
        out.printf("%-22s %4s %10s %10s %10s %12s%n", knob, "M", "ms/forward", "lowest", "highest", "speed ratio");
        for (int v = 0; v < nv; v++)
            for (int j = 0; j < ms.length; j++) {
                double[] ratio = new double[reps];
                for (int k = 0; k < reps; k++) ratio[k] = t[0][j][k] / t[v][j][k];
                out.printf("%-22s %4d %10.3f %10.3f %10.3f %11.3fx%n", values.get(v), ms[j], DecodeAlternation.median(t[v][j]),
                        Arrays.stream(t[v][j]).min().orElse(0), Arrays.stream(t[v][j]).max().orElse(0),
                        DecodeAlternation.median(ratio));
            }
    }
}
