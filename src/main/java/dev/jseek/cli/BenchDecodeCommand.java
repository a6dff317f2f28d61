package dev.jseek.cli;

import dev.jseek.infer.DraftStats;
import dev.jseek.infer.Generator;
import dev.jseek.infer.Sampler;
import dev.jseek.infer.SpeculativeGenerator;
import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.source.ModelSource;
import dev.jseek.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jseek bench decode}: plain decoding ({@link Generator}) against MTP speculative decoding
 * ({@link SpeculativeGenerator}, docs/architecture.md §6.3) on the same model and prompt in the same run: decode tokens/s of each
 * (median of --runs timed runs, the two alternating, after --warmup untimed runs of each), the draft acceptance rate, and a check
 * that both produced exactly the same tokens. Generation does not stop at EOS, so both always make --tokens tokens.
 */
@Command(name = "decode", mixinStandardHelpOptions = true,
        description = "Plain vs MTP speculative decoding on one prompt: decode tokens/s of each, acceptance rate, identical outputs.")
public final class BenchDecodeCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "Model directory with an MTP module (config.json + safetensors).") Path model;
    @Option(names = "--tokenizer", description = "tokenizer.json (default: the model directory's, or its parent's).") Path tokenizerPath;
    @Option(names = "--prompt", defaultValue = "public static void main(String[] args) {\n",
            description = "Prompt text; an EOS (the document separator of jseek's training data) is put before it (default: a Java method header).") String prompt;
    @Option(names = "--prompt-tokens", description = "Comma-separated prompt token ids instead of --prompt (no tokenizer needed).") String promptTokens;
    @Option(names = {"-n", "--tokens"}, defaultValue = "128", description = "Tokens to generate per run (default ${DEFAULT-VALUE}).") int tokens;
    @Option(names = "--runs", defaultValue = "3", description = "Timed runs of each decoder; the median counts (default ${DEFAULT-VALUE}).") int runs;
    @Option(names = "--warmup", defaultValue = "3", description = "Untimed full-length runs of each decoder first, so that the JIT has compiled "
            + "both paths (the 2-token kernels are only hot in speculative decoding) (default ${DEFAULT-VALUE}).") int warmup;
    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default ${DEFAULT-VALUE}); else seeded sampling, same seed for both.") float temperature;
    @Option(names = "--top-p", defaultValue = "1", description = "Nucleus mass (default ${DEFAULT-VALUE}).") float topP;
    @Option(names = "--seed", defaultValue = "0", description = "Sampling seed (default ${DEFAULT-VALUE}).") long seed;
    @Option(names = "--attn", defaultValue = "absorb", description = "naive or absorb (default ${DEFAULT-VALUE}).") String attn;

    @Override public Integer call() {
        AttnMode mode = AttnMode.parse(attn);
        if (mode == null) throw new UserException("--attn: unknown value '" + attn + "' (use naive or absorb)");
        if (!Files.isDirectory(model)) throw new UserException("--model: " + model + " is not a directory");
        if (tokens < 2) throw new UserException("--tokens must be >= 2, got " + tokens);
        if (runs < 1) throw new UserException("--runs must be >= 1, got " + runs);
        if (warmup < 0) throw new UserException("--warmup must be >= 0, got " + warmup);
        try {
            new Sampler(temperature, 0, topP, seed);
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage());
        }
        Tokenizer tok = promptTokens != null && tokenizerPath == null ? TokenizerFiles.find(model, null, false)
                : TokenizerFiles.find(model, tokenizerPath, true);
        int[] ids;
        if (promptTokens != null) {
            ids = ForwardCommand.parseTokens(promptTokens);
        } else {
            int[] t = tok.encode(prompt);
            ids = new int[t.length + 1];
            ids[0] = tok.eosId();
            System.arraycopy(t, 0, ids, 1, t.length);
        }
        try (DeepSeekV3 m = ModelSource.open(model)) {
            int vocab = m.config.vocabSize();
            for (int i = 0; i < ids.length; i++)
                if (ids[i] < 0 || ids[i] >= vocab)
                    throw new UserException("prompt token " + i + " is " + ids[i] + ", outside the model's vocabulary 0.." + (vocab - 1));
            if (ids.length == 0) throw new UserException("the prompt is empty");
            if (ids.length >= m.config.maxPositionEmbeddings())
                throw new UserException("the prompt's " + ids.length + " tokens do not fit the context of " + m.config.maxPositionEmbeddings());
            if (!m.hasMtp())
                throw new UserException("--model: " + model + " has no MTP module to draft with (config num_nextn_predict_layers = "
                        + m.config.numNextnPredictLayers() + ", tensors model.layers." + m.config.numHiddenLayers() + ".eh_proj.weight ...)");
            GenerateCommand.Decoder plain = new Generator(m, mode)::generate;
            GenerateCommand.Decoder spec = new SpeculativeGenerator(m, mode)::generate;
            int[] none = new int[0];
            for (int w = 0; w < warmup; w++) {                                  // JIT warm-up of both paths
                plain.generate(ids, tokens, sampler(), none, null);
                spec.generate(ids, tokens, sampler(), none, null);
            }
            Generator.Result[] p = new Generator.Result[runs], s = new Generator.Result[runs];
            for (int r = 0; r < runs; r++) {
                p[r] = plain.generate(ids, tokens, sampler(), none, null);
                s[r] = spec.generate(ids, tokens, sampler(), none, null);
            }
            for (int r = 0; r < runs; r++) {
                int diff = firstDifference(p[r].tokens(), s[r].tokens());
                if (diff >= 0)
                    throw new IllegalStateException("speculative decoding diverged from plain decoding at token " + diff + " of run " + r
                            + ": " + at(p[r].tokens(), diff) + " vs " + at(s[r].tokens(), diff) + " (a bug: they must be identical)");
            }
            Generator.Result pm = median(p), sm = median(s);
            DraftStats d = sm.drafts();
            System.out.printf("model %s (%d layers, hidden %d, vocab %d), %s attention, %d threads%n", model, m.config.numHiddenLayers(),
                    m.config.hiddenSize(), vocab, mode.name().toLowerCase(), Runtime.getRuntime().availableProcessors());
            System.out.printf("prompt %d tokens, %d generated per run (no stop at EOS), %s, median of %d runs (alternating, after %d warm-up runs of each)%n%n",
                    ids.length, tokens, temperature <= 0 ? "greedy" : "temperature " + temperature + " top-p " + topP + " seed " + seed, runs, warmup);
            System.out.printf("%-12s %14s %15s %9s %9s %8s %9s %11s%n", "decoder", "decode tok/s", "prefill tok/s", "tokens", "forwards",
                    "drafted", "accepted", "acceptance");
            System.out.printf("%-12s %14.1f %15.1f %9d %9d %8s %9s %11s%n", "plain", pm.decodeTokensPerSecond(), pm.prefillTokensPerSecond(),
                    pm.tokens().length, pm.tokens().length - 1, "-", "-", "-");
            System.out.printf("%-12s %14.1f %15.1f %9d %9d %8d %9d %10.1f%%%n", "speculative", sm.decodeTokensPerSecond(), sm.prefillTokensPerSecond(),
                    sm.tokens().length, d.forwards(), d.drafted(), d.accepted(), 100 * d.acceptanceRate());
            System.out.printf("%nspeedup %.2fx (decode tokens/s, speculative / plain); outputs identical in all %d runs (%d tokens each)%n",
                    sm.decodeTokensPerSecond() / pm.decodeTokensPerSecond(), runs, tokens);
            if (tok != null) {
                String text = tok.decode(pm.tokens());
                System.out.println("completion: " + (prompt != null && promptTokens == null ? prompt : "") + text.substring(0, Math.min(text.length(), 400)));
            }
        }
        return 0;
    }

    private Sampler sampler() { return new Sampler(temperature, 0, topP, seed); }

    private static Generator.Result median(Generator.Result[] rs) {
        Generator.Result[] s = rs.clone();
        Arrays.sort(s, (a, b) -> Double.compare(a.decodeTokensPerSecond(), b.decodeTokensPerSecond()));
        return s[s.length / 2];
    }

    private static int firstDifference(int[] a, int[] b) {
        int n = Math.min(a.length, b.length);
        for (int i = 0; i < n; i++) if (a[i] != b[i]) return i;
        return a.length == b.length ? -1 : n;
    }

    private static String at(int[] a, int i) { return i < a.length ? Integer.toString(a[i]) : "(end)"; }
}
