package dev.jseek.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The tokenizer.json features beyond DeepSeek-V3's, each checked against HF tokenizers: ByteLevel with use_regex
 * (GPT-2 pattern) with and without add_prefix_space, merges as [a, b] arrays, ignore_merges, a Split with a
 * String pattern, a Llama-3 style regex with (?i:), and added tokens with lstrip / rstrip / single_word.
 */
class TokenizerVariantsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir static Path tmp;
    static ObjectNode base;
    static List<String> texts;

    @BeforeAll static void trainBase() throws Exception {
        Path f = tmp.resolve("corpus.txt");
        Files.writeString(f, String.join("\n", ParityCorpus.jdkSources(15)) + String.join("\n", ParityCorpus.english(1)));
        Path out = tmp.resolve("base.json");
        BpeTrainer.train(new TrainingCorpus(f, null, Long.MAX_VALUE), new BpeTrainer.Options(1500, 2, 2, null), out);
        base = (ObjectNode) JSON.readTree(out.toFile());
        texts = new ArrayList<>(ParityCorpus.jdkWindows(40, 2000, 53));
        texts.addAll(ParityCorpus.whitespace(51));
        texts.addAll(ParityCorpus.randomUnicode(300, 52));
        texts.addAll(ParityCorpus.digits());
        texts.addAll(List.of("I'm here, you're there; it's THEIR'S", "Hello <mask> world", "a  <mask>b", "[SEP]  x",
                "word words sword word.", "<mask><mask> [SEP][SEP]", "  leading", "x\n\ny", "AbcDEF don'T",
                "line one  \nline two\t\n  three\r\nfour  \u2028five \u2029six\u0085seven  ", "ab\ncd\n\nef12gh\n"));
    }

    void check(String name, Consumer<ObjectNode> edit) throws Exception {
        ObjectNode v = base.deepCopy();
        edit.accept(v);
        Path p = tmp.resolve(name + ".json");
        Files.writeString(p, JSON.writeValueAsString(v));
        Tokenizer ours = Tokenizer.load(p);
        try (HfOracle hf = new HfOracle(p)) {
            int[][] expected = hf.encodeBatch(texts);
            for (int i = 0; i < texts.size(); i++) {
                assertArrayEquals(expected[i], ours.encode(texts.get(i)), name + ": text #" + i + " " + texts.get(i));
            }
        }
    }

    static ObjectNode byteLevel(boolean addPrefixSpace, boolean useRegex) {
        ObjectNode b = JSON.createObjectNode();
        b.put("type", "ByteLevel");
        b.put("add_prefix_space", addPrefixSpace);
        b.put("trim_offsets", true);
        b.put("use_regex", useRegex);
        return b;
    }

    static ObjectNode split(String kind, String pattern) {
        ObjectNode s = JSON.createObjectNode();
        s.put("type", "Split");
        s.putObject("pattern").put(kind, pattern);
        s.put("behavior", "Isolated");
        s.put("invert", false);
        return s;
    }

    @Test void gpt2ByteLevelRegex() throws Exception {
        check("gpt2", v -> v.set("pre_tokenizer", byteLevel(false, true)));
    }

    @Test void gpt2ByteLevelRegexWithPrefixSpace() throws Exception {
        check("gpt2prefix", v -> v.set("pre_tokenizer", byteLevel(true, true)));
    }

    @Test void mergesAsArraysAndIgnoreMerges() throws Exception {
        check("arrays", v -> {
            ObjectNode m = (ObjectNode) v.get("model");
            ArrayNode arr = JSON.createArrayNode();
            for (var e : m.get("merges")) {
                String[] ab = e.asText().split(" ");
                arr.addArray().add(ab[0]).add(ab[1]);
            }
            m.set("merges", arr);
            m.put("ignore_merges", true);
        });
    }

    @Test void stringSplitAndLlama3Regex() throws Exception {
        check("llama3", v -> {
            ObjectNode seq = JSON.createObjectNode();
            seq.put("type", "Sequence");
            ArrayNode list = seq.putArray("pretokenizers");
            list.add(split("String", "\n"));
            list.add(split("Regex", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"));
            list.add(byteLevel(false, false));
            v.set("pre_tokenizer", seq);
        });
    }

    /** Oniguruma's {@code $} and {@code ^} (Ruby syntax: end / start of any line, at "\n") where Java's would differ. */
    @Test void lineAnchorsAndDigitsStages() throws Exception {
        check("anchors", v -> {
            ObjectNode seq = JSON.createObjectNode();
            seq.put("type", "Sequence");
            ArrayNode list = seq.putArray("pretokenizers");
            list.add(split("Regex", "\\s+$"));
            list.add(split("Regex", "^\\p{L}+"));
            list.add(split("Regex", "[a-z]+$"));
            list.add(JSON.createObjectNode().put("type", "Digits").put("individual_digits", true));
            list.add(byteLevel(false, false));
            v.set("pre_tokenizer", seq);
        });
    }

    @Test void addedTokensWithStripAndSingleWord() throws Exception {
        check("added", v -> {
            ArrayNode added = (ArrayNode) v.get("added_tokens");
            added.addObject().put("id", 1500).put("content", "<mask>").put("single_word", false).put("lstrip", true)
                    .put("rstrip", false).put("normalized", false).put("special", true);
            added.addObject().put("id", 1501).put("content", "[SEP]").put("single_word", false).put("lstrip", false)
                    .put("rstrip", true).put("normalized", true).put("special", true);
            added.addObject().put("id", 1502).put("content", "word").put("single_word", true).put("lstrip", false)
                    .put("rstrip", false).put("normalized", true).put("special", false);
        });
        // ids of tokens appended after the model vocabulary follow HF's assignment
        ObjectNode v = base.deepCopy();
        assertEquals(1500, v.get("model").get("vocab").size());
    }
}
