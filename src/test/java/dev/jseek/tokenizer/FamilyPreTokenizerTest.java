package dev.jseek.tokenizer;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.gguf.GgufFile;
import dev.jseek.gguf.GgufTokenizer;
import dev.jseek.gguf.GgufValue;
import dev.jseek.gguf.GgufWriter;
import dev.jseek.gguf.HfTokenizerMetadata;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pre-tokenizers of DeepSeek-LLM / V2 ("deepseek-llm") and DeepSeek-Coder ("deepseek-coder") against Hugging Face
 * tokenizers (DJL's binding of the Rust library, test scope): a tokenizer.json with DeepSeek-V3's real vocabulary and
 * that family member's pre_tokenizer ({@link FamilyTokenizers}) is encoded by HF and by jseek, twice: jseek loading the
 * tokenizer.json, and jseek reading the GGUF tokenizer metadata that {@link HfTokenizerMetadata} writes for it (the
 * metadata names the pre-tokenizer only, "deepseek-llm"; jseek must rebuild the splits from the name). Ids must be
 * equal on English, JDK sources, CJK, digits, emoji, whitespace, punctuation, added tokens in text, random Unicode
 * and texts aimed at each Split rule. llama.cpp's own splitting of the same names: gguf/LlamaCppTokenizerTest.
 */
class FamilyPreTokenizerTest {

    @ParameterizedTest
    @ValueSource(strings = {"deepseek-llm", "deepseek-coder", "kimi-k2"})
    void sameIdsAsHfFromTokenizerJsonAndFromGguf(String pre, @TempDir Path tmp) throws Exception {
        Path json = FamilyTokenizers.tokenizerJson(tmp.resolve("tok"), pre);
        Tokenizer fromJson = Tokenizer.load(json);
        assertEquals(pre, Tokenizer.preTokenizerName(new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.toFile()).get("pre_tokenizer")));
        GgufWriter w = new GgufWriter();
        HfTokenizerMetadata.write(json, 129280, w);
        w.put("tokenizer.ggml.bos_token_id", GgufValue.u32(0));
        w.put("tokenizer.ggml.eos_token_id", GgufValue.u32(1));
        Path file = tmp.resolve("tok.gguf");
        w.write(file);
        Tokenizer fromGguf;
        try (GgufFile f = GgufFile.open(file)) {
            assertEquals(pre, f.get("tokenizer.ggml.pre").asString());
            fromGguf = GgufTokenizer.read(f);
        }
        assertFalse(fromGguf.hasDeepSeekV3PreTokenizer());

        Tokenizer v3 = TestData.deepseekV3Tokenizer();
        List<String> texts = new ArrayList<>(FamilyTokenizers.targeted());
        texts.addAll(HfParityTest.withLines(ParityCorpus.english(1), 200));
        texts.addAll(ParityCorpus.jdkWindows(30, 2000, 21));
        texts.addAll(ParityCorpus.cjk(v3, 60, 22));
        texts.addAll(ParityCorpus.digits());
        texts.addAll(ParityCorpus.emoji(23));
        texts.addAll(ParityCorpus.whitespace(24));
        texts.addAll(ParityCorpus.punctuationNewlines(25));
        texts.addAll(ParityCorpus.addedTokensInText(26));
        texts.addAll(ParityCorpus.randomUnicode(400, 27));
        long ids = 0;
        int differFromV3 = 0;
        try (HfOracle hf = new HfOracle(json)) {
            for (int i = 0; i < texts.size(); i++) {
                String t = texts.get(i);
                int[] want = hf.encode(t);
                String where = pre + " text #" + i + " " + HfParityTest.escape(t.substring(0, Math.min(80, t.length())));
                assertArrayEquals(want, fromJson.encode(t), "tokenizer.json, " + where);
                assertArrayEquals(want, fromGguf.encode(t), "GGUF, " + where);
                if (!java.util.Arrays.equals(want, v3.encode(t))) differFromV3++;
                ids += want.length;
            }
        }
        System.out.println("FamilyPreTokenizerTest " + pre + ": " + texts.size() + " texts, " + ids + " ids equal to HF; "
                + differFromV3 + " texts split differently from deepseek-v3");
        assertTrue(ids > 30_000, ids + " ids");
        // kimi-k2 and deepseek-v3 split most text alike (letter runs with one leading character, numbers in threes,
        // the same whitespace rules): they part on Han next to kana, marks, contractions, punctuation before a space
        int minDiffer = pre.equals("kimi-k2") ? 50 : texts.size() / 4;
        assertTrue(differFromV3 > minDiffer, "the corpus must tell the pre-tokenizers apart: " + differFromV3);
    }
}
