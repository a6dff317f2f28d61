package dev.jseek.cli;

import dev.jseek.model.ModelConfig;
import dev.jseek.model.Presets;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * Where a model's config comes from when there are no weights: {@code --preset} or {@code --config} (an exclusive
 * picocli argument group of {@code init}; {@code inspect} adds {@code --model}).
 */
class ConfigSource {
    @Option(names = "--preset", description = "Preset: tiny, small, base, 671b.") String preset;
    @Option(names = "--config", description = "A Hugging Face DeepSeek-V3 config.json.") Path config;

    /** The preset, or the config file loaded. */
    ModelConfig resolve() { return preset != null ? Presets.get(preset) : ModelConfig.load(config); }
}
