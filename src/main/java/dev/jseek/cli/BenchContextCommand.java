package dev.jseek.cli;

import dev.jseek.infer.Prefill;
import dev.jseek.kernels.Parallel;
import dev.jseek.model.AttnMode;
import dev.jseek.model.ModelConfig;
import dev.jseek.model.Presets;
import dev.jseek.train.ActLayout;
import dev.jseek.train.CausalAttention;
import dev.jseek.train.ExtensionStage;
import dev.jseek.train.TrainModel;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code jseek bench context}: training-step memory and speed against sequence length at a fixed number of tokens
 * per step (B = tokens / T sequences), and prefill speed against prompt length. Memory is what the training model
 * allocates for a step: the activation and activation-gradient arenas plus the attention kernel's scratch per
 * worker thread, next to the B x H x T x T floats a materialized score matrix would need. Configs whose
 * max_position_embeddings is below T get a YaRN extension (as {@code jseek train --yarn-factor}) so RoPE covers T.
 */
@Command(name = "context", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Training-step memory and tokens/s against sequence length; prefill tokens/s against prompt length.")
public final class BenchContextCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Option(names = "--preset", defaultValue = "small", description = "Model preset (default ${DEFAULT-VALUE}).") String preset;
    @Option(names = "--seq-lens", split = ",", defaultValue = "256,512,1024,2048,4096,8192", description = "Sequence lengths (default ${DEFAULT-VALUE}).") List<Integer> seqLens;
    @Option(names = "--tokens", defaultValue = "8192", description = "Tokens per training step (default ${DEFAULT-VALUE}).") int tokens;
    @Option(names = "--steps", defaultValue = "2", description = "Timed forward+backward passes per length after one warm-up; the fastest is reported (default ${DEFAULT-VALUE}).") int steps;
    @Option(names = "--prefill", negatable = true, defaultValue = "true", fallbackValue = "true", description = "Also time prefill (default on).") boolean prefill;
    @Option(names = "--seed", defaultValue = "1", description = "Seed (default ${DEFAULT-VALUE}).") long seed;

    @Override public Integer call() {
        if (steps < 1 || tokens < 1) throw new UserException("--steps and --tokens must be >= 1");
        PrintWriter o = spec.commandLine().getOut();
        int maxT = seqLens.stream().mapToInt(Integer::intValue).max().orElseThrow(() -> new UserException("--seq-lens is empty"));
        ModelConfig base = Presets.get(preset);
        ModelConfig c = maxT <= base.maxPositionEmbeddings() ? base
                : ExtensionStage.report(maxT, Math.ceil((double) maxT / base.maxPositionEmbeddings()), base.maxPositionEmbeddings()).apply(base);
        int H = c.numAttentionHeads(), dqk = c.qkHeadDim(), dv = c.vHeadDim();
        o.printf(Locale.ROOT, "bench context: preset %s (max positions %d), %d tokens per step, %d threads; forward+backward, fastest of %d%n",
                preset, c.maxPositionEmbeddings(), tokens, Parallel.threads(), steps);
        o.printf(Locale.ROOT, "%7s %4s %14s %16s %14s %20s %12s%n", "T", "B", "arenas MiB", "attn scratch MiB", "step MiB", "TxT scores/layer MiB", "tokens/s");
        o.flush();
        for (int T : seqLens) {
            int B = Math.max(1, tokens / T);
            TrainModel m = new TrainModel(c, B, T);
            m.initRandom(seed, 0.006f);
            m.setBalanceAlpha(0f);
            ActLayout al = m.activationLayout();
            double arenas = (al.savedBytes() + 4.0 * al.dactsSize()) / (1 << 20);
            double scratch = (double) CausalAttention.scratchBytes(T, dqk, dv) * Parallel.threads() / (1 << 20);
            double scores = 4.0 * B * H * T * (double) T / (1 << 20);
            SplittableRandom r = new SplittableRandom(seed + T);
            int[] tok = new int[B * T], tgt = new int[B * T];
            for (int i = 0; i < tok.length; i++) { tok[i] = r.nextInt(c.vocabSize()); tgt[i] = r.nextInt(c.vocabSize()); }
            long best = Long.MAX_VALUE;
            for (int i = 0; i <= steps; i++) {
                m.zeroGrad();
                long t0 = System.nanoTime();
                m.forwardBackward(tok, tgt, B, T);
                m.resetExpertLoad();
                if (i > 0) best = Math.min(best, System.nanoTime() - t0);
            }
            o.printf(Locale.ROOT, "%7d %4d %14.1f %16.2f %14.1f %20.1f %12.0f%n", T, B, arenas, scratch, arenas + scratch, scores, B * T / (best / 1e9));
            o.flush();
        }
        if (prefill) prefill(o, c);
        return 0;
    }

    /** Prefill tokens/s of a randomly initialized model of the same config, chunked as Generator does. */
    private void prefill(PrintWriter o, ModelConfig c) {
        java.nio.file.Path dir;
        try {
            dir = java.nio.file.Files.createTempDirectory("jseek-bench-context");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        try {
            dev.jseek.model.RandomInit.write(c, dir, seed, 0.02, dev.jseek.tensor.DType.F32);
            try (dev.jseek.model.DeepSeekV3 m = dev.jseek.model.DeepSeekV3.open(dir)) {
                o.printf(Locale.ROOT, "prefill (absorbed attention, chunks of %d):%n%7s %12s%n", Prefill.chunk(), "prompt", "tokens/s");
                for (int T : seqLens) {
                    if (T >= c.maxPositionEmbeddings()) continue;
                    int[] prompt = new SplittableRandom(seed).ints(T, 0, c.vocabSize()).toArray();
                    long best = Long.MAX_VALUE;
                    for (int i = 0; i < 2; i++) {
                        long t0 = System.nanoTime();
                        Prefill.lastLogits(m, prompt, 0, m.newCache(T, AttnMode.ABSORB), Prefill.chunk());
                        best = Math.min(best, System.nanoTime() - t0);
                    }
                    o.printf(Locale.ROOT, "%7d %12.0f%n", T, T / (best / 1e9));
                    o.flush();
                }
            }
        } finally {
            try (var s = java.nio.file.Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (java.io.IOException ignored) {
                // a temp directory
            }
        }
    }
}
