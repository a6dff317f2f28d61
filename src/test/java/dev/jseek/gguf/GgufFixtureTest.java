package dev.jseek.gguf;

import static dev.jseek.gguf.GgufTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jseek.io.Npy;
import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.ModelConfig;
import dev.jseek.source.ModelSource;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The reader against GGUF files written by an independent writer (tools/make_gguf_fixtures.py: Python struct + numpy,
 * following the GGUF spec): every metadata value type, alignment 64, tensors of five ggml types; and a deepseek2
 * model in the older llama.cpp layout (unsplit attn_kv_b, no *_mla keys, no jseek.config) converted by that script
 * from the PyTorch parity fixture, whose logits must equal the fixture's.
 */
class GgufFixtureTest {
    @Test
    void readsEveryValueTypeAndTensorOfTheStructWrittenFile() throws Exception {
        JsonNode want = new ObjectMapper().readTree(resource("/gguf/struct_written.json").toFile());
        try (GgufFile f = GgufFile.open(resource("/gguf/struct_written.gguf"))) {
            assertEquals(3, f.version());
            assertEquals(64, f.alignment());
            assertEquals(0, f.dataStart() % 64);
            assertEquals(want.get("metadata").size(), f.metadata().size());
            Iterator<JsonNode> order = want.get("metadata_order").iterator();
            for (Map.Entry<String, GgufValue> e : f.metadata().entrySet()) { // file order == the writer's order
                assertEquals(order.next().asText(), e.getKey());
                checkValue(want.get("metadata").get(e.getKey()), e.getValue(), e.getKey());
            }
            JsonNode wt = want.get("tensors");
            assertEquals(wt.size(), f.tensors().size());
            int i = 0;
            for (GgufTensorInfo t : f.tensors()) {
                JsonNode w = wt.get(i++);
                assertEquals(w.get("name").asText(), t.name());
                assertEquals(w.get("type").asText(), t.type().name(), t.name());
                long[] dims = new long[w.get("dims").size()];
                for (int d = 0; d < dims.length; d++) dims[d] = w.get("dims").get(d).asLong();
                assertArrayEquals(dims, t.dims(), t.name());
                assertEquals(w.get("offset").asLong(), t.offset(), t.name());
                JsonNode vals = w.get("values");
                float[] got = new float[(int) t.elementCount()];
                if (t.type() == GgmlType.I32) {
                    for (int k = 0; k < got.length; k++) got[k] = f.segment(t.name()).get(GgufFile.LE_I32, 4L * k);
                } else {
                    GgmlCodec.decode(t.type(), f.segment(t.name()), 0, got.length, got, 0);
                }
                for (int k = 0; k < got.length; k++) assertEquals((float) vals.get(k).asDouble(), got[k], 0f, t.name() + "[" + k + "]");
            }
        }
    }

    private static void checkValue(JsonNode w, GgufValue v, String key) {
        assertEquals(w.get("type").asText(), v.type().name(), key);
        JsonNode x = w.get("value");
        switch (v.type()) {
            case FLOAT32, FLOAT64 -> assertEquals(x.asDouble(), v.asDouble(), 0.0, key);
            case BOOL -> assertEquals(x.asBoolean(), v.asBool(), key);
            case STRING -> assertEquals(x.asText(), v.asString(), key);
            case UINT64 -> assertEquals(x.asText(), Long.toUnsignedString((Long) v.value()), key);
            case ARRAY -> {
                assertEquals(w.get("element").asText(), v.elementType().name(), key);
                List<GgufValue> l = v.asList();
                assertEquals(x.size(), l.size(), key);
                for (int i = 0; i < l.size(); i++) checkValue(x.get(i), l.get(i), key + "[" + i + "]");
            }
            default -> assertEquals(x.asLong(), v.asLong(), key);
        }
    }

    @Test
    void legacyDeepseek2FileRunsWithTheParityFixturesLogits() throws Exception {
        Path gguf = resource("/gguf/parity_yarn_qlora_legacy.gguf"), hf = parity("yarn_qlora");
        int[] toks = tokens(hf);
        ModelConfig want = ModelConfig.load(hf.resolve("config.json"));
        try (GgufFile f = GgufFile.open(gguf)) {
            assertNull(f.get(Deepseek2Metadata.JSEEK_CONFIG));
            ModelConfig got = Deepseek2Metadata.read(f); // from the deepseek2.* keys alone
            assertEquals(List.of(), Deepseek2Metadata.differences(want, got));
        }
        float[] logits = Npy.readFloats(hf.resolve("logits.npy")), mtp = Npy.readFloats(hf.resolve("mtp_logits.npy"));
        try (DeepSeekV3 ref = ModelSource.open(hf); DeepSeekV3 m = ModelSource.open(gguf)) {
            assertTrue(m.hasMtp());
            for (AttnMode mode : AttnMode.values()) {
                float[] a = run(m, toks, mode), b = run(ref, toks, mode);
                // the same F32 weights and a config equal to the HF one: the same bits as the safetensors model
                assertBitwise(b, a, mode + " GGUF vs safetensors");
                int T = toks.length, v = want.vocabSize();
                double d = 0;
                for (int i = 0; i < T * v; i++) d = Math.max(d, Math.abs(a[i] - logits[i]));
                for (int i = 0; i < (T - 1) * v; i++) d = Math.max(d, Math.abs(a[T * v + i] - mtp[i]));
                assertTrue(d < 1e-4, mode + ": max |diff| to the PyTorch logits " + d);
            }
        }
    }
}
