package dev.jseek.tokenizer;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jseek.ExternalPeers;
import dev.jseek.gguf.Deepseek2Metadata;
import dev.jseek.gguf.GgufFile;
import dev.jseek.gguf.GgufTokenizer;
import dev.jseek.gguf.GgufValue;
import dev.jseek.gguf.GgufWriter;
import dev.jseek.model.ConfigEdits;
import dev.jseek.model.Presets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * llama.cpp's {@code kimi-k2} pre-tokenizer (Kimi-K2, Moonlight) against llama.cpp itself: a GGUF with a Kimi-shaped
 * vocabulary of the test's making ({@link KimiTestVocabulary}: merges learned across pre-tokenizer boundaries, Kimi's
 * special tokens with unused ids between them, {@code tokenizer.ggml.pre} "kimi-k2", BOS [BOS], EOS [EOS]) is loaded
 * vocabulary-only by node-llama-cpp 3.21.1 ({@code tools/llama-tokenize.mjs}), which tokenizes a corpus (English
 * speeches, JDK sources, sentences in 15 languages, Chinese/Japanese text, texts aimed at each rule of the split,
 * whitespace, punctuation, digits, emoji, special tokens inside text, rendered Kimi chat prompts); jseek reading the same
 * file ({@link GgufTokenizer}) must give the same ids on every text, and the same BOS, EOS and end-of-generation ids
 * ({@link Tokenizer#endOfGenerationIds()}). The same vocabulary split as deepseek-v3 must give other ids on many texts
 * (the corpus tells the pre-tokenizers apart). Without node (>= 20) or the package: skipped locally, a failure in CI.
 */
class KimiK2LlamaCppTest {
    @Test
    void llamaCppTokenizesAKimiK2GgufLikeJseek(@TempDir Path tmp) throws Exception {
        Path npm = TestData.npmCache();
        ExternalPeers.require(Files.isRegularFile(npm.resolve("node_modules/node-llama-cpp/package.json"))
                && Files.isDirectory(npm.resolve("node_modules/@node-llama-cpp/linux-x64")), "npm package node-llama-cpp@3.21.1 (linux-x64) is not installed in " + npm);
        String node = TestData.node(npm);
        int major = TestData.nodeMajor(node);
        ExternalPeers.require(major >= 20, "node >= 20 (for node-llama-cpp) is not available: '" + node + "' " + (major == 0 ? "does not run" : "is version " + major));

        List<String> texts = new ArrayList<>(KimiTestVocabulary.MULTILINGUAL);
        texts.addAll(HfParityTest.withLines(ParityCorpus.english(1), 120));
        texts.addAll(ParityCorpus.jdkWindows(20, 1500, 31));
        texts.addAll(ParityCorpus.CJK_SENTENCES_LIST());
        texts.addAll(FamilyTokenizers.targeted());
        texts.addAll(KimiTestVocabulary.targeted(32));
        texts.addAll(KimiTestVocabulary.hanNeighbours());
        texts.addAll(KimiTestVocabulary.unicode16());
        texts.addAll(ParityCorpus.digits());
        texts.addAll(ParityCorpus.emoji(33));
        texts.addAll(ParityCorpus.whitespace(34));
        texts.addAll(ParityCorpus.punctuationNewlines(35));
        KimiTestVocabulary.Vocabulary v = KimiTestVocabulary.train(texts, 6000);

        Path kimi = tmp.resolve("kimi-k2.gguf"), ds3 = tmp.resolve("as-deepseek-v3.gguf");
        Tokenizer ours = write(v, "kimi-k2", kimi), asV3 = write(v, Tokenizer.DEEPSEEK_V3_PRE, ds3);
        assertEquals(v.bos(), ours.bosId());
        assertEquals(v.eos(), ours.eosId());

        Path in = tmp.resolve("texts.json"), err = tmp.resolve("node.err");
        ObjectMapper om = new ObjectMapper();
        om.writeValue(in.toFile(), texts);
        Process p = new ProcessBuilder(node, Path.of("tools/llama-tokenize.mjs").toAbsolutePath().toString(), npm.toString(),
                kimi.toString(), in.toString()).redirectError(err.toFile()).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "node timed out");
        assertEquals(0, p.exitValue(), "llama.cpp failed: " + Files.readString(err));
        JsonNode r = om.readTree(out);
        JsonNode ids = r.get("ids");
        assertEquals(texts.size(), ids.size());
        long compared = 0;
        int differFromV3 = 0;
        for (int i = 0; i < texts.size(); i++) {
            int[] want = new int[ids.get(i).size()];
            for (int j = 0; j < want.length; j++) want[j] = ids.get(i).get(j).asInt();
            String t = texts.get(i);
            int[] got = ours.encode(t, false);
            assertArrayEquals(want, got, "kimi-k2 text #" + i + ": " + HfParityTest.escape(t.substring(0, Math.min(80, t.length())))
                    + "\nllama.cpp " + Arrays.toString(Arrays.copyOf(want, Math.min(24, want.length)))
                    + "\njseek     " + Arrays.toString(Arrays.copyOf(got, Math.min(24, got.length))));
            compared += got.length;
            if (!Arrays.equals(got, asV3.encode(t, false))) differFromV3++;
        }
        System.out.println("KimiK2LlamaCppTest: " + texts.size() + " texts, " + compared + " ids equal to llama.cpp's; "
                + differFromV3 + " texts split differently by deepseek-v3");
        assertTrue(compared > 30_000, compared + " ids");
        assertTrue(differFromV3 > texts.size() / 4, "the corpus must tell kimi-k2 from deepseek-v3: " + differFromV3 + " of " + texts.size());

        assertEquals(v.bos(), r.get("bos").asInt(), "llama.cpp's BOS");
        assertEquals(v.eos(), r.get("eos").asInt(), "llama.cpp's EOS");
        int[] eog = new int[r.get("eog").size()];
        for (int i = 0; i < eog.length; i++) eog[i] = r.get("eog").get(i).asInt();
        assertArrayEquals(eog, ours.endOfGenerationIds(), "end-of-generation ids (llama.cpp's first)");
    }

    /** Writes the vocabulary as a deepseek2 GGUF naming {@code pre} and reads jseek's tokenizer back from it. */
    static Tokenizer write(KimiTestVocabulary.Vocabulary v, String pre, Path file) throws Exception {
        GgufWriter w = new GgufWriter();
        Deepseek2Metadata.write(ConfigEdits.withVocabSize(Presets.get("tiny"), v.tokens().size()), 0, w);
        w.put("tokenizer.ggml.model", GgufValue.string("gpt2"));
        w.put("tokenizer.ggml.pre", GgufValue.string(pre));
        w.put("tokenizer.ggml.tokens", GgufValue.stringArray(v.tokens()));
        w.put("tokenizer.ggml.token_type", GgufValue.i32Array(v.types()));
        w.put("tokenizer.ggml.merges", GgufValue.stringArray(v.merges()));
        w.put("tokenizer.ggml.bos_token_id", GgufValue.u32(v.bos()));
        w.put("tokenizer.ggml.eos_token_id", GgufValue.u32(v.eos()));
        w.put("tokenizer.ggml.add_bos_token", GgufValue.bool(false));
        w.write(file);
        try (GgufFile f = GgufFile.open(file)) {
            return GgufTokenizer.read(f);
        }
    }
}
