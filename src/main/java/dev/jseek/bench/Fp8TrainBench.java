package dev.jseek.bench;

import dev.jseek.model.ModelConfig;
import dev.jseek.train.AdamW;
import dev.jseek.train.GradClip;
import dev.jseek.train.Precision;
import dev.jseek.train.TrainModel;
import dev.jseek.train.TrainTensor;
import java.io.PrintStream;
import java.util.SplittableRandom;

/**
 * Trains the same model from the same initialization on the same token stream three times, with every attention and
 * FFN Linear in FP32, in BF16 (the report's baseline) and in FP8 ({@link Precision}; report §3.3), and prints the loss
 * curves, the relative loss difference FP8 vs BF16 along the run (report §3.3 validates FP8 at < 0.25% relative loss
 * error vs BF16 after ~1T tokens; a short run on a tiny model only shows whether FP8 tracks BF16), the activation
 * memory each holds for backward (FP8 caches Linear inputs in E4M3 / E5M6, {@code dev.jseek.train.ActCache}) and the
 * median time per step of each. AdamW moments are BF16 in the FP8 run and FP32 in the others by default
 * ({@code moments} auto), as the report's FP8 framework does. The tokens come from a seeded first-order Markov chain
 * (each token has a preferred successor with probability {@code pNext}), so there is something to learn.
 * {@code jseek bench fp8} runs it.
 *
 * @param moments auto, fp32 or bf16 (lower case)
 */
public record Fp8TrainBench(String preset, ModelConfig c, int steps, int batch, int seq, float lr, float initStd, double pNext,
                            long seed, int every, String moments, boolean noRecompute) {
    /** Runs the three trainings and prints the comparison to {@code out}. */
    public void run(PrintStream out) {
        int vocab = c.vocabSize();
        SplittableRandom r = new SplittableRandom(seed);
        int[] succ = new int[vocab];
        for (int i = 0; i < vocab; i++) succ[i] = r.nextInt(vocab);
        out.printf("preset %s, %d steps of %d x %d tokens, AdamW lr %s, init std %s, Markov data (p-next %s), seed %d%n",
                preset, steps, batch, seq, lr, initStd, pNext, seed);
        String mo = moments;
        Precision[] precs = {Precision.FP32, Precision.BF16, Precision.FP8};
        double[][] loss = new double[precs.length][steps];
        double[][] stepSecs = new double[precs.length][steps];
        long[] saved = new long[precs.length], layer = new long[precs.length];
        java.util.List<Integer> moeIds = new TrainModel(c, 1, seq).moeLayerIds();
        String layerName = moeIds.isEmpty() ? "model.layers.0." : "model.layers." + moeIds.get(0) + ".";
        boolean[] bf16Moments = new boolean[precs.length];
        for (int pi = 0; pi < precs.length; pi++) {
            Precision p = precs[pi];
            TrainModel m = new TrainModel(c, batch, seq, !noRecompute, p);
            m.initRandom(seed, initStd);
            saved[pi] = m.activationBytes();
            layer[pi] = m.activationLayout().savedBytes(layerName);
            bf16Moments[pi] = mo.equals("bf16") || (mo.equals("auto") && p == Precision.FP8);
            AdamW opt = new AdamW(AdamW.Config.deepseekV3().withBf16Moments(bf16Moments[pi]), m.layout().size(), TrainTensor.fromLayout(m.layout()));
            var tensors = TrainTensor.fromLayout(m.layout());
            SplittableRandom data = new SplittableRandom(seed + 1);
            int[] tok = new int[batch * seq], tgt = new int[batch * seq];
            for (int s = 0; s < steps; s++) {
                long t0 = System.nanoTime();
                for (int b = 0; b < batch; b++) {
                    int t = data.nextInt(vocab);
                    for (int i = 0; i <= seq; i++) {
                        int next = data.nextDouble() < pNext ? succ[t] : data.nextInt(vocab);
                        if (i < seq) tok[b * seq + i] = t;
                        if (i > 0) tgt[b * seq + i - 1] = t;
                        t = next;
                    }
                }
                m.zeroGrad();
                m.forwardBackward(tok, tgt, batch, seq);
                loss[pi][s] = m.lastMainLoss();
                GradClip.clip(m.grads(), tensors, 1.0);
                opt.step(m.params(), m.grads(), lr);
                stepSecs[pi][s] = (System.nanoTime() - t0) / 1e9;
            }
        }
        out.printf("%6s  %12s  %12s  %12s  %16s  %17s%n", "step", "CE FP32", "CE BF16", "CE FP8", "FP8 vs BF16", "BF16 vs FP32");
        double maxRel = 0;
        for (int s = 0; s < steps; s++) {
            double rel = relDiff(loss[2][s], loss[1][s]);
            maxRel = Math.max(maxRel, Math.abs(rel));
            if ((s + 1) % every == 0 || s == 0 || s == steps - 1)
                out.printf("%6d  %12.5f  %12.5f  %12.5f  %+15.3f%%  %+16.3f%%%n", s + 1, loss[0][s], loss[1][s], loss[2][s], 100 * rel,
                        100 * relDiff(loss[1][s], loss[0][s]));
        }
        int w = Math.min(10, steps);
        double[] mean = new double[precs.length];
        for (int pi = 0; pi < precs.length; pi++) {
            for (int s = steps - w; s < steps; s++) mean[pi] += loss[pi][s];
            mean[pi] /= w;
        }
        out.printf("mean main CE of the last %d steps: FP32 %.5f, BF16 %.5f, FP8 %.5f; FP8 vs BF16 %+.3f%% (report: below 0.25%%), BF16 vs FP32 %+.3f%%%n",
                w, mean[0], mean[1], mean[2], 100 * relDiff(mean[2], mean[1]), 100 * relDiff(mean[1], mean[0]));
        out.printf("largest |relative difference| FP8 vs BF16 over all %d steps: %.3f%%%n", steps, 100 * maxRel);
        out.printf("activations held for backward (%d x %d tokens, recompute %s): FP32 %.2f MiB, BF16 %.2f MiB (float, like FP32), FP8 %.2f MiB (%.2fx less)%n",
                batch, seq, noRecompute ? "off" : "on", saved[0] / 1048576.0, saved[1] / 1048576.0, saved[2] / 1048576.0, (double) saved[1] / saved[2]);
        out.printf("  of which one %s layer (%s*, what grows with depth): FP32 %.1f KiB, BF16 %.1f KiB, FP8 %.1f KiB (%.2fx less)%n",
                moeIds.isEmpty() ? "dense" : "MoE", layerName, layer[0] / 1024.0, layer[1] / 1024.0, layer[2] / 1024.0, (double) layer[1] / layer[2]);
        out.printf("AdamW moments: FP32 run %s, BF16 run %s, FP8 run %s%n", bf16Moments[0] ? "BF16" : "FP32", bf16Moments[1] ? "BF16" : "FP32",
                bf16Moments[2] ? "BF16" : "FP32");
        out.printf("time per step (median over the steps, so JIT warm-up is left out): FP32 %.3f s, BF16 %.3f s, FP8 %.3f s (BF16 and FP8 GEMMs are emulated on the CPU)%n",
                median(stepSecs[0]), median(stepSecs[1]), median(stepSecs[2]));
    }

    /** Median of a (upper median for even length); a is not modified. */
    static double median(double[] a) {
        double[] c = a.clone();
        java.util.Arrays.sort(c);
        return c[c.length / 2];
    }

    /** (a - b) / b. */
    static double relDiff(double a, double b) { return (a - b) / b; }
}
