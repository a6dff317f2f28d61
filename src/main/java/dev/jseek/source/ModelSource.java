package dev.jseek.source;

import dev.jseek.gguf.GgufFile;
import dev.jseek.gguf.GgufModel;
import dev.jseek.gguf.GgufTokenizer;
import dev.jseek.tokenizer.Tokenizer;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.ModelConfig;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A model path as the commands take it: a Hugging Face model directory ({@code config.json} + safetensors) or a
 * llama.cpp {@code deepseek2} GGUF file. Deciding which one a path is sits here, above both {@code model} and
 * {@code gguf}, so the model knows neither file format (docs/architecture.md §9).
 */
public final class ModelSource {
    private ModelSource() {}

    /**
     * Opens the model at {@code path}: a GGUF file through {@link GgufModel#open}, otherwise a model directory through
     * {@link DeepSeekV3#open} ({@code ConfigException} for a bad config.json, {@code FormatException} for missing,
     * mis-shaped or corrupt weights). The weights stay mmapped until the model is closed.
     */
    public static DeepSeekV3 open(Path path) {
        return GgufFile.isGguf(path) ? GgufModel.open(path) : DeepSeekV3.open(path);
    }

    /**
     * Why {@code path} is not what {@link #open} opens, for a one-line error after the flag's name: "... does not
     * exist", "... is a file but not a GGUF model ...". Call it when {@link #isModel} is false.
     */
    public static String whyNotModel(Path path) {
        if (!Files.exists(path)) return path + " does not exist (give a model directory with config.json and safetensors, or a .gguf file)";
        if (Files.isRegularFile(path)) return path + " is a file but not a GGUF model (it does not start with the bytes GGUF); "
                + "give a model directory with config.json and safetensors, or a .gguf file";
        return path + " is neither a directory nor a GGUF file";
    }

    /** True for what {@link #open} opens: a directory or a GGUF file. */
    public static boolean isModel(Path path) { return Files.isDirectory(path) || GgufFile.isGguf(path); }

    /**
     * The tokenizer a model file carries: a GGUF's {@code tokenizer.ggml.*} vocabulary and chat template
     * ({@link GgufTokenizer}); null for a model directory or a GGUF without a vocabulary. FormatException naming the
     * file and key when the GGUF's vocabulary is one jseek cannot read.
     */
    public static Tokenizer embeddedTokenizer(Path path) {
        if (!GgufFile.isGguf(path)) return null;
        try (GgufFile f = GgufFile.open(path)) {
            return GgufTokenizer.present(f) ? GgufTokenizer.read(f) : null;
        }
    }

    /** The config of a model directory (its config.json) or of a GGUF file (its metadata), without the weights. */
    public static ModelConfig config(Path path) {
        return GgufFile.isGguf(path) ? GgufModel.config(path) : ModelConfig.load(path.resolve("config.json"));
    }
}
