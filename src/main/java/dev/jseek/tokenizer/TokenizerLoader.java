package dev.jseek.tokenizer;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a Hugging Face {@code tokenizer.json} of the byte-level BPE kind (docs/architecture.md §7.8) and the optional
 * {@code tokenizer_config.json} next to it. Supported: {@code normalizer} null or an empty Sequence;
 * {@code pre_tokenizer} a ByteLevel, or a Sequence of Split stages (Regex or String pattern, behavior Isolated,
 * invert false) and Digits stages ending with ByteLevel; {@code model} BPE (merges as "a b" strings or [a, b] arrays, rank = order,
 * {@code ignore_merges}); {@code decoder} ByteLevel; {@code added_tokens}. The {@code post_processor},
 * {@code truncation} and {@code padding} fields are ignored ({@link Tokenizer#encode(String, boolean)} decides about
 * BOS). Anything else is rejected with a {@link TokenizerFormatException} naming the file and field.
 */
final class TokenizerLoader {
    private TokenizerLoader() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Ids must be below this (2^24; real vocabularies have at most a few hundred thousand), bounding allocations. */
    static final int MAX_ID = 1 << 24;

    static Tokenizer load(Path path) throws IOException {
        Path file = Files.isDirectory(path) ? path.resolve("tokenizer.json") : path;
        if (!Files.isRegularFile(file)) throw new java.nio.file.NoSuchFileException(file.toString(), null, "no tokenizer.json");
        ObjectNode root = JSON.createObjectNode();
        RawModel raw = null;
        try (JsonParser p = JSON.getFactory().createParser(file.toFile())) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw new TokenizerFormatException(file + ": not a JSON object");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                p.nextToken();
                if (name.equals("model") && p.currentToken() == JsonToken.START_OBJECT) {
                    raw = readModel(file, p);
                } else {
                    root.set(name, p.readValueAsTree());
                }
            }
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new TokenizerFormatException(file + ": not valid JSON: " + e.getOriginalMessage()
                    + (e.getLocation() != null ? " at line " + e.getLocation().getLineNr() : ""));
        }
        Path config = file.resolveSibling("tokenizer_config.json");
        JsonNode cfg = null;
        if (Files.isRegularFile(config)) {
            try {
                cfg = JSON.readTree(config.toFile());
            } catch (com.fasterxml.jackson.core.JacksonException e) {
                throw new TokenizerFormatException(config + ": not valid JSON: " + e.getOriginalMessage());
            }
        }
        return build(file, root, raw, config, cfg);
    }

    /** The model object, read by streaming: vocab and merges without building a JSON tree for them. */
    record RawModel(ObjectNode meta, Map<String, Integer> vocab, List<String[]> merges) {}

    private static RawModel readModel(Path file, JsonParser p) throws IOException {
        ObjectNode meta = JSON.createObjectNode();
        Map<String, Integer> vocab = null;
        List<String[]> merges = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken t = p.nextToken();
            if (name.equals("vocab") && t == JsonToken.START_OBJECT) {
                vocab = new HashMap<>(1 << 18);
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String tok = p.currentName();
                    JsonToken v = p.nextToken();
                    long id = v == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : -1;
                    if (id < 0 || id >= MAX_ID) {
                        throw TokenizerFormatException.field(file, "model.vocab[\"" + tok + "\"]",
                                "id must be an integer in 0.." + (MAX_ID - 1) + ", got "
                                + (v == JsonToken.VALUE_NUMBER_INT ? String.valueOf(id) : p.readValueAsTree().toString()));
                    }
                    vocab.put(tok, (int) id);
                }
            } else if (name.equals("merges") && t == JsonToken.START_ARRAY) {
                merges = new ArrayList<>(1 << 17);
                while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
                    int r = merges.size();
                    if (t == JsonToken.VALUE_STRING) {
                        String[] parts = p.getText().split(" ", -1);
                        if (parts.length != 2) {
                            throw TokenizerFormatException.field(file, "model.merges[" + r + "]", "expected \"left right\", got \"" + p.getText() + "\"");
                        }
                        merges.add(parts);
                    } else if (t == JsonToken.START_ARRAY) {
                        JsonNode arr = p.readValueAsTree();
                        if (arr.size() != 2 || !arr.get(0).isTextual() || !arr.get(1).isTextual()) {
                            throw TokenizerFormatException.field(file, "model.merges[" + r + "]", "expected [left, right], got " + arr);
                        }
                        merges.add(new String[] {arr.get(0).asText(), arr.get(1).asText()});
                    } else {
                        throw TokenizerFormatException.field(file, "model.merges[" + r + "]",
                                "expected \"left right\" or [left, right], got " + p.readValueAsTree());
                    }
                }
            } else {
                meta.set(name, p.readValueAsTree());
            }
        }
        return new RawModel(meta, vocab, merges);
    }

    static Tokenizer build(Path file, JsonNode root, RawModel raw, Path configFile, JsonNode cfg) {
        JsonNode version = root.get("version");
        if (version != null && !version.isNull() && !"1.0".equals(version.asText())) {
            throw TokenizerFormatException.field(file, "version", "unsupported tokenizer.json version " + version);
        }
        checkNormalizer(file, root.get("normalizer"));
        if (raw == null) throw TokenizerFormatException.field(file, "model", "missing or not an object");
        BpeModel model = parseModel(file, raw);
        PreTokenizer pre = parsePreTokenizer(file, root.get("pre_tokenizer"));
        checkDecoder(file, root.get("decoder"));
        AddedVocabulary added = parseAdded(file, root.get("added_tokens"), model);
        Map<String, String> roles = parseConfig(configFile, cfg);
        boolean addBos = cfg != null && cfg.path("add_bos_token").asBoolean(false);
        return new Tokenizer(file, model, pre, added, roles, addBos, chatTemplate(configFile, cfg));
    }

    /** tokenizer_config.json's chat_template: a string, or the "default" entry of a list of named templates; else null. */
    private static String chatTemplate(Path file, JsonNode cfg) {
        JsonNode t = cfg == null ? null : cfg.get("chat_template");
        if (t == null || t.isNull()) return null;
        if (t.isTextual()) return t.asText();
        if (t.isArray()) {
            for (JsonNode e : t) if ("default".equals(e.path("name").asText()) && e.path("template").isTextual()) return e.get("template").asText();
            return null;
        }
        throw TokenizerFormatException.field(file, "chat_template", "expected a string or a list of {name, template}, got " + describe(t));
    }

    /** GGUF token types (llama.cpp's llama_token_type). */
    static final int NORMAL = 1, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5;

    /** See {@link Tokenizer#fromVocabulary}: builds what a tokenizer.json with the same content would give. */
    static Tokenizer fromVocabulary(Path source, List<String> tokens, int[] types, List<String> merges, int bosId, int eosId,
                                    boolean addBos, String chatTemplate, NamedPreTokenizer pre) {
        if (tokens.size() != types.length)
            throw new TokenizerFormatException(source + ": " + tokens.size() + " tokens but " + types.length + " token types");
        if (tokens.size() > MAX_ID) throw new TokenizerFormatException(source + ": " + tokens.size() + " tokens exceed " + MAX_ID);
        Map<String, Integer> vocab = new HashMap<>(tokens.size() * 2);
        List<AddedVocabulary.AddedToken> added = new ArrayList<>();
        for (int id = 0; id < tokens.size(); id++) {
            String t = tokens.get(id);
            if (t == null) throw new TokenizerFormatException(source + ": token " + id + " is null");
            if (types[id] == UNUSED) continue;
            vocab.putIfAbsent(t, id); // added tokens too: HF's model vocab holds the ones the merges can produce
            if (types[id] == CONTROL || types[id] == USER_DEFINED) {
                boolean special = types[id] == CONTROL;
                added.add(new AddedVocabulary.AddedToken(id, t, special, !special, false, false, false));
            }
        }
        List<String[]> pairs = new ArrayList<>(merges.size());
        for (int r = 0; r < merges.size(); r++) {
            String[] parts = merges.get(r).split(" ", -1);
            if (parts.length != 2)
                throw TokenizerFormatException.field(source, "merges[" + r + "]", "expected \"left right\", got \"" + merges.get(r) + "\"");
            pairs.add(parts);
        }
        ObjectNode meta = JSON.createObjectNode().put("type", "BPE");
        BpeModel model = parseModel(source, new RawModel(meta, vocab, pairs));
        Map<String, String> roles = new HashMap<>();
        if (bosId >= 0) roles.put("bos_token", tokenAt(source, tokens, bosId, "bos_token_id"));
        if (eosId >= 0) roles.put("eos_token", tokenAt(source, tokens, eosId, "eos_token_id"));
        return new Tokenizer(source, model, pre.build(), new AddedVocabulary(added), roles, addBos, chatTemplate);
    }

    private static String tokenAt(Path source, List<String> tokens, int id, String what) {
        if (id >= tokens.size()) throw TokenizerFormatException.field(source, what, id + " is outside the " + tokens.size() + " tokens");
        return tokens.get(id);
    }

    static boolean isDeepSeekV3(JsonNode p) { return NamedPreTokenizer.of(p) == NamedPreTokenizer.DEEPSEEK_V3; }

    private static void checkNormalizer(Path file, JsonNode n) {
        if (n == null || n.isNull()) return;
        String type = n.path("type").asText("");
        if (type.equals("Sequence") && n.path("normalizers").isArray() && n.path("normalizers").isEmpty()) return;
        throw TokenizerFormatException.field(file, "normalizer", "unsupported normalizer " + describe(n)
                + " (jseek supports only null or an empty Sequence)");
    }

    private static void checkDecoder(Path file, JsonNode d) {
        if (d != null && "ByteLevel".equals(d.path("type").asText())) return;
        throw TokenizerFormatException.field(file, "decoder", "unsupported decoder " + describe(d)
                + " (jseek supports only ByteLevel)");
    }

    private static String describe(JsonNode n) {
        if (n == null || n.isNull()) return "null";
        String s = n.has("type") ? "of type '" + n.get("type").asText() + "'" : n.toString();
        return s.length() > 120 ? s.substring(0, 120) + "..." : s;
    }

    private static BpeModel parseModel(Path file, RawModel raw) {
        ObjectNode m = raw.meta();
        String type = m.path("type").asText("");
        if (!type.equals("BPE")) {
            throw TokenizerFormatException.field(file, "model.type", "unsupported model type '" + type + "' (jseek supports BPE)");
        }
        JsonNode dropout = m.get("dropout");
        if (dropout != null && !dropout.isNull() && dropout.asDouble() != 0.0) {
            throw TokenizerFormatException.field(file, "model.dropout", "BPE dropout " + dropout + " is not supported");
        }
        for (String f : new String[] {"continuing_subword_prefix", "end_of_word_suffix"}) {
            JsonNode v = m.get(f);
            if (v != null && !v.isNull() && !v.asText().isEmpty()) {
                throw TokenizerFormatException.field(file, "model." + f, "unsupported value " + v);
            }
        }
        Map<String, Integer> vocab = raw.vocab();
        if (vocab == null) throw TokenizerFormatException.field(file, "model.vocab", "missing or not an object");
        if (raw.merges() == null) throw TokenizerFormatException.field(file, "model.merges", "missing or not an array");
        int[][] merges = new int[raw.merges().size()][];
        for (int r = 0; r < merges.length; r++) {
            String a = raw.merges().get(r)[0], b = raw.merges().get(r)[1];
            Integer ia = vocab.get(a), ib = vocab.get(b), in = vocab.get(a + b);
            if (ia == null || ib == null || in == null) {
                String missing = ia == null ? a : ib == null ? b : a + b;
                throw TokenizerFormatException.field(file, "model.merges[" + r + "]", "token '" + missing + "' of merge \""
                        + a + " " + b + "\" is not in model.vocab");
            }
            merges[r] = new int[] {ia, ib, in};
        }
        boolean byteMissing = false;
        for (int b = 0; b < 256; b++) byteMissing |= !vocab.containsKey(String.valueOf(ByteLevel.byteToChar(b)));
        for (String f : new String[] {"unk_token", "byte_fallback"}) {
            JsonNode v = m.get(f);
            boolean set = v != null && !v.isNull() && !(v.isBoolean() && !v.asBoolean());
            if (set && byteMissing) {
                throw TokenizerFormatException.field(file, "model." + f, "set while some of the 256 byte symbols are missing from model.vocab; not supported");
            }
        }
        boolean ignoreMerges = m.path("ignore_merges").asBoolean(false);
        return new BpeModel(vocab, merges, ignoreMerges);
    }

    private static PreTokenizer parsePreTokenizer(Path file, JsonNode p) {
        if (p == null || p.isNull()) {
            throw TokenizerFormatException.field(file, "pre_tokenizer", "missing; a byte-level BPE tokenizer needs a ByteLevel pre-tokenizer");
        }
        List<JsonNode> items = new ArrayList<>();
        List<String> paths = new ArrayList<>();
        if ("Sequence".equals(p.path("type").asText())) {
            JsonNode list = p.get("pretokenizers");
            if (list == null || !list.isArray()) throw TokenizerFormatException.field(file, "pre_tokenizer.pretokenizers", "missing or not an array");
            for (int i = 0; i < list.size(); i++) {
                items.add(list.get(i));
                paths.add("pre_tokenizer.pretokenizers[" + i + "]");
            }
        } else {
            items.add(p);
            paths.add("pre_tokenizer");
        }
        List<PreTokenizer.Stage> stages = new ArrayList<>();
        boolean byteLevel = false;
        for (int i = 0; i < items.size(); i++) {
            JsonNode st = items.get(i);
            String path = paths.get(i);
            String type = st.path("type").asText("");
            if (byteLevel) throw TokenizerFormatException.field(file, path, "a pre-tokenizer after ByteLevel is not supported");
            switch (type) {
                case "Split" -> stages.add(parseSplit(file, path, st));
                case "Digits" -> stages.add(FastSplitters.stage(st.path("individual_digits").asBoolean(false)
                        ? NamedPreTokenizer.SINGLE_DIGITS : NamedPreTokenizer.DIGIT_RUNS)); // HF: char::is_numeric = \p{N}
                case "ByteLevel" -> {
                    byteLevel = true;
                    if (st.path("add_prefix_space").asBoolean(false)) stages.add(new PreTokenizer.PrefixSpace());
                    JsonNode useRegex = st.get("use_regex");
                    if (useRegex == null || useRegex.isNull() || useRegex.asBoolean()) {
                        stages.add(FastSplitters.stage(PreTokenizer.GPT2_PATTERN));
                    }
                }
                default -> throw TokenizerFormatException.field(file, path + ".type", "unsupported pre-tokenizer '" + type
                        + "' (jseek supports Split, Digits and ByteLevel)");
            }
        }
        if (!byteLevel) throw TokenizerFormatException.field(file, "pre_tokenizer", "no ByteLevel stage; jseek supports byte-level BPE only");
        return new PreTokenizer(stages);
    }

    private static PreTokenizer.Stage parseSplit(Path file, String path, JsonNode st) {
        String behavior = st.path("behavior").asText("");
        if (!behavior.equals("Isolated")) {
            throw TokenizerFormatException.field(file, path + ".behavior", "unsupported Split behavior '" + behavior + "' (jseek supports Isolated)");
        }
        if (st.path("invert").asBoolean(false)) {
            throw TokenizerFormatException.field(file, path + ".invert", "invert=true is not supported");
        }
        JsonNode pat = st.get("pattern");
        String regex;
        if (pat != null && pat.has("Regex") && pat.get("Regex").isTextual()) {
            regex = pat.get("Regex").asText();
        } else if (pat != null && pat.has("String") && pat.get("String").isTextual()) {
            regex = java.util.regex.Pattern.quote(pat.get("String").asText());
            return new PreTokenizer.RegexSplit(regex, java.util.regex.Pattern.compile(regex));
        } else {
            throw TokenizerFormatException.field(file, path + ".pattern", "expected {\"Regex\": ...} or {\"String\": ...}, got " + pat);
        }
        try {
            return FastSplitters.stage(regex);
        } catch (IllegalArgumentException e) {
            throw TokenizerFormatException.field(file, path + ".pattern.Regex", e.getMessage() + " in " + regex);
        }
    }

    private static AddedVocabulary parseAdded(Path file, JsonNode list, BpeModel model) {
        List<AddedVocabulary.AddedToken> out = new ArrayList<>();
        if (list == null || list.isNull()) return new AddedVocabulary(out);
        if (!list.isArray()) throw TokenizerFormatException.field(file, "added_tokens", "not an array");
        // HF's id assignment: a token in the model vocab keeps that id; a new one gets max(added)+1 or the model size.
        Map<String, Integer> assigned = new LinkedHashMap<>();
        int modelCount = model.tokenToId.size();
        int maxAdded = -1;
        for (int i = 0; i < list.size(); i++) {
            JsonNode t = list.get(i);
            String path = "added_tokens[" + i + "]";
            JsonNode content = t.get("content");
            if (content == null || !content.isTextual()) throw TokenizerFormatException.field(file, path + ".content", "missing or not a string");
            String c = content.asText();
            if (c.isEmpty()) continue;
            Integer id = assigned.get(c);
            if (id == null) id = model.tokenToId.get(c);
            if (id == null) id = maxAdded >= 0 && (maxAdded >= modelCount || modelCount == 0) ? maxAdded + 1 : modelCount;
            JsonNode fileId = t.get("id");
            if (fileId != null && fileId.isIntegralNumber() && fileId.asInt() != id) {
                System.getLogger(TokenizerLoader.class.getName()).log(System.Logger.Level.WARNING,
                        file + ": " + path + " '" + c + "' has id " + fileId + " but gets id " + id + " (as in HF tokenizers)");
            }
            assigned.put(c, id);
            maxAdded = Math.max(maxAdded, id);
            out.removeIf(x -> x.content().equals(c));
            out.add(new AddedVocabulary.AddedToken(id, c, t.path("special").asBoolean(false),
                    t.path("normalized").asBoolean(true), t.path("lstrip").asBoolean(false),
                    t.path("rstrip").asBoolean(false), t.path("single_word").asBoolean(false)));
        }
        return new AddedVocabulary(out);
    }

    /** Role -> token string from tokenizer_config.json (bos/eos/pad), or empty. */
    private static Map<String, String> parseConfig(Path file, JsonNode cfg) {
        Map<String, String> roles = new HashMap<>();
        if (cfg == null) return roles;
        for (String role : new String[] {"bos_token", "eos_token", "pad_token"}) {
            JsonNode v = cfg.get(role);
            if (v == null || v.isNull()) continue;
            if (v.isTextual()) {
                roles.put(role, v.asText());
            } else if (v.isObject() && v.path("content").isTextual()) {
                roles.put(role, v.get("content").asText());
            } else {
                throw TokenizerFormatException.field(file, role, "expected a string or {\"content\": ...}, got " + v);
            }
        }
        return roles;
    }
}
