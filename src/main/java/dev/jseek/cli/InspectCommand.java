package dev.jseek.cli;

import dev.jseek.io.Checkpoint;
import dev.jseek.model.ModelConfig;
import dev.jseek.model.ParameterCount;
import dev.jseek.model.TensorSchema;
import dev.jseek.tensor.DType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jseek inspect}: parameter counts and cache sizes from a config alone (no weights are allocated), and for a
 * model directory also what its checkpoint holds (tensors, dtypes, bytes) and whether it matches the config.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Print total/active/MTP parameters and KV-cache bytes per token of a model or config.")
public final class InspectCommand implements Callable<Integer> {
    /** {@code --preset}, {@code --config} or {@code --model}. */
    static final class Source extends ConfigSource {
        @Option(names = "--model", description = "A model directory (config.json + safetensors) or a .gguf file.") Path model;
    }

    @ArgGroup(exclusive = true, multiplicity = "1") Source source;

    @Override public Integer call() {
        ModelConfig c;
        if (source.model != null && dev.jseek.gguf.GgufFile.isGguf(source.model)) return describeGguf(source.model);
        if (source.model != null) {
            if (!Files.isDirectory(source.model)) throw new UserException(source.model + ": not a model directory");
            c = ModelConfig.load(source.model.resolve("config.json"));
        } else {
            c = source.resolve();
        }
        TensorSchema w = new TensorSchema(c);
        System.out.printf("layers %d (%d dense, %d MoE) + %d MTP, hidden %d, heads %d, experts %d routed (top-%d in %d of %d groups) + %d shared, vocab %d%n",
                c.numHiddenLayers(), Math.min(c.firstKDenseReplace(), c.numHiddenLayers()),
                c.numHiddenLayers() - Math.min(c.firstKDenseReplace(), c.numHiddenLayers()), c.numNextnPredictLayers(),
                c.hiddenSize(), c.numAttentionHeads(), c.nRoutedExperts(), c.numExpertsPerTok(), c.topkGroup(), c.nGroup(),
                c.nSharedExperts(), c.vocabSize());
        System.out.printf("model_type %s, router: %s scores, %s, norm_topk_prob %s, routed_scaling_factor %s%s; rope_theta %s, %s%n",
                c.modelType(), c.scoringFunc(), c.topkMethod(), c.normTopkProb(), c.routedScalingFactor(),
                c.hasRouterBias() ? ", selection bias" : "", c.ropeTheta(),
                c.ropeScaling() == null ? "no rope scaling" : "YaRN factor " + c.ropeScaling().factor());
        System.out.printf("total parameters (main model):  %,d (%s)%n", w.mainParameters(), ParameterCount.human(w.mainParameters()));
        System.out.printf("active per token (main model):  %,d (%s)%n", w.activeParameters(), ParameterCount.human(w.activeParameters()));
        System.out.printf("MTP parameters (unique):        %,d (%s)%n", w.mtpParameters(), ParameterCount.human(w.mtpParameters()));
        System.out.printf("checkpoint weight elements:     %,d (%s, incl. MTP and its embedding/head copies)%n",
                w.checkpointParameters(), ParameterCount.human(w.checkpointParameters()));
        System.out.printf("KV cache per token (BF16):      %,d bytes latent (MLA absorbed: %d values x %d layers); naive per-head K/V would be %,d bytes%n",
                w.kvCacheBytesPerToken(2), c.kvLoraRank() + c.qkRopeHeadDim(), c.numHiddenLayers(), w.naiveCacheBytesPerToken(2));
        System.out.printf("softmax scale:                  %.7f%n", c.softmaxScale());
        if (source.model != null) describeCheckpoint(source.model, w);
        return 0;
    }

    /** A GGUF file: its header, every metadata key (long arrays abbreviated), every tensor, and the model it holds. */
    private static int describeGguf(Path file) {
        try (dev.jseek.gguf.GgufFile f = dev.jseek.gguf.GgufFile.open(file)) {
            System.out.printf("GGUF v%d, %d metadata keys, %d tensors, alignment %d, data at byte %,d%n",
                    f.version(), f.metadata().size(), f.tensors().size(), f.alignment(), f.dataStart());
            System.out.println("metadata:");
            f.metadata().forEach((k, v) -> System.out.printf("  %-50s %-8s %s%n", k, v.type(), v.display(8)));
            System.out.println("tensors:");
            Map<dev.jseek.gguf.GgmlType, long[]> byType = new java.util.TreeMap<>();
            for (dev.jseek.gguf.GgufTensorInfo t : f.tensors()) {
                System.out.printf("  %-40s %-6s %-22s %,15d bytes @ %,d%n", t.name(), t.type(), t.shapeString(), t.byteSize(), t.offset());
                long[] a = byType.computeIfAbsent(t.type(), k -> new long[2]);
                a[0]++;
                a[1] += t.byteSize();
            }
            byType.forEach((t, a) -> System.out.printf("  %-8s %6d tensors %,15d bytes%n", t, a[0], a[1]));
            if (f.get("general.architecture") != null && "deepseek2".equals(f.get("general.architecture").value())) {
                ModelConfig c = dev.jseek.gguf.Deepseek2Metadata.read(f);
                TensorSchema w = new TensorSchema(c);
                System.out.printf("model: layers %d + %d MTP, hidden %d, heads %d, experts %d routed (top-%d) + %d shared, vocab %d; %s parameters (%s active)%n",
                        c.numHiddenLayers(), c.numNextnPredictLayers(), c.hiddenSize(), c.numAttentionHeads(), c.nRoutedExperts(),
                        c.numExpertsPerTok(), c.nSharedExperts(), c.vocabSize(), ParameterCount.human(w.mainParameters()), ParameterCount.human(w.activeParameters()));
            }
            if (f.get("tokenizer.ggml.model") == null || "none".equals(f.get("tokenizer.ggml.model").value())) {
                System.out.println("tokenizer: none in the file (give --tokenizer to commands that need one)");
            } else {
                try {
                    dev.jseek.tokenizer.Tokenizer tok = dev.jseek.gguf.GgufTokenizer.read(f);
                    System.out.printf("tokenizer: %,d tokens%nchat template: %s%n", tok.vocabSize(), dev.jseek.tokenizer.ChatTemplate.describe(tok));
                } catch (dev.jseek.io.FormatException e) {
                    System.out.println("tokenizer: not readable: " + e.getMessage());
                }
            }
        }
        return 0;
    }

    private static void describeCheckpoint(Path dir, TensorSchema w) {
        try (Checkpoint ck = Checkpoint.open(dir)) {
            Map<DType, long[]> byType = new EnumMap<>(DType.class);
            for (String n : ck.names()) {
                var info = ck.info(n);
                long[] acc = byType.computeIfAbsent(info.dtype(), k -> new long[2]);
                acc[0]++;
                acc[1] += info.byteSize();
            }
            System.out.printf("checkpoint: %d tensors%n", ck.names().size());
            byType.forEach((t, a) -> System.out.printf("  %-8s %6d tensors %,15d bytes%n", t, a[0], a[1]));
            int missing = 0;
            for (TensorSchema.Tensor t : w.tensors()) {
                if (!ck.has(t.name())) {
                    if (missing++ < 5) System.out.println("  missing: " + t.name());
                }
            }
            if (missing > 0) System.out.println("  " + missing + " tensor(s) of the config are missing from the checkpoint");
        }
    }
}
