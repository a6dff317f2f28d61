package dev.jseek.gguf;

import dev.jseek.io.FormatException;
import dev.jseek.tokenizer.Tokenizer;
import dev.jseek.tokenizer.TokenizerFormatException;
import java.util.ArrayList;
import java.util.List;

/**
 * The tokenizer and chat template a GGUF file carries in its metadata (what {@link HfTokenizerMetadata} writes and
 * llama.cpp's converter writes for the DeepSeek family): {@code tokenizer.ggml.model} "gpt2", {@code tokenizer.ggml.pre}
 * "deepseek-v3" (V3, R1), "deepseek-llm" (V2, V2-Lite, V2.5, Coder-V2), "deepseek-coder" (Coder 1.x) or "kimi-k2"
 * (Kimi-K2, Moonlight: their tiktoken vocabularies as llama.cpp's converter writes them, byte-level BPE),
 * {@code tokenizer.ggml.tokens}, {@code tokenizer.ggml.token_type}, {@code tokenizer.ggml.merges},
 * {@code tokenizer.ggml.bos_token_id} / {@code eos_token_id}, {@code tokenizer.ggml.add_bos_token} and
 * {@code tokenizer.chat_template}. With it a .gguf alone is enough to chat ({@link Tokenizer#fromVocabulary}; the
 * template is rendered when it is one jseek knows, see {@code dev.jseek.tokenizer.ChatTemplate}). Other
 * pre-tokenizers are refused with a message naming the file, the key and the names jseek reads.
 */
public final class GgufTokenizer {
    private GgufTokenizer() {}

    /** True when {@code f} holds a vocabulary ({@code tokenizer.ggml.model} present and not "none"). */
    public static boolean present(GgufFile f) {
        GgufValue m = f.get("tokenizer.ggml.model");
        return m != null && m.type() == GgufValueType.STRING && !m.asString().equals("none") && f.get("tokenizer.ggml.tokens") != null;
    }

    /** The tokenizer of {@code f} (see the class comment); {@link FormatException} naming the file and key for what jseek cannot read. */
    public static Tokenizer read(GgufFile f) {
        String model = string(f, "tokenizer.ggml.model", true);
        if (!model.equals("gpt2"))
            throw new FormatException(f.path() + ": tokenizer.ggml.model is '" + model + "'; jseek reads byte-level BPE vocabularies ('gpt2') only; pass --tokenizer tokenizer.json");
        String pre = string(f, "tokenizer.ggml.pre", false);
        if (pre == null || !Tokenizer.knowsPreTokenizer(pre))
            throw new FormatException(f.path() + ": tokenizer.ggml.pre is " + (pre == null ? "absent" : "'" + pre + "'") + "; jseek splits text with the "
                    + "DeepSeek family's pre-tokenizers (" + Tokenizer.knownPreTokenizers() + ") only; pass --tokenizer tokenizer.json");
        List<String> tokens = strings(f, "tokenizer.ggml.tokens");
        List<String> merges = f.get("tokenizer.ggml.merges") == null ? List.of() : strings(f, "tokenizer.ggml.merges");
        int[] types = new int[tokens.size()];
        GgufValue tt = f.get("tokenizer.ggml.token_type");
        if (tt == null) java.util.Arrays.fill(types, 1);
        else {
            List<GgufValue> l = array(f, "tokenizer.ggml.token_type", tt);
            if (l.size() != tokens.size())
                throw new FormatException(f.path() + ": tokenizer.ggml.token_type has " + l.size() + " entries, tokenizer.ggml.tokens " + tokens.size());
            for (int i = 0; i < types.length; i++) {
                GgufValue v = l.get(i);
                if (!v.type().isInteger()) throw new FormatException(f.path() + ": tokenizer.ggml.token_type[" + i + "] is " + v.type() + ", not an integer");
                types[i] = (int) v.asLong();
            }
        }
        int bos = id(f, "tokenizer.ggml.bos_token_id"), eos = id(f, "tokenizer.ggml.eos_token_id");
        GgufValue addBos = f.get("tokenizer.ggml.add_bos_token");
        if (addBos != null && addBos.type() != GgufValueType.BOOL)
            throw new FormatException(f.path() + ": tokenizer.ggml.add_bos_token must be a BOOL, got " + addBos.type() + " " + addBos.display(4));
        String template = string(f, "tokenizer.chat_template", false);
        try {
            return Tokenizer.fromVocabulary(f.path(), tokens, types, merges, bos, eos, addBos != null && addBos.asBool(), template, pre);
        } catch (TokenizerFormatException e) {
            throw new FormatException(f.path() + ": the tokenizer.ggml.* vocabulary is unusable: " + e.getMessage(), e);
        }
    }

    private static String string(GgufFile f, String key, boolean required) {
        GgufValue v = f.get(key);
        if (v == null) {
            if (required) throw new FormatException(f.path() + ": metadata key '" + key + "' is missing (required)");
            return null;
        }
        if (v.type() != GgufValueType.STRING) throw new FormatException(f.path() + ": metadata key '" + key + "' must be a STRING, got " + v.type() + " " + v.display(4));
        return v.asString();
    }

    private static List<GgufValue> array(GgufFile f, String key, GgufValue v) {
        if (v.type() != GgufValueType.ARRAY) throw new FormatException(f.path() + ": metadata key '" + key + "' must be an ARRAY, got " + v.type() + " " + v.display(4));
        return v.asList();
    }

    private static List<String> strings(GgufFile f, String key) {
        GgufValue v = f.get(key);
        if (v == null) throw new FormatException(f.path() + ": metadata key '" + key + "' is missing (required)");
        List<GgufValue> l = array(f, key, v);
        List<String> out = new ArrayList<>(l.size());
        for (int i = 0; i < l.size(); i++) {
            if (l.get(i).type() != GgufValueType.STRING) throw new FormatException(f.path() + ": " + key + "[" + i + "] is " + l.get(i).type() + ", not a STRING");
            out.add(l.get(i).asString());
        }
        return out;
    }

    private static int id(GgufFile f, String key) {
        GgufValue v = f.get(key);
        if (v == null) return -1;
        if (!v.type().isInteger() || v.asLong() < 0 || v.asLong() > Integer.MAX_VALUE)
            throw new FormatException(f.path() + ": metadata key '" + key + "' must be a token id, got " + v.type() + " " + v.display(4));
        return (int) v.asLong();
    }
}
