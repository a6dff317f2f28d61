package dev.jseek.cli;

import dev.jseek.model.DeepSeekV3;
import dev.jseek.source.ModelSource;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The {@code --model} option of the commands that run a model: a model directory or a deepseek2 .gguf file. */
final class ModelOption {
    @Option(names = "--model", required = true, description = "Model directory (config.json + safetensors) or a deepseek2 .gguf file.")
    Path path;

    /** The model path, after checking that it holds a model; else a {@link UserException} saying why not. */
    Path checked() {
        if (!ModelSource.isModel(path)) throw new UserException("--model: " + ModelSource.whyNotModel(path));
        return path;
    }

    /** Opens the model (mapped, unless the weights were asked to be read, see {@link MappedModelOptions}). */
    DeepSeekV3 open() { return ModelSource.open(path); }
}
