package dev.jseek.cli;

import dev.jseek.model.ModelConfig;
import dev.jseek.tokenizer.Tokenizer;

/** The prompt of {@code generate} and {@code bench decode} as token ids: parsed from {@code --prompt-tokens}, checked against the model. */
final class PromptIds {
    private PromptIds() {}

    /** Comma-separated token ids; an item that is not an integer is a {@link UserException} naming {@code option}. */
    static int[] parse(String option, String s) {
        String[] parts = s.split(",", -1);
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i].strip();
            try {
                ids[i] = Integer.parseInt(p);
            } catch (NumberFormatException e) {
                throw new UserException(option + ": item " + i + " '" + p + "' is not an integer token id");
            }
        }
        return ids;
    }

    /** The prompt must be non-empty, inside the vocabulary and shorter than the context ({@code tok}, if any, is named as the likely cause). */
    static void check(int[] ids, ModelConfig c, Tokenizer tok) {
        int vocab = c.vocabSize();
        for (int i = 0; i < ids.length; i++)
            if (ids[i] < 0 || ids[i] >= vocab)
                throw new UserException("prompt token " + i + " is " + ids[i] + ", outside the model's vocabulary 0.." + (vocab - 1)
                        + (tok != null && tok.source() != null ? " (is " + tok.source() + " the model's tokenizer?)" : ""));
        if (ids.length == 0) throw new UserException("the prompt is empty");
        if (ids.length >= c.maxPositionEmbeddings())
            throw new UserException("the prompt's " + ids.length + " tokens do not fit the context of " + c.maxPositionEmbeddings());
    }
}
