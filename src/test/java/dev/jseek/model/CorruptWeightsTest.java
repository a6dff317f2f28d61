package dev.jseek.model;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.io.FormatException;
import dev.jseek.io.SafetensorsFile;
import dev.jseek.io.TensorInfo;
import dev.jseek.tensor.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * NaN or infinity in a checkpoint is refused at load, naming the file, the tensor and the element (issue 10 §8);
 * before, it loaded silently and greedy decoding gave a 500 while sampling gave text.
 */
class CorruptWeightsTest {
    @TempDir Path tmp;

    /** Writes {@code bits} (of the tensor's dtype width) over element {@code index} of {@code name}. */
    static Path poke(Path dir, String name, long index, long bits) throws Exception {
        Path st;
        try (var f = Files.list(dir)) {
            st = f.filter(p -> p.toString().endsWith(".safetensors")).findFirst().orElseThrow();
        }
        TensorInfo t;
        try (SafetensorsFile sf = SafetensorsFile.open(st)) {
            t = sf.info(name);
        }
        int w = t.dtype().bytes;
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, bits).limit(w);
        try (FileChannel ch = FileChannel.open(st, StandardOpenOption.WRITE)) {
            ch.write(b, t.fileOffset() + index * w);
        }
        return st;
    }

    @Test void nonFiniteWeightsAreNamedAtLoad() throws Exception {
        ModelConfig cfg = Presets.get("tiny");
        String name = "model.layers.1.self_attn.kv_a_proj_with_mqa.weight";
        int cols = cfg.hiddenSize();
        Path f32 = tmp.resolve("f32");
        RandomInit.write(cfg, f32, 3, 0.02, DType.F32);
        try (DeepSeekV3 ok = DeepSeekV3.open(f32)) {
            assertNotNull(ok);
        }
        Path st = poke(f32, name, 2L * cols + 5, Float.floatToRawIntBits(Float.NaN));
        FormatException e = assertThrows(FormatException.class, () -> DeepSeekV3.open(f32).close());
        assertEquals(st + ": tensor '" + name + "' (F32 [" + (cfg.kvLoraRank() + cfg.qkRopeHeadDim()) + ", " + cols
                + "]) holds a non-finite value (NaN or infinity) at [2, 5]; the weights are corrupt (-Djseek.checkWeights=false loads them anyway)",
                e.getMessage());
        System.setProperty("jseek.checkWeights", "false");
        try {
            DeepSeekV3.open(f32).close();
        } finally {
            System.clearProperty("jseek.checkWeights");
        }
        Path bf16 = tmp.resolve("bf16");
        RandomInit.write(cfg, bf16, 3, 0.02, DType.BF16);
        poke(bf16, "lm_head.weight", 7, 0xFF80); // -Inf
        FormatException e2 = assertThrows(FormatException.class, () -> DeepSeekV3.open(bf16).close());
        assertTrue(e2.getMessage().contains("'lm_head.weight' (BF16") && e2.getMessage().contains("at [0, 7]"), e2.getMessage());
    }
}
