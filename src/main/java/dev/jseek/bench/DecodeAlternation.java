package dev.jseek.bench;

import dev.jseek.infer.Generator;
import dev.jseek.infer.Sampler;
import dev.jseek.kernels.DecodeOrder;
import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.source.ModelSource;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * {@code jseek bench infer --alternate KNOB=V1,V2,...}: the decode test of {@link InferBench} with one
 * {@link DecodeOrder} knob switched between values inside one process, round after round (each round runs every
 * value once, the order rotated by one each round), so that the host's drifting memory speed, which moves a decode
 * run by tens of percent from one process to the next, falls on all values alike (docs/quantization.md, "The decode
 * step"). Prints per value the median, lowest and highest decode tokens/s and GB/s, and the median over rounds of
 * its tokens/s divided by the first value's in the same round.
 *
 * @param files  GGUF files (each loaded once)
 * @param knob   a {@link DecodeOrder} knob
 * @param values its values (at least two)
 * @param gen    decode tokens per run (after a 1-token prompt)
 * @param rounds timed rounds (after at least two warm-up rounds)
 * @param warmupSeconds more warm-up rounds until this many seconds have passed (the JIT compiles a small model's step
 *               after thousands of tokens: {@link InferBench})
 */
public record DecodeAlternation(List<Path> files, String knob, List<String> values, int gen, int rounds, long seed, double warmupSeconds,
                                PrintStream log) {
    public DecodeAlternation {
        check(knob, values);
    }

    /**
     * Refuses, with one line naming it, a knob that is not a {@link DecodeOrder} knob, fewer than two values or a value
     * the knob does not take (before anything loads); leaves the knob as it was. Also {@code bench rows --alternate}'s
     * check ({@link RowsBench}).
     */
    public static void check(String knob, List<String> values) {
        if (!DecodeOrder.has(knob))
            throw new IllegalArgumentException("--alternate: " + knob + " is not a knob that switches at run time (one of "
                    + String.join(", ", DecodeOrder.names()) + ")");
        if (values.size() < 2) throw new IllegalArgumentException("--alternate: give at least two values, e.g. " + knob + "=true,false");
        String was = DecodeOrder.get(knob);
        try {
            for (String v : values) DecodeOrder.set(knob, v);        // rejects a bad value before anything loads
        } finally {
            DecodeOrder.set(knob, was);
        }
    }

    public void run(PrintStream out) {
        out.printf("decode, %d tokens after a 1-token prompt, %s alternating in one process: %d rounds after at least two warm-up rounds and %.1f s, "
                + "value order rotated each round (load average before: %s)%n", gen, knob, rounds, warmupSeconds, TrainBench.loadAverage());
        String was = DecodeOrder.get(knob);
        try {
            for (Path f : files) file(out, f);
        } finally {
            DecodeOrder.set(knob, was);
        }
        out.printf("(ratio = median over rounds of tokens/s / the first value's in the same round; load average after: %s)%n",
                TrainBench.loadAverage());
    }

    private void file(PrintStream out, Path f) {
        long bytes = InferBench.decodeBytes(f);
        int nv = values.size();
        double[][] tps = new double[nv][rounds];
        log.printf("jseek on %s...%n", f);
        try (DeepSeekV3 m = ModelSource.open(f)) {
            int[] one = {new java.util.SplittableRandom(seed).nextInt(m.config.vocabSize())};
            Generator g = new Generator(m, AttnMode.ABSORB);
            long w0 = System.nanoTime();
            int warm = 0;
            while (warm < 2 || System.nanoTime() - w0 < warmupSeconds * 1e9) {   // warm every value's code up
                for (int j = 0; j < nv; j++) {
                    DecodeOrder.set(knob, values.get(Math.floorMod(j + warm, nv)));
                    g.generate(one, gen + 1, new Sampler(0, 0, 1, seed), new int[0], null);
                }
                warm++;
            }
            log.printf("  warm-up: %d rounds in %.1f s%n", warm, (System.nanoTime() - w0) / 1e9);
            for (int round = 0; round < rounds; round++) {
                for (int j = 0; j < nv; j++) {
                    int v = Math.floorMod(j + round, nv);
                    DecodeOrder.set(knob, values.get(v));
                    Generator.Result res = g.generate(one, gen + 1, new Sampler(0, 0, 1, seed), new int[0], null);
                    tps[v][round] = res.decodeTokensPerSecond();
                }
            }
        }
        out.printf("%n%s (%.3f GB/token)%n%-28s %12s %10s %10s %10s %8s%n", f, bytes / 1e9, knob, "median tok/s", "lowest",
                "highest", "GB/s", "ratio");
        for (int v = 0; v < nv; v++) {
            double[] ratio = new double[rounds];
            for (int r = 0; r < rounds; r++) ratio[r] = tps[v][r] / tps[0][r];
            double med = median(tps[v]);
            out.printf("%-28s %12.1f %10.1f %10.1f %10.1f %7.3fx%n", values.get(v), med, Arrays.stream(tps[v]).min().orElse(0),
                    Arrays.stream(tps[v]).max().orElse(0), bytes * med / 1e9, median(ratio));
        }
    }

    static double median(double[] a) {
        double[] s = a.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
