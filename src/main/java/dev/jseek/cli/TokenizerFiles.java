package dev.jseek.cli;

import dev.jseek.tokenizer.Tokenizer;
import dev.jseek.tokenizer.TokenizerFormatException;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Loading a tokenizer for a CLI command: format problems and missing files become {@link UserException}s. */
final class TokenizerFiles {
    private TokenizerFiles() {}

    static Tokenizer load(Path path) {
        try {
            return Tokenizer.load(path);
        } catch (TokenizerFormatException e) {
            throw new UserException(e.getMessage(), e);
        } catch (NoSuchFileException e) {
            throw new UserException("tokenizer not found: " + e.getFile(), e);
        } catch (IOException e) {
            throw new UserException("cannot read tokenizer " + path + ": " + e, e);
        }
    }
}
