package dev.jseek.cli;

import dev.jseek.infer.Decoder;
import dev.jseek.infer.SpeculativeGenerator;
import dev.jseek.infer.DraftStats;
import dev.jseek.infer.Generator;
import dev.jseek.infer.Sampler;
import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.tokenizer.Prompts;
import dev.jseek.tokenizer.StreamingDecoder;
import dev.jseek.tokenizer.Tokenizer;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code jseek generate}: continues a prompt with the model, streaming each token as it is chosen, and reports
 * prefill and decode speed. Decoding uses the MLA latent KV cache (absorbed attention) unless {@code --attn naive};
 * {@code --speculative} drafts with the model's MTP module ({@link dev.jseek.infer.SpeculativeGenerator}: the same tokens, fewer
 * main-model forwards) and reports the draft acceptance rate.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate tokens from a model (greedy or sampled), streaming them; reports prefill/decode tokens/s.")
public final class GenerateCommand implements Callable<Integer> {
    @Mixin MappedModelOptions model;
    @Option(names = "--prompt-tokens", description = "Comma-separated prompt token ids, e.g. 0,5,9.") String promptTokens;
    @Option(names = "--prompt", description = "Prompt text (needs a tokenizer: --tokenizer, or tokenizer.json in or above the model directory).") String prompt;
    @Option(names = "--fim-prefix", description = "Fill-in-the-middle: the code before the hole (PSM prompt, docs/architecture.md §7.2).") String fimPrefix;
    @Option(names = "--fim-suffix", description = "Fill-in-the-middle: the code after the hole.") String fimSuffix;
    @Option(names = "--bos", description = "Start a text prompt with BOS (DeepSeek-V3 chat models expect it; jseek pre-training data has none).") boolean bos;
    @Option(names = {"-n", "--max-tokens"}, defaultValue = "32", description = "Tokens to generate at most (default ${DEFAULT-VALUE}).") int maxTokens;
    @Mixin SamplingOptions sampling;
    @Option(names = "--presence-penalty", defaultValue = "0", description = "OpenAI's presence penalty in [-2, 2]: minus this on the logit "
            + "of every token already generated (default ${DEFAULT-VALUE}).") float presencePenalty;
    @Option(names = "--frequency-penalty", defaultValue = "0", description = "OpenAI's frequency penalty in [-2, 2]: minus this times "
            + "each token's count so far (default ${DEFAULT-VALUE}).") float frequencyPenalty;
    @Option(names = "--repetition-penalty", defaultValue = "1", description = "vLLM's repetition penalty in (0, 10]: the logit of every "
            + "token in the prompt or the output so far divided by it when positive, multiplied when negative (default ${DEFAULT-VALUE}).")
    float repetitionPenalty;
    @Option(names = "--attn", defaultValue = "absorb", description = "naive or absorb (default ${DEFAULT-VALUE}).") String attn;
    @Option(names = "--no-stop", description = "Do not stop at EOS.") boolean noStop;
    @Option(names = "--speculative", description = "Speculative decoding with the model's MTP module as the draft (docs/architecture.md §6.3): "
            + "the same tokens as plain decoding, up to --draft-tokens + 1 per main forward; reports the draft acceptance rate.") boolean speculative;
    @Option(names = "--draft-tokens", description = "With --speculative: the most MTP drafts per step, the module applied again to its "
            + "own output for the second and later ones; each step verifies them in one main forward (default "
            + SpeculativeGenerator.DEFAULT_DRAFT_TOKENS + ").") Integer draftTokens;
    @Option(names = "--draft", description = "Draft model for speculative decoding: mtp (the same as --speculative).") String draft;

    /** The PSM prompt ({@link Prompts#fim}); a tokenizer without FIM tokens is a user error. */
    static int[] fimPrompt(Tokenizer t, String prefix, String suffix) {
        try {
            return Prompts.fim(t, prefix, suffix);
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage(), e);
        }
    }

    @Override public Integer call() {
        AttnMode mode = AttnMode.parse(attn);
        if (mode == null) throw new UserException("--attn: unknown value '" + attn + "' (use naive or absorb)");
        if (draft != null && !draft.equals("mtp")) throw new UserException("--draft: unknown draft model '" + draft + "' (use mtp)");
        boolean spec = speculative || draft != null;
        if (draftTokens != null && !spec) throw new UserException("--draft-tokens needs --speculative");
        int k = draftTokens == null ? SpeculativeGenerator.DEFAULT_DRAFT_TOKENS : DraftTokens.check(draftTokens);
        Path modelPath = model.model.checked();
        int given = (promptTokens != null ? 1 : 0) + (prompt != null ? 1 : 0) + (fimPrefix != null || fimSuffix != null ? 1 : 0);
        if (given != 1) throw new UserException("give exactly one of --prompt-tokens, --prompt, or --fim-prefix/--fim-suffix");
        Tokenizer tok = model.tokenizer.forPrompt(modelPath, promptTokens != null);
        int[] promptIds = promptTokens != null ? PromptIds.parse("--prompt-tokens", promptTokens)
                : prompt != null ? (bos ? Prompts.startingWith(tok.bosId(), tok.encode(prompt)) : tok.encode(prompt)) : fimPrompt(tok, fimPrefix == null ? "" : fimPrefix, fimSuffix == null ? "" : fimSuffix);
        Sampler sampler = sampling.sampler(presencePenalty, frequencyPenalty, repetitionPenalty, promptIds);
        if (maxTokens < 0) throw new UserException("--max-tokens must be >= 0, got " + maxTokens);
        PrintStream out = System.out;
        long tLoad = System.nanoTime();
        try (DeepSeekV3 m = model.open()) {
            PromptIds.check(promptIds, m.config, tok);
            int[] stop = noStop ? new int[0] : new int[] {m.config.eosTokenId()};
            if (spec && !m.hasMtp())
                throw new UserException("--speculative: " + modelPath + " has no MTP module to draft with (config num_nextn_predict_layers = "
                        + m.config.numNextnPredictLayers() + ", tensors model.layers." + m.config.numHiddenLayers() + ".eh_proj.weight ...)");
            Decoder g = Decoder.of(m, mode, spec, k);
            LoadReport.print(modelPath, tLoad, m, System.err);
            Generator.Result r;
            if (tok == null) {
                out.print("generated:");
                out.flush();
                r = g.generate(promptIds, maxTokens, sampler, stop, id -> {
                    out.print(" " + id);
                    out.flush();
                });
            } else {
                StreamingDecoder dec = tok.streamingDecoder(true);
                if (prompt != null) out.print(prompt);
                r = g.generate(promptIds, maxTokens, sampler, stop, id -> {
                    out.print(dec.next(id));
                    out.flush();
                });
                out.print(dec.flush());
            }
            out.println();
            DraftStats d = r.drafts();
            System.err.printf("prompt %d tokens: prefill %.1f tokens/s; generated %d tokens: decode %.1f tokens/s (%s, %s%s)%n",
                    r.promptTokens(), r.prefillTokensPerSecond(), r.tokens().length, r.decodeTokensPerSecond(),
                    mode.name().toLowerCase(), r.stopReason(), d == null ? "" : String.format(
                            "; speculative: %d of %d MTP drafts accepted (%.1f%%), %d main forwards",
                            d.accepted(), d.drafted(), 100 * (d.drafted() == 0 ? 0 : d.acceptanceRate()), d.forwards()));
        }
        return 0;
    }
}
