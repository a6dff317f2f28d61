package dev.jseek.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Malformed or unsupported tokenizer files give an error naming the file, the field and the value. */
class TokenizerLoaderTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir Path tmp;

    /** A minimal valid byte-level BPE tokenizer.json: 256 byte symbols, one merge "Ġ t", one added token. */
    static ObjectNode minimal() {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        ArrayNode added = root.putArray("added_tokens");
        added.addObject().put("id", 257).put("content", "<s>").put("special", true).put("normalized", false);
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "ByteLevel").put("add_prefix_space", false).put("use_regex", true);
        root.putObject("decoder").put("type", "ByteLevel");
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        ObjectNode vocab = model.putObject("vocab");
        for (int b = 0; b < 256; b++) vocab.put(String.valueOf(ByteLevel.byteToChar(b)), b);
        vocab.put("Ġt", 256);
        model.putArray("merges").add("Ġ t");
        return root;
    }

    Path write(String name, ObjectNode root) throws Exception {
        Path p = tmp.resolve(name);
        Files.writeString(p, JSON.writeValueAsString(root));
        return p;
    }

    void fails(String name, Consumer<ObjectNode> edit, String... fragments) throws Exception {
        ObjectNode root = minimal();
        edit.accept(root);
        Path p = write(name + ".json", root);
        TokenizerFormatException e = assertThrows(TokenizerFormatException.class, () -> Tokenizer.load(p));
        assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + f + "' missing in: " + e.getMessage());
    }

    @Test void minimalLoadsAndEncodes() throws Exception {
        Tokenizer t = Tokenizer.load(write("ok.json", minimal()));
        assertEquals(258, t.vocabSize());
        int[] ids = t.encode(" t t<s>");
        assertEquals("[256, 256, 257]", java.util.Arrays.toString(ids));
        assertEquals(-1, t.bosId());
    }

    @Test void badContentIsNamed() throws Exception {
        fails("normalizer", r -> r.putObject("normalizer").put("type", "NFKC"), "'normalizer'", "NFKC");
        fails("model_type", r -> ((ObjectNode) r.get("model")).put("type", "WordPiece"), "'model.type'", "WordPiece");
        fails("dropout", r -> ((ObjectNode) r.get("model")).put("dropout", 0.1), "'model.dropout'", "0.1");
        fails("prefix", r -> ((ObjectNode) r.get("model")).put("continuing_subword_prefix", "##"), "continuing_subword_prefix", "##");
        fails("merge_oov", r -> ((ArrayNode) r.get("model").get("merges")).add("Ġ zz"), "'model.merges[1]'", "zz");
        fails("merge_shape", r -> ((ArrayNode) r.get("model").get("merges")).add("a b c"), "'model.merges[1]'", "a b c");
        fails("merge_type", r -> ((ArrayNode) r.get("model").get("merges")).add(5), "'model.merges[1]'", "5");
        fails("vocab_id", r -> ((ObjectNode) r.get("model").get("vocab")).put("x", "seven"), "model.vocab[\"x\"]", "seven");
        fails("no_model", r -> r.remove("model"), "'model'");
        fails("huge_id", r -> ((ObjectNode) r.get("model").get("vocab")).put("x", 2_000_000_000), "model.vocab[\"x\"]", "2000000000");
        fails("pre_type", r -> r.putObject("pre_tokenizer").put("type", "Whitespace"), "'pre_tokenizer.type'", "Whitespace");
        fails("no_bytelevel", r -> {
            ObjectNode seq = r.putObject("pre_tokenizer");
            seq.put("type", "Sequence");
            seq.putArray("pretokenizers").addObject().put("type", "Split").put("behavior", "Isolated")
                    .putObject("pattern").put("Regex", "\\s+");
        }, "no ByteLevel");
        fails("behavior", r -> {
            ObjectNode seq = r.putObject("pre_tokenizer");
            seq.put("type", "Sequence");
            ArrayNode l = seq.putArray("pretokenizers");
            l.addObject().put("type", "Split").put("behavior", "Removed").putObject("pattern").put("Regex", "\\s+");
            l.addObject().put("type", "ByteLevel");
        }, "'pre_tokenizer.pretokenizers[0].behavior'", "Removed");
        fails("regex", r -> {
            ObjectNode seq = r.putObject("pre_tokenizer");
            seq.put("type", "Sequence");
            ArrayNode l = seq.putArray("pretokenizers");
            l.addObject().put("type", "Split").put("behavior", "Isolated").putObject("pattern").put("Regex", "\\h+");
            l.addObject().put("type", "ByteLevel");
        }, "'pre_tokenizer.pretokenizers[0].pattern.Regex'", "\\h");
        fails("decoder", r -> r.putObject("decoder").put("type", "WordPiece"), "'decoder'", "WordPiece");
        fails("version", r -> r.put("version", "2.0"), "'version'", "2.0");
        fails("added", r -> ((ArrayNode) r.get("added_tokens")).addObject().put("id", 3), "'added_tokens[1].content'");
    }

    @Test void notJsonIsNamed() throws Exception {
        Path p = tmp.resolve("broken.json");
        Files.writeString(p, "{\"version\": \"1.0\", \"model\": {");
        TokenizerFormatException e = assertThrows(TokenizerFormatException.class, () -> Tokenizer.load(p));
        assertTrue(e.getMessage().contains(p.toString()) && e.getMessage().contains("not valid JSON"), e.getMessage());
    }

    /** issue 10 §9: Jackson's limits (nesting, number length) are errors without a location: one line, no NPE. */
    @Test void jsonBeyondTheParsersLimitsIsNamed() throws Exception {
        Path deep = tmp.resolve("deep.json");
        Files.writeString(deep, "{\"version\": \"1.0\", \"x\": " + "[".repeat(1200) + "]".repeat(1200) + "}");
        TokenizerFormatException e = assertThrows(TokenizerFormatException.class, () -> Tokenizer.load(deep));
        assertTrue(e.getMessage().startsWith(deep + ": not valid JSON: ") && e.getMessage().contains("depth"), e.getMessage());
        Path digits = tmp.resolve("digits.json");
        Files.writeString(digits, "{\"version\": \"1.0\", \"x\": " + "7".repeat(1200) + "}");
        e = assertThrows(TokenizerFormatException.class, () -> Tokenizer.load(digits));
        assertTrue(e.getMessage().startsWith(digits + ": not valid JSON: ") && e.getMessage().contains("1200"), e.getMessage());
    }

    @Test void configTokenMustExist() throws Exception {
        Path dir = tmp.resolve("withcfg");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("tokenizer.json"), JSON.writeValueAsString(minimal()));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": \"<nope>\"}");
        TokenizerFormatException e = assertThrows(TokenizerFormatException.class, () -> Tokenizer.load(dir));
        assertTrue(e.getMessage().contains("tokenizer_config.json") && e.getMessage().contains("bos_token")
                && e.getMessage().contains("<nope>"), e.getMessage());
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": {\"content\": \"<s>\"}, \"add_bos_token\": true}");
        Tokenizer t = Tokenizer.load(dir);
        assertEquals(257, t.bosId());
        assertTrue(t.addBosByDefault());
        assertEquals(257, t.encode("x", true)[0]);
    }

    @Test void deepseekConfigPadIsEos() throws Exception {
        Tokenizer t = TestData.deepseekV3Tokenizer();
        assertEquals(1, t.padId()); // tokenizer_config.json: pad_token = <｜end▁of▁sentence｜>
        assertEquals(128815, t.vocabSize());
        assertEquals(127741, t.mergeCount());
        assertEquals(128800, t.fimHoleId());
        assertEquals(128801, t.fimBeginId());
        assertEquals(128802, t.fimEndId());
        assertTrue(t.addBosByDefault());
        assertTrue(t.isSpecial(0) && t.isSpecial(128805) && !t.isSpecial(128803));
    }
}
