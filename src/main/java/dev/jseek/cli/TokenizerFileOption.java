package dev.jseek.cli;

import dev.jseek.tokenizer.Tokenizer;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The required {@code --tokenizer} of the tokenizer tools ({@code tokenize}, {@code detokenize}). */
final class TokenizerFileOption {
    @Option(names = "--tokenizer", required = true, description = "tokenizer.json (or a directory holding it)")
    Path path;

    /** Loads it; a missing or malformed file is a {@link UserException} ({@link TokenizerFiles#load}). */
    Tokenizer load() { return TokenizerFiles.load(path); }
}
