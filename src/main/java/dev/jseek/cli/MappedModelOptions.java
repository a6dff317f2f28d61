package dev.jseek.cli;

import dev.jseek.io.FileMemory;
import dev.jseek.model.DeepSeekV3;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** What {@code generate} and {@code serve} load: {@code --model}, {@code --no-mmap} and the model's {@code --tokenizer}. */
final class MappedModelOptions {
    @Mixin ModelOption model;

    @Option(names = "--no-mmap", description = "Read the weights into memory instead of mapping the files (then replacing or "
            + "truncating the files cannot reach the running model; needs RAM for the whole model).")
    boolean noMmap;

    @Mixin ModelTokenizerOption tokenizer;

    /** Opens the model, reading the weights into memory with {@code --no-mmap} ({@link FileMemory#MMAP_PROPERTY}). */
    DeepSeekV3 open() {
        if (noMmap) System.setProperty(FileMemory.MMAP_PROPERTY, "false");
        return model.open();
    }
}
