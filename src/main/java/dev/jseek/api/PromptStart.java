package dev.jseek.api;

import dev.jseek.tokenizer.Prompts;
import dev.jseek.tokenizer.Tokenizer;

/**
 * What a {@code /v1/completions} text prompt starts with. DeepSeek-V3's released tokenizer asks for BOS
 * ({@code add_bos_token} in tokenizer_config.json); a model pre-trained by jseek saw documents that each end with
 * EOS (docs/architecture.md §7.2), so EOS is what precedes the start of a document (the quickstart demo prompts that way).
 * Chat prompts always start with BOS (the chat template writes it).
 */
public enum PromptStart {
    /** BOS when the tokenizer asks for it (tokenizer_config.json add_bos_token), else EOS. */
    AUTO,
    BOS,
    EOS,
    NONE;

    /** The prompt ids of {@code text}. */
    public int[] encode(Tokenizer t, String text) {
        int[] ids = t.encode(text, false);
        int first = switch (this) {
            case AUTO -> t.addBosByDefault() ? t.bosId() : t.eosId();
            case BOS -> t.bosId();
            case EOS -> t.eosId();
            case NONE -> -1;
        };
        return first < 0 ? ids : Prompts.startingWith(first, ids);
    }

    /** Parses auto, bos, eos or none (any case); null when unknown. */
    public static PromptStart parse(String s) {
        for (PromptStart p : values()) if (p.name().equalsIgnoreCase(s)) return p;
        return null;
    }
}
