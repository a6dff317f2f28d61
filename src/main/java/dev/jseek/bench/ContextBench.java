package dev.jseek.bench;

import dev.jseek.infer.Prefill;
import dev.jseek.kernels.Parallel;
import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.ModelConfig;
import dev.jseek.model.RandomInit;
import dev.jseek.tensor.DType;
import dev.jseek.train.ActLayout;
import dev.jseek.train.CausalAttention;
import dev.jseek.train.ExtensionStage;
import dev.jseek.train.TrainModel;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * {@code jseek bench context}: training-step memory and speed against sequence length at a fixed number of tokens
 * per step (B = tokens / T sequences), and prefill speed against prompt length. Memory is what the training model
 * allocates for a step: the activation and activation-gradient arenas plus the attention kernel's scratch per
 * worker thread, next to the B x H x T x T floats a materialized score matrix would need. Configs whose
 * max_position_embeddings is below T get a YaRN extension (as {@code jseek train --yarn-factor}) so RoPE covers T.
 */
public final class ContextBench {
    private ContextBench() {}

    /** The preset's config (name for the printout), the sequence lengths, tokens per training step, timed steps, whether to time prefill, the seed. */
    public record Options(ModelConfig preset, String presetName, List<Integer> seqLens, int tokens, int steps, boolean prefill, long seed) {}

    public static void run(Options opt, PrintWriter o) {
        List<Integer> seqLens = opt.seqLens();
        int tokens = opt.tokens(), steps = opt.steps();
        long seed = opt.seed();
        int maxT = seqLens.stream().mapToInt(Integer::intValue).max().orElseThrow();
        ModelConfig base = opt.preset();
        ModelConfig c = maxT <= base.maxPositionEmbeddings() ? base
                : ExtensionStage.report(maxT, Math.ceil((double) maxT / base.maxPositionEmbeddings()), base.maxPositionEmbeddings()).apply(base);
        int H = c.numAttentionHeads(), dqk = c.qkHeadDim(), dv = c.vHeadDim();
        o.printf(Locale.ROOT, "bench context: preset %s (max positions %d), %d tokens per step, %d threads; forward+backward, fastest of %d%n",
                opt.presetName(), c.maxPositionEmbeddings(), tokens, Parallel.threads(), steps);
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
        if (opt.prefill()) prefill(o, c, seqLens, seed);
    }

    /** Prefill tokens/s of a randomly initialized model of the same config, chunked as Generator does. */
    private static void prefill(PrintWriter o, ModelConfig c, List<Integer> seqLens, long seed) {
        Path dir;
        try {
            dir = Files.createTempDirectory("jseek-bench-context");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            RandomInit.write(c, dir, seed, 0.02, DType.F32);
            try (DeepSeekV3 m = DeepSeekV3.open(dir)) {
                o.printf(Locale.ROOT, "prefill (absorbed attention, chunks of %d):%n%7s %12s%n", Prefill.chunk(), "prompt", "tokens/s");
                for (int T : seqLens) {
                    if (T > c.maxPositionEmbeddings()) {
                        o.printf(Locale.ROOT, "%7d %12s%n", T, "skipped: past max_position_embeddings " + c.maxPositionEmbeddings());
                        continue;
                    }
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
            try (var s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException ignored) {
                // a temp directory
            }
        }
    }
}
