package dev.jseek.gguf;

import static dev.jseek.gguf.GgufTestSupport.parity;
import static dev.jseek.gguf.GgufTestSupport.resource;
import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.model.ModelConfig;
import dev.jseek.model.Presets;
import dev.jseek.model.TensorSchema;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The GGUF name mapping over the {@link TensorSchema}. Oracles: the tensor names and shapes of a GGUF file written by
 * an independent Python writer with its own name table ({@code tools/make_gguf_fixtures.py}, llama.cpp's legacy
 * {@code attn_kv_b} layout), and the names the exporter writes.
 */
class Deepseek2NamesTest {
    private static ModelConfig config(Path dir) { return ModelConfig.load(dir.resolve("config.json")); }

    @Test
    void everyGgufNameMapsBackToOneSchemaTensor() {
        for (ModelConfig c : new ModelConfig[] {config(parity("yarn_qlora")), config(parity("no_qlora")), Presets.get("small")}) {
            TensorSchema s = new TensorSchema(c);
            Map<String, String> back = new HashMap<>();
            for (TensorSchema.Tensor t : s.tensors()) {
                Deepseek2Names.Target g = Deepseek2Names.map(t);
                assertEquals(t.slot().routedExpert(), g.kind() == Deepseek2Names.Kind.EXPERT, t.name());
                assertEquals(t.slot() == TensorSchema.Slot.KV_B, g.kind() == Deepseek2Names.Kind.KV_B, t.name());
                assertEquals(t.expert(), g.expert());
                String key = g.gguf() + "#" + g.expert();
                String prev = back.put(key, t.name());
                assertNull(prev, key + " is both " + prev + " and " + t.name());
                if (t.layer() >= 0) assertTrue(g.gguf().startsWith("blk." + t.layer() + "."), g.gguf());
            }
            assertEquals(s.tensors().size(), back.size());
            assertEquals(s.tensors().size(), Deepseek2Names.index(s).size());
        }
    }

    /** GGUF name -> shape the schema implies: experts stacked [E, out, in], MTP copies not stored. */
    private static Map<String, String> expected(TensorSchema s, boolean splitKvB) {
        ModelConfig c = s.config();
        Map<String, String> m = new TreeMap<>();
        for (TensorSchema.Tensor t : s.tensors()) {
            if (t.kind() == TensorSchema.Kind.MTP_COPY) continue;
            Deepseek2Names.Target g = Deepseek2Names.map(t);
            switch (g.kind()) {
                case PLAIN -> m.put(g.gguf(), Arrays.toString(t.shape()));
                case EXPERT -> m.put(g.gguf(), Arrays.toString(new long[] {c.nRoutedExperts(), t.shape()[0], t.shape()[1]}));
                case KV_B -> {
                    if (!splitKvB) {
                        m.put(g.gguf(), Arrays.toString(t.shape()));
                    } else {
                        long h = c.numAttentionHeads();
                        m.put(Deepseek2Names.kB(g.gguf()), Arrays.toString(new long[] {h, c.kvLoraRank(), c.qkNopeHeadDim()}));
                        m.put(Deepseek2Names.vB(g.gguf()), Arrays.toString(new long[] {h, c.vHeadDim(), c.kvLoraRank()}));
                    }
                }
            }
        }
        return m;
    }

    private static Map<String, String> stored(Path gguf) {
        Map<String, String> m = new TreeMap<>();
        try (GgufFile f = GgufFile.open(gguf)) {
            for (GgufTensorInfo t : f.tensors()) m.put(t.name(), t.shapeString());
        }
        return m;
    }

    @Test
    void theMappingNamesWhatAnIndependentWriterWrote() {
        TensorSchema s = new TensorSchema(config(parity("yarn_qlora")));
        assertEquals(expected(s, false), stored(resource("/gguf/parity_yarn_qlora_legacy.gguf")));
    }

    @Test
    void theExporterWritesExactlyTheMappedTensors(@TempDir Path tmp) {
        for (String name : new String[] {"yarn_qlora", "no_qlora"}) {
            Path hf = parity(name), out = tmp.resolve(name + ".gguf");
            GgufExporter.export(hf, out, GgmlType.F32, true, null);
            assertEquals(expected(new TensorSchema(config(hf)), true), stored(out), name);
        }
    }
}
