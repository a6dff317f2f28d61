package dev.jseek.cli;

import dev.jseek.io.Npy;
import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.KvCache;
import dev.jseek.model.ModelConfig;
import dev.jseek.source.ModelSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code jseek forward}: runs the model over a token sequence (one prefill at position 0) and writes the logits of
 * every position as a float32 .npy [T, vocab]; with {@code --mtp} also the MTP depth-1 logits [T-1, vocab]
 * (pair (h_i, t_{i+1}) at position i, docs/architecture.md §6.1).
 */
@Command(name = "forward", mixinStandardHelpOptions = true,
        description = "Run a model over token ids and write the logits of every position as .npy float32 [T, vocab].")
public final class ForwardCommand implements Callable<Integer> {
    @Mixin ModelOption modelOption;
    @Option(names = "--tokens", required = true, description = "Comma-separated token ids, e.g. 0,5,9.") String tokens;
    @Option(names = "--attn", defaultValue = "absorb", description = "Attention form: naive or absorb (default ${DEFAULT-VALUE}).") String attn;
    @Option(names = "--mtp", description = "Also write the MTP depth-1 logits [T-1, vocab] (to --mtp-out).") boolean mtp;
    @Option(names = "--mtp-out", description = "Where --mtp writes (default: <out>.mtp.npy).") Path mtpOut;
    @Option(names = "--out", required = true, description = "Output .npy file for the logits [T, vocab].") Path out;

    /** Parses "0,5,9" (spaces allowed); errors name the bad item. */
    static Path defaultMtpOut(Path out) {
        String n = out.getFileName().toString();
        String stem = n.endsWith(".npy") ? n.substring(0, n.length() - 4) : n;
        return out.resolveSibling(stem + ".mtp.npy");
    }

    private static void checkParent(Path file, String option) {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent))
            throw new UserException(option + ": folder " + parent + " does not exist");
    }

    @Override public Integer call() {
        AttnMode mode = AttnMode.parse(attn);
        if (mode == null) throw new UserException("--attn: unknown value '" + attn + "' (use naive or absorb)");
        int[] ids = PromptIds.parse("--tokens", tokens);
        Path model = modelOption.checked();
        Path cfgFile = Files.isDirectory(model) ? model.resolve("config.json") : model;
        ModelConfig cfg = ModelSource.config(model);
        for (int i = 0; i < ids.length; i++)
            if (ids[i] < 0 || ids[i] >= cfg.vocabSize())
                throw new UserException("--tokens: token " + i + " is " + ids[i] + ", outside the vocabulary 0.."
                        + (cfg.vocabSize() - 1) + " of " + cfgFile);
        if (mtp && ids.length < 2) throw new UserException("--mtp needs at least 2 tokens (it predicts from pairs (h_i, t_{i+1}))");
        Path mtpFile = mtp ? (mtpOut != null ? mtpOut : defaultMtpOut(out)) : null;
        checkParent(out, "--out");
        if (mtpFile != null) checkParent(mtpFile, "--mtp-out");

        long t0 = System.nanoTime();
        try (DeepSeekV3 m = modelOption.open()) {
            if (mtp && !m.hasMtp())
                throw new UserException("--mtp: " + model + " has no MTP module (num_nextn_predict_layers = "
                        + cfg.numNextnPredictLayers() + ", or no model.layers." + cfg.numHiddenLayers() + ".eh_proj.weight)");
            int T = ids.length, v = cfg.vocabSize();
            KvCache cache = m.newCache(T, mode);
            float[] hidden = m.forwardHidden(ids, 0, cache);
            Npy.writeFloats(out, m.logits(hidden, 0, T), T, v);
            System.out.printf("wrote %s: logits [%d, %d] (attn %s)%n", out, T, v, mode.name().toLowerCase());
            if (mtp) {
                float[] ml = m.mtpLogits(Arrays.copyOfRange(ids, 1, T), hidden, 0, m.newMtpCache(T - 1, mode));
                Npy.writeFloats(mtpFile, ml, T - 1, v);
                System.out.printf("wrote %s: MTP logits [%d, %d]%n", mtpFile, T - 1, v);
            }
        }
        System.out.printf("%.2f s%n", (System.nanoTime() - t0) / 1e9);
        return 0;
    }
}
