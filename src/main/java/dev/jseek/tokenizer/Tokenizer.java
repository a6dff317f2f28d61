package dev.jseek.tokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A byte-level BPE tokenizer loaded from a Hugging Face {@code tokenizer.json} (docs/architecture.md §7.8, DeepSeek-V3's
 * 128K-vocabulary tokenizer, or one trained by {@link BpeTrainer}). Encoding gives exactly the ids of HF tokenizers
 * with {@code add_special_tokens=false}: added tokens are cut out of the raw text first, the rest is pre-tokenized
 * (Split stages, ByteLevel) and each piece is BPE-merged.
 *
 * <p>Input is a Java {@code String}; unpaired surrogates in it are treated as U+FFFD. Raw bytes go through
 * {@link #encode(byte[], boolean)}, which decodes them lossily first (each maximal ill-formed subpart becomes one
 * U+FFFD, as Rust's {@code String::from_utf8_lossy} and Python's {@code errors="replace"} do). Decoding returns the
 * lossy UTF-8 decoding of the concatenated token bytes, as HF's ByteLevel decoder does.
 *
 * <p>BOS (docs/architecture.md §7.8): {@link #encode(String)} adds nothing (like {@code tokenizer.json} alone);
 * {@link #encode(String, boolean)} with {@code true} prepends BOS like HF's LlamaTokenizerFast does for
 * DeepSeek-V3. Never add BOS to a rendered chat template: the template already starts with it.
 *
 * <p>Thread-safe: scratch buffers and the piece cache are per thread.
 */
public final class Tokenizer {
    private final Path source;
    private final BpeModel model;
    private final PreTokenizer pre;
    private final AddedVocabulary added;
    private final boolean addBosByDefault;
    private final Map<String, String> roles;
    /** The chat template the tokenizer came with (tokenizer_config.json, GGUF tokenizer.chat_template), or null. */
    private final String chatTemplate;
    private final String[] addedContent; // id -> added token content
    private final boolean[] special;
    private final byte[][] tokenBytes; // id -> bytes for decoding
    private final Map<String, Integer> addedIds = new HashMap<>();
    private final int vocabSize;
    private final int bos, eos, pad, fimHole, fimBegin, fimEnd;
    private final ThreadLocal<Ctx> ctx;

    Tokenizer(Path source, BpeModel model, PreTokenizer pre, AddedVocabulary added, Map<String, String> roles,
              boolean addBosByDefault, String chatTemplate) {
        this.source = source;
        this.chatTemplate = chatTemplate;
        this.model = model;
        this.pre = pre;
        this.added = added;
        this.addBosByDefault = addBosByDefault;
        this.roles = Map.copyOf(roles);
        int max = model.size() - 1;
        for (var t : added.tokens) max = Math.max(max, t.id());
        vocabSize = max + 1;
        addedContent = new String[vocabSize];
        special = new boolean[vocabSize];
        Set<String> specialContent = new HashSet<>();
        for (var t : added.tokens) {
            addedContent[t.id()] = t.content();
            addedIds.put(t.content(), t.id());
            if (t.special()) specialContent.add(t.content());
        }
        tokenBytes = new byte[vocabSize][];
        for (int id = 0; id < vocabSize; id++) {
            String tok = tokenString(id);
            if (tok != null) {
                tokenBytes[id] = ByteLevel.decodeToken(tok);
                special[id] = specialContent.contains(tok); // HF skips by content
            }
        }
        bos = role(roles, "bos_token", SpecialTokens.BOS, -1);
        eos = role(roles, "eos_token", SpecialTokens.EOS, -1);
        pad = role(roles, "pad_token", SpecialTokens.PAD, eos);
        fimHole = tokenId(SpecialTokens.FIM_HOLE);
        fimBegin = tokenId(SpecialTokens.FIM_BEGIN);
        fimEnd = tokenId(SpecialTokens.FIM_END);
        ctx = ThreadLocal.withInitial(() -> new Ctx(this));
    }

    private int role(Map<String, String> roles, String key, String dflt, int fallback) {
        String name = roles.get(key);
        if (name != null) {
            int id = tokenId(name);
            if (id < 0) {
                throw new TokenizerFormatException(source.resolveSibling("tokenizer_config.json") + ": field '" + key
                        + "': token '" + name + "' is not in the vocabulary of " + source);
            }
            return id;
        }
        int id = tokenId(dflt);
        return id >= 0 ? id : fallback;
    }

    /**
     * Loads {@code tokenizer.json} (a file, or a directory holding one) and, if present, the
     * {@code tokenizer_config.json} beside it (bos/eos/pad token names and {@code add_bos_token}).
     * Without a config, BOS/EOS/pad are the DeepSeek-V3 names when present (pad falls back to EOS).
     *
     * @throws TokenizerFormatException for malformed or unsupported content (message names file and field)
     */
    public static Tokenizer load(Path path) throws IOException { return TokenizerLoader.load(path); }

    /**
     * A DeepSeek-V3 byte-level BPE tokenizer from vocabulary lists, as llama.cpp's "gpt2" GGUF metadata holds it
     * (the caller reads the file): {@code tokens} (index = id; byte-level strings, added tokens as their text),
     * {@code types} (1 normal, 3 control = special added token, 4 user-defined = other added token, 5 unused; others
     * are normal), {@code merges} ("a b", rank = order), the pre-tokenizer {@link #DEEPSEEK_V3_PRE} (DeepSeek-V3's
     * three Split stages), the BOS/EOS ids (-1: none), whether completions start with BOS, and the chat template
     * text (null: none). {@link TokenizerFormatException} for bad content, naming {@code source} and the list.
     */
    public static Tokenizer fromVocabulary(Path source, List<String> tokens, int[] types, List<String> merges, int bosId, int eosId,
                                           boolean addBos, String chatTemplate) {
        return TokenizerLoader.fromVocabulary(source, tokens, types, merges, bosId, eosId, addBos, chatTemplate, NamedPreTokenizer.DEEPSEEK_V3);
    }

    /**
     * As {@link #fromVocabulary(Path, List, int[], List, int, int, boolean, String)}, splitting text with the
     * pre-tokenizer llama.cpp names {@code preTokenizer} ({@code tokenizer.ggml.pre}): {@link #DEEPSEEK_V3_PRE},
     * {@link #DEEPSEEK_LLM_PRE}, {@link #DEEPSEEK_CODER_PRE} or {@link #KIMI_K2_PRE} ({@link #knowsPreTokenizer}); IllegalArgumentException
     * for another name.
     */
    public static Tokenizer fromVocabulary(Path source, List<String> tokens, int[] types, List<String> merges, int bosId, int eosId,
                                           boolean addBos, String chatTemplate, String preTokenizer) {
        NamedPreTokenizer pre = NamedPreTokenizer.byName(preTokenizer);
        if (pre == null) throw new IllegalArgumentException("unknown pre-tokenizer '" + preTokenizer + "' (jseek reads " + knownPreTokenizers() + ")");
        return TokenizerLoader.fromVocabulary(source, tokens, types, merges, bosId, eosId, addBos, chatTemplate, pre);
    }

    /** llama.cpp's name ({@code tokenizer.ggml.pre}) for DeepSeek-V3's pre-tokenizer, which jseek's trained tokenizers use too. */
    public static final String DEEPSEEK_V3_PRE = "deepseek-v3";
    /** llama.cpp's name for the pre-tokenizer of DeepSeek-LLM and DeepSeek-V2 / V2-Lite (docs/tokenizer.md). */
    public static final String DEEPSEEK_LLM_PRE = "deepseek-llm";
    /** llama.cpp's name for the pre-tokenizer of DeepSeek-Coder 1.x (docs/tokenizer.md). */
    public static final String DEEPSEEK_CODER_PRE = "deepseek-coder";
    /** llama.cpp's name for the pre-tokenizer of Kimi-K2 and Moonlight (docs/tokenizer.md). */
    public static final String KIMI_K2_PRE = "kimi-k2";

    /** Whether jseek splits text like the pre-tokenizer llama.cpp names {@code ggufName}. */
    public static boolean knowsPreTokenizer(String ggufName) { return NamedPreTokenizer.byName(ggufName) != null; }

    /** The pre-tokenizer names jseek reads, quoted, for messages. */
    public static String knownPreTokenizers() { return NamedPreTokenizer.names(); }

    /**
     * llama.cpp's name for a tokenizer.json {@code pre_tokenizer} object ({@link #DEEPSEEK_V3_PRE},
     * {@link #DEEPSEEK_LLM_PRE}, {@link #DEEPSEEK_CODER_PRE}), or null when it is none of them.
     */
    public static String preTokenizerName(com.fasterxml.jackson.databind.JsonNode p) {
        NamedPreTokenizer n = NamedPreTokenizer.of(p);
        return n == null ? null : n.ggufName;
    }

    /**
     * Whether a tokenizer.json {@code pre_tokenizer} object is DeepSeek-V3's: a Sequence of its three Split stages
     * (Isolated, not inverted) and a ByteLevel without regex or prefix space.
     */
    public static boolean isDeepSeekV3PreTokenizer(com.fasterxml.jackson.databind.JsonNode p) { return TokenizerLoader.isDeepSeekV3(p); }

    /**
     * DeepSeek-V3's tokenizer.json {@code pre_tokenizer} object (what {@link #isDeepSeekV3PreTokenizer} accepts): its
     * three Split stages, then a ByteLevel without regex or prefix space. jseek's trained tokenizers write it.
     */
    public static com.fasterxml.jackson.databind.node.ObjectNode deepSeekV3PreTokenizer() {
        var json = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance;
        var root = json.objectNode().put("type", "Sequence");
        var stages = root.putArray("pretokenizers");
        for (String re : new String[] {FastSplitters.DS3_DIGITS, FastSplitters.DS3_CJK, FastSplitters.DS3_MAIN}) {
            var st = stages.addObject().put("type", "Split");
            st.putObject("pattern").put("Regex", re);
            st.put("behavior", "Isolated").put("invert", false);
        }
        stages.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true).put("use_regex", false);
        return root;
    }

    /** Whether this tokenizer splits text with DeepSeek-V3's pre-tokenizer ({@link #DEEPSEEK_V3_PRE}). */
    public boolean hasDeepSeekV3PreTokenizer() { return pre.stages.length == 1 && pre.stages[0] instanceof PreTokenizer.FusedDs3; }

    /** The chat template this tokenizer came with (tokenizer_config.json {@code chat_template}, GGUF {@code tokenizer.chat_template}), or null. */
    public String chatTemplate() { return chatTemplate; }

    /** Ids of {@code text} without BOS (HF {@code add_special_tokens=false}). */
    public int[] encode(String text) { return encode(text, false); }

    /** Ids of {@code text}, with BOS first when {@code addBos} (HF LlamaTokenizerFast {@code encode(text)}). */
    public int[] encode(String text, boolean addBos) {
        Ctx c = ctx.get();
        c.out.clear();
        if (addBos) {
            if (bos < 0) throw new IllegalStateException(source + ": no BOS token");
            c.out.add(bos);
        }
        encodeInto(Utf8.replaceLoneSurrogates(text), c);
        return c.out.toArray();
    }

    /** Ids of UTF-8 bytes, decoded lossily first (see class doc). */
    public int[] encode(byte[] utf8, boolean addBos) { return encode(Utf8.decodeLossy(utf8), addBos); }

    private void encodeInto(String text, Ctx c) {
        if (text.isEmpty()) return;
        added.split(text, c);
    }

    /** Whether HF's LlamaTokenizerFast would add BOS by default ({@code add_bos_token} of tokenizer_config.json). */
    public boolean addBosByDefault() { return addBosByDefault; }

    /** The text of some ids (special tokens included). Unknown ids are skipped, as HF does. */
    public String decode(int[] ids) { return decode(ids, false); }

    /** The text of some ids; with {@code skipSpecialTokens} the tokens flagged special are left out. */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        byte[] buf = new byte[ids.length * 4 + 16];
        int n = 0;
        for (int id : ids) {
            byte[] b = bytesOf(id, skipSpecialTokens);
            if (b == null) continue;
            if (n + b.length > buf.length) buf = Arrays.copyOf(buf, Math.max(buf.length * 2, n + b.length));
            System.arraycopy(b, 0, buf, n, b.length);
            n += b.length;
        }
        return Utf8.decodeLossy(buf, 0, n);
    }

    /** The UTF-8 bytes one id decodes to (special tokens included; a copy), or null for an unused id. */
    public byte[] tokenBytes(int id) {
        byte[] b = bytesOf(id, false);
        return b == null ? null : b.clone();
    }

    /** The bytes one id decodes to, or null if it is unknown or (with skipSpecial) a special token. */
    byte[] bytesOf(int id, boolean skipSpecial) {
        if (id < 0 || id >= vocabSize || tokenBytes[id] == null) return null;
        if (skipSpecial && special[id]) return null;
        return tokenBytes[id];
    }

    /** A decoder for generated ids that emits only whole characters (see {@link StreamingDecoder}). */
    public StreamingDecoder streamingDecoder(boolean skipSpecialTokens) { return new StreamingDecoder(this, skipSpecialTokens); }

    /** The id of a token string (an added token, or a byte-level model token such as "Ġthe"), or -1. */
    public int tokenId(String token) {
        Integer id = addedIds.get(token);
        if (id == null) id = model.tokenToId.get(token);
        return id == null ? -1 : id;
    }

    /** The token string of an id (added token content or byte-level model token), or null if unused. */
    public String tokenString(int id) {
        if (id < 0 || id >= vocabSize) return null;
        if (addedContent != null && addedContent[id] != null) return addedContent[id];
        return model.token(id);
    }

    /** Whether an id is an added token flagged {@code special} (what decode with skipSpecialTokens drops). */
    public boolean isSpecial(int id) { return id >= 0 && id < vocabSize && special[id]; }

    /** Highest defined id + 1 (DeepSeek-V3: 128815; the model's embedding has 129280 rows, docs/architecture.md §2). */
    public int vocabSize() { return vocabSize; }

    /** Number of merges of the BPE model. */
    public int mergeCount() { return model.mergeCount; }

    public int bosId() { return bos; }
    public int eosId() { return eos; }

    /**
     * Token texts that end a generation wherever a vocabulary has them, as llama.cpp decides it from a GGUF's
     * vocabulary: DeepSeek's EOS; Kimi-K2's and Moonlight's end of turn, [EOT] and [EOS], and their [PAD] (which
     * llama.cpp takes for a fill-in-the-middle padding token, and those end a generation too).
     */
    static final List<String> END_OF_GENERATION = List.of(SpecialTokens.EOS, "<|im_end|>", "[EOT]", "[EOS]", "[PAD]");

    /**
     * The ids a generation stops at, ascending: EOS, and every added token of {@link #END_OF_GENERATION} the
     * vocabulary has (Kimi-K2's chat turns end with {@code <|im_end|>}, its EOS is {@code [EOS]}); llama.cpp's set
     * for the family's vocabularies (docs/tokenizer.md).
     */
    public int[] endOfGenerationIds() {
        java.util.TreeSet<Integer> ids = new java.util.TreeSet<>();
        if (eos >= 0) ids.add(eos);
        for (String t : END_OF_GENERATION) {
            Integer id = addedIds.get(t); // an added (special) token: a normal token spelled "[PAD]" ends nothing
            if (id != null) ids.add(id);
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }
    /** Pad id: tokenizer_config.json's pad_token (DeepSeek-V3: EOS, id 1), else {@code <｜▁pad▁｜>}, else EOS. */
    public int padId() { return pad; }
    /** FIM sentinel ids (docs/architecture.md §7.2), -1 when absent. */
    public int fimHoleId() { return fimHole; }
    public int fimBeginId() { return fimBegin; }
    public int fimEndId() { return fimEnd; }

    /** The tokenizer.json this was loaded from. */
    public Path source() { return source; }

    /** Same tokenizer, but every pre-tokenizer regex runs on java.util.regex (the slow twin of the fast splitters). */
    Tokenizer withRegexOnly() { return withPreTokenizer(pre.regexOnly()); }

    /**
     * Same tokenizer with {@code template} as its chat template (null: none), e.g. a template file given on the command
     * line in place of the one the model's files carry.
     */
    public Tokenizer withChatTemplate(String template) { return new Tokenizer(source, model, pre, added, roles, addBosByDefault, template); }

    /** Same tokenizer with another pre-tokenizer chain (tests). */
    Tokenizer withPreTokenizer(PreTokenizer p) { return new Tokenizer(source, model, p, added, roles, addBosByDefault, chatTemplate); }

    /** Pre-tokenizer pieces of text without added tokens (for tests and the CLI). */
    java.util.List<String> preTokenize(String text) {
        java.util.List<String> out = new java.util.ArrayList<>();
        Ctx c = ctx.get();
        pre.split(c.pst, text, 0, text.length(), (s, a, b) -> out.add(s.substring(a, b)));
        return out;
    }

    /** Receives a pre-token span of the text. */
    interface SpanSink { void span(int start, int end); }

    /** Pre-tokenizer spans of text without added tokens (not for tokenizers with add_prefix_space). */
    void preTokenizeSpans(String text, SpanSink sink) {
        pre.split(ctx.get().pst, text, 0, text.length(), (s, a, b) -> {
            if (s != text) throw new IllegalStateException("spans are undefined with add_prefix_space");
            sink.span(a, b);
        });
    }

    BpeModel model() { return model; }

    PreTokenizer preTokenizer() { return pre; }

    /** Per-thread encoding state. */
    private static final class Ctx implements AddedVocabulary.SegmentSink, PreTokenizer.PieceSink {
        final Tokenizer t;
        final PreTokenizer.State pst;
        final BpeModel.Scratch scratch = new BpeModel.Scratch();
        final IntList out = new IntList(1024);

        Ctx(Tokenizer t) {
            this.t = t;
            pst = t.pre.newState();
        }

        @Override public void segment(String s, int start, int end, int id) {
            if (id >= 0) {
                out.add(id);
            } else {
                t.pre.split(pst, s, start, end, this);
            }
        }

        @Override public void piece(String s, int start, int end) {
            t.model.encodePiece(s, start, end, scratch, out);
        }
    }
}
