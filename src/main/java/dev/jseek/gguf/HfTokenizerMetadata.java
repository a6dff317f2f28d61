package dev.jseek.gguf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jseek.io.FormatException;
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
 * {@code tokenizer.ggml.pre} = "deepseek-v3" (llama.cpp's name for DeepSeek-V3's pre-tokenizer regexes),
 * {@code tokenizer.ggml.tokens} (the byte-level token strings, index = id, {@code vocabSize} entries; ids the
 * tokenizer lacks become "[PAD<id>]"), {@code tokenizer.ggml.token_type} (INT32: 1 normal, 3 control = special
 * added token, 4 user-defined = other added token, 5 unused = padding) and {@code tokenizer.ggml.merges} ("a b").
 * BOS/EOS ids are written by {@link Deepseek2Metadata} from the model config.
 *
 * <p>Unsure: llama.cpp picks the pre-tokenizer by name, so "deepseek-v3" is right for DeepSeek-V3's tokenizer but a
 * jseek-trained tokenizer with other split regexes would be pre-tokenized by llama.cpp with DeepSeek-V3's.
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
        w.put("tokenizer.ggml.model", GgufValue.string("gpt2"));
        w.put("tokenizer.ggml.pre", GgufValue.string("deepseek-v3"));
        w.put("tokenizer.ggml.tokens", GgufValue.stringArray(Arrays.asList(tokens)));
        w.put("tokenizer.ggml.token_type", GgufValue.i32Array(types));
        w.put("tokenizer.ggml.merges", GgufValue.stringArray(merges));
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
