package dev.jseek.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jseek.gguf.GgufExporter;
import dev.jseek.gguf.QuantMix;
import dev.jseek.model.ConfigEdits;
import dev.jseek.model.RandomInit;
import dev.jseek.source.ModelSource;
import dev.jseek.tensor.DType;
import dev.jseek.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The byte tokenizer {@code bench infer} writes beside its random model: export takes it (a GGUF names one of the
 * DeepSeek family's pre-tokenizers, so export refuses a tokenizer.json without one; a fresh cache once failed there)
 * and the GGUF's embedded tokenizer maps each byte b of a text to id b + 2 after BOS 0 and EOS 1.
 */
class BenchTokenizerTest {
    @Test
    void theBenchTokenizerExportsAndEncodesBytes(@TempDir Path tmp) throws Exception {
        Path hf = tmp.resolve("hf");
        RandomInit.write(ConfigEdits.edit(dev.jseek.gguf.KQuantExportTest.config(), o -> o.put("vocab_size", 320)), hf, 3, 0.05, DType.F32);
        InferBench.writeTokenizer(hf.resolve("tokenizer.json"));
        Path out = tmp.resolve("m.gguf");
        GgufExporter.export(hf, out, QuantMix.F32, false, hf.resolve("tokenizer.json"));
        Tokenizer t = ModelSource.embeddedTokenizer(out);
        String text = "int x = 42; // é\n";
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        int[] want = new int[utf8.length];
        for (int i = 0; i < utf8.length; i++) want[i] = (utf8[i] & 0xFF) + 2;
        assertArrayEquals(want, t.encode(text));
        assertEquals(text, t.decode(want));
        assertEquals(0, t.encode(text, true)[0]);
    }
}
