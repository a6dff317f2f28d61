package dev.jseek.cli;

import dev.jseek.infer.Generator;
import dev.jseek.infer.Sampler;
import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jseek generate}: continues a prompt with the model, streaming each token as it is chosen, and reports
 * prefill and decode speed. Decoding uses the MLA latent KV cache (absorbed attention) unless {@code --attn naive}.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate tokens from a model (greedy or sampled), streaming them; reports prefill/decode tokens/s.")
public final class GenerateCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "Model directory (config.json + safetensors).") Path model;
    @Option(names = "--prompt-tokens", required = true, description = "Comma-separated prompt token ids, e.g. 0,5,9.") String promptTokens;
    @Option(names = {"-n", "--max-tokens"}, defaultValue = "32", description = "Tokens to generate at most (default ${DEFAULT-VALUE}).") int maxTokens;
    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default ${DEFAULT-VALUE}).") float temperature;
    @Option(names = "--top-k", defaultValue = "0", description = "Sample from the k most likely tokens; 0 = all (default ${DEFAULT-VALUE}).") int topK;
    @Option(names = "--top-p", defaultValue = "1", description = "Nucleus sampling mass in (0, 1] (default ${DEFAULT-VALUE}).") float topP;
    @Option(names = "--seed", defaultValue = "0", description = "Sampling seed (default ${DEFAULT-VALUE}).") long seed;
    @Option(names = "--attn", defaultValue = "absorb", description = "naive or absorb (default ${DEFAULT-VALUE}).") String attn;
    @Option(names = "--no-stop", description = "Do not stop at EOS.") boolean noStop;

    @Override public Integer call() {
        AttnMode mode = AttnMode.parse(attn);
        if (mode == null) throw new UserException("--attn: unknown value '" + attn + "' (use naive or absorb)");
        int[] prompt = ForwardCommand.parseTokens(promptTokens);
        if (!Files.isDirectory(model)) throw new UserException("--model: " + model + " is not a directory");
        Sampler sampler;
        try {
            sampler = new Sampler(temperature, topK, topP, seed);
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage());
        }
        if (maxTokens < 0) throw new UserException("--max-tokens must be >= 0, got " + maxTokens);
        PrintStream out = System.out;
        try (DeepSeekV3 m = DeepSeekV3.open(model)) {
            int vocab = m.config.vocabSize();
            for (int i = 0; i < prompt.length; i++)
                if (prompt[i] < 0 || prompt[i] >= vocab)
                    throw new UserException("--prompt-tokens: token " + i + " is " + prompt[i] + ", outside the vocabulary 0.." + (vocab - 1));
            if (prompt.length >= m.config.maxPositionEmbeddings())
                throw new UserException("--prompt-tokens: " + prompt.length + " tokens do not fit the context of " + m.config.maxPositionEmbeddings());
            int[] stop = noStop ? new int[0] : new int[] {m.config.eosTokenId()};
            Generator g = new Generator(m, mode);
            out.print("generated:");
            out.flush();
            Generator.Result r = g.generate(prompt, maxTokens, sampler, stop, tok -> {
                out.print(" " + tok);
                out.flush();
            });
            out.println();
            System.err.printf("prompt %d tokens: prefill %.1f tokens/s; generated %d tokens: decode %.1f tokens/s (%s, %s)%n",
                    r.promptTokens(), r.prefillTokensPerSecond(), r.tokens().length, r.decodeTokensPerSecond(),
                    mode.name().toLowerCase(), r.stopReason());
        }
        return 0;
    }
}
