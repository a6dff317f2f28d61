package dev.jseek.cli;

import dev.jseek.model.ModelConfig;
import dev.jseek.train.AdamW;
import dev.jseek.train.GradClip;
import dev.jseek.train.Precision;
import dev.jseek.train.TrainModel;
import dev.jseek.train.TrainTensor;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jseek bench fp8}: trains the same model from the same initialization on the same token stream twice, with
 * every attention and FFN Linear in FP32 and in FP8 ({@link Precision}; spec G), and prints both loss curves and
 * their relative difference ([TR] §3.3 validates FP8 at < 0.25% relative loss error after ~1T tokens; a short run on
 * a tiny model only shows whether FP8 tracks FP32). The tokens come from a seeded first-order Markov chain (each
 * token has a preferred successor with probability {@code --p-next}), so there is something to learn.
 */
@Command(name = "fp8", mixinStandardHelpOptions = true,
        description = "Train a preset model in FP32 and in FP8 from the same init and data; compare the losses.")
public final class BenchFp8TrainCommand implements Callable<Integer> {
    @Option(names = "--preset", defaultValue = "tiny", description = "Model preset. Default ${DEFAULT-VALUE}.") String preset;
    @Option(names = "--steps", defaultValue = "60", description = "Optimizer steps per run. Default ${DEFAULT-VALUE}.") int steps;
    @Option(names = "--batch", defaultValue = "2", description = "Sequences per step. Default ${DEFAULT-VALUE}.") int batch;
    @Option(names = "--seq", defaultValue = "32", description = "Tokens per sequence. Default ${DEFAULT-VALUE}.") int seq;
    @Option(names = "--lr", defaultValue = "3e-3", description = "AdamW learning rate (constant). Default ${DEFAULT-VALUE}.") float lr;
    @Option(names = "--init-std", defaultValue = "0.02", description = "Init std of the matrices. Default ${DEFAULT-VALUE}.") float initStd;
    @Option(names = "--p-next", defaultValue = "0.8", description = "Probability of the preferred successor token. Default ${DEFAULT-VALUE}.") double pNext;
    @Option(names = "--seed", defaultValue = "42", description = "Seed of init and data. Default ${DEFAULT-VALUE}.") long seed;
    @Option(names = "--every", defaultValue = "10", description = "Print every N steps. Default ${DEFAULT-VALUE}.") int every;

    @Override public Integer call() {
        if (steps < 1 || batch < 1 || seq < 2 || every < 1) throw new UserException("--steps, --batch, --every must be >= 1 and --seq >= 2");
        if (!(lr > 0) || !(initStd > 0) || !(pNext >= 0 && pNext <= 1)) throw new UserException("--lr and --init-std must be > 0, --p-next in [0, 1]");
        ModelConfig c = dev.jseek.model.Presets.get(preset);
        if (seq <= c.numNextnPredictLayers()) throw new UserException("--seq must exceed the MTP depth " + c.numNextnPredictLayers() + ", got " + seq);
        int vocab = c.vocabSize();
        SplittableRandom r = new SplittableRandom(seed);
        int[] succ = new int[vocab];
        for (int i = 0; i < vocab; i++) succ[i] = r.nextInt(vocab);
        System.out.printf("preset %s, %d steps of %d x %d tokens, AdamW lr %s, init std %s, Markov data (p-next %s), seed %d%n",
                preset, steps, batch, seq, lr, initStd, pNext, seed);
        double[][] loss = new double[2][steps];
        double[] secs = new double[2];
        for (Precision p : Precision.values()) {
            TrainModel m = new TrainModel(c, batch, seq);
            m.initRandom(seed, initStd);
            m.setPrecision(p);
            AdamW opt = AdamW.deepSeekV3(m.layout(), 1e-8f);
            var tensors = TrainTensor.fromLayout(m.layout());
            SplittableRandom data = new SplittableRandom(seed + 1);
            int[] tok = new int[batch * seq], tgt = new int[batch * seq];
            long t0 = System.nanoTime();
            for (int s = 0; s < steps; s++) {
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
                loss[p.ordinal()][s] = m.lastMainLoss();
                GradClip.clip(m.grads(), tensors, 1.0);
                opt.step(m.params(), m.grads(), lr);
            }
            secs[p.ordinal()] = (System.nanoTime() - t0) / 1e9;
        }
        System.out.printf("%6s  %12s  %12s  %10s%n", "step", "CE FP32", "CE FP8", "rel diff");
        for (int s = 0; s < steps; s++)
            if ((s + 1) % every == 0 || s == 0 || s == steps - 1)
                System.out.printf("%6d  %12.5f  %12.5f  %+9.3f%%%n", s + 1, loss[0][s], loss[1][s], 100 * (loss[1][s] - loss[0][s]) / loss[0][s]);
        int w = Math.min(10, steps);
        double a = 0, b = 0;
        for (int s = steps - w; s < steps; s++) { a += loss[0][s]; b += loss[1][s]; }
        System.out.printf("mean main CE of the last %d steps: FP32 %.5f, FP8 %.5f, relative difference %+.3f%%%n", w, a / w, b / w, 100 * (b - a) / a);
        System.out.printf("time: FP32 %.2f s/step, FP8 %.2f s/step (FP8 GEMMs are emulated on the CPU)%n", secs[0] / steps, secs[1] / steps);
        return 0;
    }
}
