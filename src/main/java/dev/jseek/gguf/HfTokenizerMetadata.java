package dev.jseek.gguf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jseek.io.FormatException;
import dev.jseek.tokenizer.ChatTemplate;
import dev.jseek.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face byte-level BPE {@code tokenizer.json} (DeepSeek-V3's, or one jseek trained) as llama.cpp tokenizer
 * metadata, the way llama.cpp's converter writes a "gpt2"-type vocabulary: {@code tokenizer.ggml.model} = "gpt2",
 * {@code tokenizer.ggml.pre} = llama.cpp's name for its pre-tokenizer regexes ("deepseek-v3", or "deepseek-llm" /
 * "deepseek-coder" for a DeepSeek-V2 / Coder tokenizer.json, {@link Tokenizer#preTokenizerName}),
 * {@code tokenizer.ggml.tokens} (the byte-level token strings, index = id, {@code vocabSize} entries; ids the
 * tokenizer lacks become "[PAD<id>]"), {@code tokenizer.ggml.token_type} (INT32: 1 normal, 3 control = special
 * added token, 4 user-defined = other added token, 5 unused = padding) and {@code tokenizer.ggml.merges} ("a b").
 * BOS/EOS ids are written by {@link Deepseek2Metadata} from the model config. Also {@code tokenizer.ggml.add_bos_token}
 * (tokenizer_config.json's add_bos_token, false without one) and {@code tokenizer.chat_template}: the tokenizer's
 * own chat_template, else DeepSeek-V3's (the template jseek renders for a tokenizer without one), so the file alone is
 * enough to chat ({@link GgufTokenizer} reads it all back).
 *
 * <p>llama.cpp picks the pre-tokenizer by name, so a tokenizer.json whose pre-tokenizer is none of those (jseek's
 * trained tokenizers use DeepSeek-V3's) is refused rather than mislabelled.
 */
public final class HfTokenizerMetadata {
    private HfTokenizerMetadata() {}

    public static final int NORMAL = 1, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5;

    /** Adds the tokenizer keys of {@code tokenizerJson} for a model of {@code vocabSize} ids. */
    public static void write(Path tokenizerJson, int vocabSize, GgufWriter w) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readAllBytes(tokenizerJson));
        } catch (IOException e) {
            throw new FormatException(tokenizerJson + ": cannot read as JSON: " + e.getMessage(), e);
        }
        JsonNode model = root.path("model");
        if (!"BPE".equals(model.path("type").asText("BPE")) || !model.path("vocab").isObject())
            throw new FormatException(tokenizerJson + ": model must be a BPE model with a 'vocab' object");
        String[] tokens = new String[vocabSize];
        int[] types = new int[vocabSize];
        for (Map.Entry<String, JsonNode> e : model.path("vocab").properties()) put(tokenizerJson, tokens, types, e.getValue(), e.getKey(), NORMAL);
        for (JsonNode a : root.path("added_tokens"))
            put(tokenizerJson, tokens, types, a.path("id"), a.path("content").asText(), a.path("special").asBoolean(false) ? CONTROL : USER_DEFINED);
        for (int i = 0; i < vocabSize; i++) {
            if (tokens[i] == null) {
                tokens[i] = "[PAD" + i + "]";
                types[i] = UNUSED;
            }
        }
        List<String> merges = new ArrayList<>();
        for (JsonNode m : model.path("merges")) {
            if (m.isTextual()) merges.add(m.asText());
            else if (m.isArray() && m.size() == 2) merges.add(m.get(0).asText() + " " + m.get(1).asText());
            else throw new FormatException(tokenizerJson + ": model.merges entry " + m + " is neither \"a b\" nor [a, b]");
        }
        String pre = Tokenizer.preTokenizerName(root.get("pre_tokenizer"));
        if (pre == null)
            throw new FormatException(tokenizerJson + ": pre_tokenizer is none of the DeepSeek family's (" + Tokenizer.knownPreTokenizers()
                    + ": their Split stages, then ByteLevel without regex); GGUF names the pre-tokenizer, and jseek writes only those (export with --no-tokenizer)");
        w.put("tokenizer.ggml.model", GgufValue.string("gpt2"));
        w.put("tokenizer.ggml.pre", GgufValue.string(pre));
        w.put("tokenizer.ggml.tokens", GgufValue.stringArray(Arrays.asList(tokens)));
        w.put("tokenizer.ggml.token_type", GgufValue.i32Array(types));
        w.put("tokenizer.ggml.merges", GgufValue.stringArray(merges));
        JsonNode cfg = tokenizerConfig(tokenizerJson);
        w.put("tokenizer.ggml.add_bos_token", GgufValue.bool(cfg != null && cfg.path("add_bos_token").asBoolean(false)));
        String template = cfg != null && cfg.path("chat_template").isTextual() ? cfg.get("chat_template").asText() : null;
        w.put("tokenizer.chat_template", GgufValue.string(template != null ? template : ChatTemplate.DEEPSEEK_V3));
    }

    /** The tokenizer_config.json beside {@code tokenizerJson}, or null when there is none. */
    private static JsonNode tokenizerConfig(Path tokenizerJson) {
        Path c = tokenizerJson.toAbsolutePath().resolveSibling("tokenizer_config.json");
        if (!Files.isRegularFile(c)) return null;
        try {
            return new ObjectMapper().readTree(Files.readAllBytes(c));
        } catch (IOException e) {
            throw new FormatException(c + ": cannot read as JSON: " + e.getMessage(), e);
        }
    }

    private static void put(Path file, String[] tokens, int[] types, JsonNode id, String token, int type) {
        if (!id.canConvertToInt() || id.asInt() < 0)
            throw new FormatException(file + ": token '" + token + "' has id " + id + ", not a non-negative integer");
        int i = id.asInt();
        if (i >= tokens.length)
            throw new FormatException(file + ": token '" + token + "' has id " + i + ", outside the model's vocabulary 0.." + (tokens.length - 1));
        tokens[i] = token;
        types[i] = type;
    }
}
