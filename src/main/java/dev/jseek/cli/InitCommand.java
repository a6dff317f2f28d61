package dev.jseek.cli;

import dev.jseek.model.ConfigEdits;
import dev.jseek.model.ModelConfig;
import dev.jseek.model.ParameterCount;
import dev.jseek.model.RandomInit;
import dev.jseek.model.TensorSchema;
import dev.jseek.tensor.DType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code jseek init}: writes a randomly initialized DeepSeek-V3 model (config.json + safetensors, HF names). */
@Command(name = "init", mixinStandardHelpOptions = true,
        description = "Write a random DeepSeek-V3 model (config.json + safetensors in the Hugging Face layout).")
public final class InitCommand implements Callable<Integer> {
    @ArgGroup(exclusive = true, multiplicity = "1") ConfigSource source;
    @Option(names = "--out", required = true, description = "Output model directory.") Path out;
    @Option(names = "--seed", defaultValue = "1", description = "Random seed (default ${DEFAULT-VALUE}).") long seed;
    @Option(names = "--init-std", defaultValue = "0.006", description = "Std of weight matrices (default ${DEFAULT-VALUE}, as the report).") double std;
    @Option(names = "--dtype", defaultValue = "bf16", description = "f32, bf16 or fp8 (FP8 E4M3 Linear weights with 128x128 scales, the release format). Default ${DEFAULT-VALUE}.") String dtype;
    @Option(names = "--vocab-size", description = "Override the config's vocab_size (e.g. to match a tokenizer).") Integer vocabSize;
    @Option(names = "--force", description = "Overwrite an existing model in --out.") boolean force;

    static DType parseDtype(String s) {
        return switch (s.toLowerCase()) {
            case "f32", "fp32", "float32" -> DType.F32;
            case "bf16", "bfloat16" -> DType.BF16;
            case "fp8", "f8", "f8_e4m3", "e4m3" -> DType.F8_E4M3;
            default -> throw new UserException("--dtype: unknown value '" + s + "' (use f32, bf16 or fp8)");
        };
    }

    @Override public Integer call() {
        ModelConfig c = source.resolve();
        if (vocabSize != null) c = ConfigEdits.withVocabSize(c, vocabSize);
        DType d = parseDtype(dtype);
        if (Files.exists(out.resolve("config.json")) && !force)
            throw new UserException(out + " already holds a model (config.json); pass --force to overwrite");
        TensorSchema layout = new TensorSchema(c);
        long t0 = System.nanoTime();
        List<Path> files;
        try {
            files = RandomInit.write(c, out, seed, std, d);
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage(), e);
        }
        System.out.printf("wrote %s: %s parameters (%s active per token, MTP %s), %s, %d file(s), %.1f s%n", out,
                ParameterCount.human(layout.mainParameters()), ParameterCount.human(layout.activeParameters()),
                ParameterCount.human(layout.mtpParameters()), d, files.size(), (System.nanoTime() - t0) / 1e9);
        return 0;
    }
}
