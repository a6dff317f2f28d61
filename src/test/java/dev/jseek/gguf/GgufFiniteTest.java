package dev.jseek.gguf;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.io.FormatException;
import dev.jseek.model.DeepSeekV3;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The load-time NaN/Inf scan of GGUF weights: a NaN in an F32 tensor and an infinite F16 scale in a Q8_0 block
 * (written into an exported file at the byte the tensor info names) are refused with one line naming the file, the
 * tensor and where; {@code jseek.checkWeights=false} loads the file anyway. The clean file loads.
 */
class GgufFiniteTest {
    @Test
    void nonFiniteWeightsAndScalesAreNamed(@TempDir Path tmp) throws Exception {
        Path hf = tmp.resolve("hf"), q8 = tmp.resolve("q8.gguf");
        dev.jseek.model.RandomInit.write(dev.jseek.model.Presets.get("tiny"), hf, 3, 0.05, dev.jseek.tensor.DType.F32);
        GgufExporter.export(hf, q8, GgmlType.Q8_0, false, null);
        try (DeepSeekV3 m = GgufModel.open(q8)) { assertNotNull(m); }

        Path bad = tmp.resolve("bad-scale.gguf");
        Files.copy(q8, bad);
        GgufTensorInfo t;
        try (GgufFile f = GgufFile.open(bad)) { t = f.tensor("blk.1.ffn_up_exps.weight"); }
        assertEquals(GgmlType.Q8_0, t.type());
        long[] shape = t.shape(); // [experts, rows, cols]
        long block = t.elementCount() / 32 - 3; // a block near the end of the last expert
        write(bad, t.fileOffset() + block * GgmlType.Q8_0.typeSize, (short) 0x7C00); // +inf as the block's d
        FormatException e = assertThrows(FormatException.class, () -> GgufModel.open(bad));
        long first = block * 32;
        String at = "[" + first / (shape[1] * shape[2]) + ", " + first / shape[2] % shape[1] + ", " + first % shape[2] + "]";
        assertEquals(bad + ": tensor 'blk.1.ffn_up_exps.weight' (Q8_0 " + java.util.Arrays.toString(shape)
                + ") holds a non-finite scale (NaN or infinity) in the Q8_0 block starting at " + at
                + "; the weights are corrupt (-Djseek.checkWeights=false loads them anyway)", e.getMessage());

        Path nan = tmp.resolve("nan.gguf");
        Files.copy(q8, nan);
        try (GgufFile f = GgufFile.open(nan)) { t = f.tensor("blk.0.attn_norm.weight"); }
        assertEquals(GgmlType.F32, t.type());
        write(nan, t.fileOffset() + 4 * 5, Float.NaN);
        e = assertThrows(FormatException.class, () -> GgufModel.open(nan));
        assertTrue(e.getMessage().startsWith(nan + ": tensor 'blk.0.attn_norm.weight' (F32 " + java.util.Arrays.toString(t.shape())
                + ") holds a non-finite value (NaN or infinity) at [5]"), e.getMessage());

        System.setProperty("jseek.checkWeights", "false");
        try (DeepSeekV3 m = GgufModel.open(nan)) { assertNotNull(m); } finally { System.clearProperty("jseek.checkWeights"); }
    }

    private static void write(Path file, long at, short v) throws IOException {
        write(file, at, ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort(0, v));
    }

    private static void write(Path file, long at, float v) throws IOException {
        write(file, at, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, v));
    }

    private static void write(Path file, long at, ByteBuffer b) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) { ch.write(b, at); }
    }
}
