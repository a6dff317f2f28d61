package dev.jseek.cli;

import dev.jseek.bench.DecodeBench;
import dev.jseek.infer.SpeculativeGenerator;
import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.tokenizer.Prompts;
import dev.jseek.source.ModelSource;
import dev.jseek.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code jseek bench decode}: parses the options, opens the model and runs {@link DecodeBench} (plain vs MTP speculative decoding). */
@Command(name = "decode", mixinStandardHelpOptions = true,
        description = "Plain vs MTP speculative decoding on one prompt: decode tokens/s of each, acceptance rate, identical outputs.")
public final class BenchDecodeCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "Model directory with an MTP module (config.json + safetensors).") Path model;
    @Mixin ModelTokenizerOption tokenizer;
    @Option(names = "--prompt", defaultValue = "public static void main(String[] args) {\n",
            description = "Prompt text; an EOS (the document separator of jseek's training data) is put before it (default: a Java method header).") String prompt;
    @Option(names = "--prompt-tokens", description = "Comma-separated prompt token ids instead of --prompt (no tokenizer needed).") String promptTokens;
    @Option(names = {"-n", "--tokens"}, defaultValue = "128", description = "Tokens to generate per run (default ${DEFAULT-VALUE}).") int tokens;
    @Option(names = "--runs", defaultValue = "3", description = "Timed runs of each decoder; the median counts (default ${DEFAULT-VALUE}).") int runs;
    @Option(names = "--warmup", defaultValue = "3", description = "Untimed full-length runs of each decoder first, so that the JIT has compiled "
            + "both paths (the 2-token kernels are only hot in speculative decoding) (default ${DEFAULT-VALUE}).") int warmup;
    @Mixin SamplingOptions sampling;
    @Option(names = "--profile", description = "Also print each decoder's time per emitted token by phase (one more run of each).") boolean profile;
    @Option(names = "--attn", defaultValue = "absorb", description = "naive or absorb (default ${DEFAULT-VALUE}).") String attn;
    @Option(names = "--draft-tokens", split = ",", description = "Most MTP drafts per step of each speculative decoder, comma-separated "
            + "(e.g. 1,2,3: three speculative decoders, alternating with plain; default: generate's default, "
            + SpeculativeGenerator.DEFAULT_DRAFT_TOKENS + ").") int[] draftTokens;

    @Override public Integer call() {
        AttnMode mode = AttnMode.parse(attn);
        if (mode == null) throw new UserException("--attn: unknown value '" + attn + "' (use naive or absorb)");
        if (!Files.isDirectory(model)) throw new UserException("--model: " + model + " is not a directory");
        if (tokens < 2) throw new UserException("--tokens must be >= 2, got " + tokens);
        if (runs < 1) throw new UserException("--runs must be >= 1, got " + runs);
        if (warmup < 0) throw new UserException("--warmup must be >= 0, got " + warmup);
        int[] ks = draftTokens == null ? new int[] {SpeculativeGenerator.DEFAULT_DRAFT_TOKENS} : draftTokens;
        for (int k : ks) DraftTokens.check(k);
        sampling.sampler(); // the settings are in range
        Tokenizer tok = tokenizer.forPrompt(model, promptTokens != null);
        int[] ids;
        if (promptTokens != null) {
            ids = PromptIds.parse("--prompt-tokens", promptTokens);
        } else {
            ids = Prompts.startingWith(tok.eosId(), tok.encode(prompt));
        }
        long tLoad = System.nanoTime();
        try (DeepSeekV3 m = ModelSource.open(model)) {
            PromptIds.check(ids, m.config, tok);
            if (!m.hasMtp())
                throw new UserException("--model: " + model + " has no MTP module to draft with (config num_nextn_predict_layers = "
                        + m.config.numNextnPredictLayers() + ", tensors model.layers." + m.config.numHiddenLayers() + ".eh_proj.weight ...)");
            LoadReport.print(model, tLoad, m, System.err);
            new DecodeBench(model, m, mode, ids, tokens, runs, warmup, sampling.temperature, sampling.topK, sampling.topP, sampling.seed, tok, promptTokens == null ? prompt : null, profile, ks).run(System.out);
        }
        return 0;
    }
}
