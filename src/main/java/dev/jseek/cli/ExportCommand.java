package dev.jseek.cli;

import dev.jseek.gguf.GgufExporter;
import dev.jseek.gguf.QuantMix;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jseek export}: converts a Hugging Face layout model directory (config.json + safetensors, FP8 release
 * format included) into a llama.cpp {@code deepseek2} GGUF file ({@link GgufExporter}).
 */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Convert a model directory (config.json + safetensors) to a llama.cpp deepseek2 GGUF file.")
public final class ExportCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "Model directory (config.json + safetensors).") Path model;
    @Option(names = "--out", required = true, description = "Output .gguf file.") Path out;
    @Option(names = "--type", defaultValue = "bf16", description = "Weight type: f32, f16, bf16, q8_0, q6_k or q4_k_m (llama.cpp's mix: Q4_K, Q6_K for output and some ffn_down) (default ${DEFAULT-VALUE}); norms, router and bias stay f32.") String type;
    @Option(names = "--mtp", description = "Also export the MTP module(s) (blk.L.nextn.*; llama.cpp's converter drops them).") boolean mtp;
    @Option(names = "--tokenizer", description = "tokenizer.json to embed as tokenizer.ggml.* (default: the model directory's or its parent's, if any).") Path tokenizer;
    @Option(names = "--no-tokenizer", description = "Write no vocabulary (tokenizer.ggml.model = none).") boolean noTokenizer;
    @Option(names = "--force", description = "Overwrite an existing --out file.") boolean force;

    static QuantMix parseType(String s) {
        return switch (s.toLowerCase()) {
            case "f32", "fp32", "float32" -> QuantMix.F32;
            case "f16", "fp16", "float16" -> QuantMix.F16;
            case "bf16", "bfloat16" -> QuantMix.BF16;
            case "q8_0", "q8" -> QuantMix.Q8_0;
            case "q6_k" -> QuantMix.Q6_K;
            case "q4_k_m" -> QuantMix.Q4_K_M;
            default -> throw new UserException("--type: unknown value '" + s + "' (use f32, f16, bf16, q8_0, q6_k or q4_k_m)");
        };
    }

    @Override public Integer call() {
        QuantMix t = parseType(type);
        if (!Files.isDirectory(model)) throw new UserException("--model: " + model + " is not a model directory");
        if (Files.exists(out) && !force) throw new UserException("--out: " + out + " exists; pass --force to overwrite");
        if (tokenizer != null && noTokenizer) throw new UserException("give --tokenizer or --no-tokenizer, not both");
        Path tok = tokenizer;
        if (tok == null && !noTokenizer) {
            Path dir = model.toAbsolutePath();
            for (Path p : new Path[] {dir, dir.getParent()})
                if (tok == null && p != null && Files.isRegularFile(p.resolve("tokenizer.json"))) tok = p.resolve("tokenizer.json");
        }
        if (tok != null && !Files.isRegularFile(tok)) throw new UserException("--tokenizer: " + tok + " is not a file");
        long t0 = System.nanoTime();
        GgufExporter.Result r;
        try {
            r = GgufExporter.export(model, out, t, mtp, tok);
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage(), e);
        }
        for (String f : r.fallbacks()) System.err.println("note: " + f);
        System.out.printf("wrote %s: %d tensors, %s weights, %d MTP layer(s), %s, %,d bytes, %.1f s%n", out, r.tensors(), t,
                r.mtpLayers(), r.tokenizer() ? "tokenizer " + tok : "no tokenizer", r.bytes(), (System.nanoTime() - t0) / 1e9);
        return 0;
    }
}
