package dev.jseek.cli;

import dev.jseek.tokenizer.Tokenizer;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The {@code --tokenizer} option of a command that runs a model: by default the tokenizer.json next to the model. */
final class ModelTokenizerOption {
    @Option(names = "--tokenizer", description = "tokenizer.json (default: the model directory's, or its parent's).")
    Path path;

    /** The tokenizer of {@code model} ({@link TokenizerFiles#find}); null when there is none and it is not {@code required}. */
    Tokenizer find(Path model, boolean required) { return TokenizerFiles.find(model, path, required); }

    /**
     * The tokenizer of a command whose prompt is text or, with {@code idsGiven}, token ids: then it is optional
     * (used to print the output) unless {@code --tokenizer} names one; for text it is required.
     */
    Tokenizer forPrompt(Path model, boolean idsGiven) { return find(model, !idsGiven || path != null); }
}
