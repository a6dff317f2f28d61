package dev.jseek.cli;

import dev.jseek.tokenizer.Tokenizer;
import dev.jseek.tokenizer.TokenizerFormatException;

import java.io.IOException;
import java.nio.file.Files;
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

    /**
     * The tokenizer of a model: {@code explicit} when given, else the vocabulary a .gguf carries in its metadata, else
     * {@code tokenizer.json} in the model directory or its parent (a training run directory holds it above its
     * {@code step-N} checkpoints, a .gguf's directory beside it). Null when none is found and it is not {@code required}.
     */
    static Tokenizer find(Path modelDir, Path explicit, boolean required) {
        if (explicit != null) return load(explicit);
        Tokenizer embedded = dev.jseek.source.ModelSource.embeddedTokenizer(modelDir);
        if (embedded != null) return embedded;
        Path dir = modelDir.toAbsolutePath();
        for (Path p : new Path[] {dir, dir.getParent()}) {
            if (p == null) continue;
            Path f = p.resolve("tokenizer.json");
            if (Files.isRegularFile(f)) return load(f);
        }
        if (required) throw new UserException(dev.jseek.gguf.GgufFile.isGguf(modelDir)
                ? modelDir + " has no vocabulary in its metadata (tokenizer.ggml.*) and there is no tokenizer.json beside it; pass --tokenizer FILE"
                : "no tokenizer.json in " + modelDir + " or its parent; pass --tokenizer FILE");
        return null;
    }
}
