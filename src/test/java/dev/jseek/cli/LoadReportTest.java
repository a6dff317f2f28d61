package dev.jseek.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.gguf.Deepseek2Metadata;
import dev.jseek.gguf.GgufExporter;
import dev.jseek.gguf.GgufFile;
import dev.jseek.gguf.GgufModel;
import dev.jseek.gguf.GgufWeights;
import dev.jseek.gguf.QuantMix;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.ModelConfig;
import dev.jseek.model.RandomInit;
import dev.jseek.model.WeightSource;
import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The load line of a Q8_0 GGUF: opened as commands open it, it names no weights copied to the heap; the same file
 * with kv_b_proj rebuilt in F32 at load (the loader before the attention read attn_k_b / attn_v_b as stored, today
 * {@code -Djseek.kvBHalves=false}) prints the copy's size, layers x heads x (qk_nope + v) x kv_lora_rank x 4 bytes,
 * computed from the config (the oracle).
 */
class LoadReportTest {
    @Test
    void aBlockTypedGgufLoadsWithoutAnF32KvBCopyAndTheLinePrintsWhatACopyWouldCost(@TempDir Path tmp) {
        ModelConfig c = dev.jseek.gguf.KQuantExportTest.config();
        Path hf = tmp.resolve("hf"), out = tmp.resolve("m.gguf");
        RandomInit.write(c, hf, 1, 0.05, DType.F32);
        GgufExporter.export(hf, out, QuantMix.Q8_0, false, null);
        long copy = (long) c.numHiddenLayers() * c.numAttentionHeads() * (c.qkNopeHeadDim() + c.vHeadDim()) * c.kvLoraRank() * 4;
        try (DeepSeekV3 m = GgufModel.open(out)) {
            assertEquals(0, m.heapWeightCopyBytes());
            assertEquals("", LoadReport.copies(m));
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            LoadReport.print(out, System.nanoTime(), m, new PrintStream(b, true));
            assertFalse(b.toString().contains("copied"), b.toString());
        }
        try (GgufFile f = GgufFile.open(out)) {
            GgufWeights w = new GgufWeights(f, Deepseek2Metadata.read(f));
            WeightSource noHalves = new WeightSource() {
                @Override public boolean has(String n) { return w.has(n); }
                @Override public Matrix matrix(String n, int rows, int cols) { return w.matrix(n, rows, cols); }
                @Override public float[] floats(String n, long... shape) { return w.floats(n, shape); }
            };
            DeepSeekV3 m = DeepSeekV3.load(Deepseek2Metadata.read(f), noHalves);
            assertEquals(copy, m.heapWeightCopyBytes());
            assertEquals(String.format(", %.2f MB of weights copied to the heap", copy / 1e6), LoadReport.copies(m));
        }
    }
}
