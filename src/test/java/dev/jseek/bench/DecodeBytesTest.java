package dev.jseek.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jseek.gguf.GgufExporter;
import dev.jseek.gguf.GgufFile;
import dev.jseek.gguf.GgufTensorInfo;
import dev.jseek.gguf.QuantMix;
import dev.jseek.kernels.DecodeOrder;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.ModelConfig;
import dev.jseek.model.RandomInit;
import dev.jseek.source.ModelSource;
import dev.jseek.tensor.DType;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The weight bytes one decode step reads, counted on the loaded model ({@link DeepSeekV3#decodeWeightBytes}: what
 * {@link DecodeOrder#forModel} compares with the last-level cache) against the count from the GGUF's tensor table
 * ({@link InferBench#decodeBytes}, what {@code bench infer} reports), which also holds the 1-D tensors (norms, the
 * router bias) the model keeps as float arrays; and the last-level cache size read from a sysfs-shaped directory.
 */
class DecodeBytesTest {
    @Test
    void modelAndFileCountTheSameDecodeBytes(@TempDir Path tmp) throws Exception {
        ModelConfig c = dev.jseek.gguf.KQuantExportTest.config();
        Path hf = tmp.resolve("hf");
        RandomInit.write(c, hf, 3, 0.05, DType.F32);
        for (QuantMix mix : new QuantMix[] {QuantMix.F32, QuantMix.BF16, QuantMix.Q8_0, QuantMix.Q4_K_M}) {
            Path out = tmp.resolve(mix + ".gguf");
            GgufExporter.export(hf, out, mix, false, null);
            long oneDim = 0;
            try (GgufFile f = GgufFile.open(out)) {
                for (GgufTensorInfo t : f.tensors()) if (t.rank() == 1) oneDim += t.byteSize();
            }
            try (DeepSeekV3 m = ModelSource.open(out)) {
                assertEquals(InferBench.decodeBytes(out) - oneDim, m.decodeWeightBytes(), mix.toString());
            }
        }
    }

    @Test
    void lastLevelCacheIsTheHighestLevelsSize(@TempDir Path tmp) throws Exception {
        String[][] idx = {{"1", "32K"}, {"1", "32K"}, {"2", "1024K"}, {"3", "32768K"}};
        for (int i = 0; i < idx.length; i++) {
            Path d = Files.createDirectories(tmp.resolve("index" + i));
            Files.writeString(d.resolve("level"), idx[i][0] + "\n");
            Files.writeString(d.resolve("size"), idx[i][1] + "\n");
        }
        assertEquals(32L << 20, DecodeOrder.readLastLevelCache(tmp));
        Files.writeString(tmp.resolve("index3").resolve("size"), "16M\n");
        assertEquals(16L << 20, DecodeOrder.readLastLevelCache(tmp));
        Files.writeString(tmp.resolve("index3").resolve("size"), "garbage\n");
        assertEquals(1L << 20, DecodeOrder.readLastLevelCache(tmp), "an unreadable index is skipped");
        assertEquals(32L << 20, DecodeOrder.readLastLevelCache(tmp.resolve("missing")), "no sysfs: 32 MiB");
    }
}
