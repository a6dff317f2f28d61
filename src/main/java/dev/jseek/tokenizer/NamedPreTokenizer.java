package dev.jseek.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/**
 * The pre-tokenizers of the DeepSeek family by the name llama.cpp gives them in a GGUF's {@code tokenizer.ggml.pre}
 * (docs/tokenizer.md, "Pre-tokenizers of the DeepSeek family"): each is a chain of Split stages (behavior Isolated,
 * each stage splitting every piece of the one before) followed by a ByteLevel stage without its own regex or prefix
 * space, exactly as the model's Hugging Face {@code tokenizer.json} declares it.
 * <ul>
 * <li>{@code deepseek-v3} (DeepSeek-V3, R1, V3-0324 and jseek's own tokenizers): digits in runs of up to three, CJK runs,
 *     then one main regex;</li>
 * <li>{@code deepseek-llm} (DeepSeek-LLM, DeepSeek-V2, V2-Lite and V2.5, DeepSeek-Coder-V2): line breaks one by one, an
 *     optional whitespace before a run of Latin/Greek/Cyrillic/... letters or before a run of ASCII/full-width
 *     punctuation, trailing whitespace, CJK and Hangul runs, then digit runs (tokenizer.json's
 *     {@code Digits} stage with {@code individual_digits: false});</li>
 * <li>{@code deepseek-coder} (DeepSeek-Coder 1.x): line breaks, an optional whitespace before a letter run or a
 *     punctuation run, CJK and Hangul runs, then every digit alone ({@code Digits} with {@code individual_digits:
 *     true});</li>
 * <li>{@code kimi-k2} (Kimi-K2 and Moonlight, whose tiktoken vocabularies llama.cpp's converter writes as byte-level
 *     BPE): one split, what llama.cpp's splitter for the name does ({@link KimiK2Split}).</li>
 * </ul>
 * Regexes are Oniguruma's (what HF tokenizers runs), compiled by {@link OnigRegex}; the DeepSeek-V3 ones also have
 * hand-written splitters ({@link FastSplitters}).
 */
enum NamedPreTokenizer {
    DEEPSEEK_V3("deepseek-v3", List.of(FastSplitters.DS3_DIGITS, FastSplitters.DS3_CJK, FastSplitters.DS3_MAIN)),
    DEEPSEEK_LLM("deepseek-llm", List.of(
            "[\r\n]",
            "\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF"
                    + "\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5"
                    + "\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA"
                    + "\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45"
                    + "\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-"
                    + "\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107"
                    + "\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139\u213C-\u213F"
                    + "\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D"
                    + "\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17"
                    + "\uFF21-\uFF3A\uFF41-\uFF5A\uD801\uDC00-\uD801\uDC4F\uD801\uDCB0-\uD801\uDCD3\uD801\uDCD8-\uD801"
                    + "\uDCFB\uD803\uDC80-\uD803\uDCB2\uD803\uDCC0-\uD803\uDCF2\uD806\uDCA0-\uD806\uDCDF\uD83A\uDD00-"
                    + "\uD83A\uDD43]+",
            "\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+",
            "\\s+$",
            "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+",
            "\\p{N}+")), // tokenizer.json: Digits, individual_digits false
    DEEPSEEK_CODER("deepseek-coder", List.of(
            "[\r\n]",
            "\\s?\\p{L}+",
            "\\s?\\p{P}+",
            "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+",
            "\\p{N}")), // tokenizer.json: Digits, individual_digits true
    KIMI_K2("kimi-k2", List.of(KimiK2Split.REGEX));

    /** What tokenizer.json's {@code Digits} stage splits off: runs of numbers, or each number alone. */
    static final String DIGIT_RUNS = "\\p{N}+", SINGLE_DIGITS = "\\p{N}";

    /** llama.cpp's name ({@code tokenizer.ggml.pre}). */
    final String ggufName;
    /** The Split regexes, in order. */
    final List<String> regexes;

    NamedPreTokenizer(String ggufName, List<String> regexes) {
        this.ggufName = ggufName;
        this.regexes = regexes;
    }

    /** The pre-tokenizer named {@code ggufName}, or null. */
    static NamedPreTokenizer byName(String ggufName) {
        for (NamedPreTokenizer p : values()) if (p.ggufName.equals(ggufName)) return p;
        return null;
    }

    /** The names jseek reads, for messages: "'deepseek-v3', 'deepseek-llm', 'deepseek-coder', 'kimi-k2'". */
    static String names() {
        List<String> out = new ArrayList<>();
        for (NamedPreTokenizer p : values()) out.add("'" + p.ggufName + "'");
        return String.join(", ", out);
    }

    /** A fresh chain (the DeepSeek-V3 stages fused, see {@link FastSplitters}). */
    PreTokenizer build() {
        List<PreTokenizer.Stage> stages = new ArrayList<>();
        for (String re : regexes) stages.add(FastSplitters.stage(re));
        return new PreTokenizer(stages);
    }

    /**
     * The named pre-tokenizer a tokenizer.json {@code pre_tokenizer} object is, or null: a Sequence of Split stages
     * (Regex pattern, behavior Isolated, not inverted; a trailing {@code \p{N}+} / {@code \p{N}} may also be written
     * as a {@code Digits} stage) ending with a ByteLevel stage without prefix space and with {@code use_regex} false.
     */
    static NamedPreTokenizer of(JsonNode p) {
        if (p == null || !"Sequence".equals(p.path("type").asText()) || !p.path("pretokenizers").isArray()) return null;
        JsonNode list = p.get("pretokenizers");
        if (list.isEmpty()) return null;
        List<String> res = new ArrayList<>();
        for (int i = 0; i + 1 < list.size(); i++) {
            JsonNode st = list.get(i);
            String type = st.path("type").asText();
            if (type.equals("Split")) {
                if (!"Isolated".equals(st.path("behavior").asText()) || st.path("invert").asBoolean(false)) return null;
                String re = st.path("pattern").path("Regex").asText(null);
                if (re == null) return null;
                res.add(re);
            } else if (type.equals("Digits")) {
                res.add(st.path("individual_digits").asBoolean(false) ? SINGLE_DIGITS : DIGIT_RUNS);
            } else {
                return null;
            }
        }
        JsonNode b = list.get(list.size() - 1);
        if (!"ByteLevel".equals(b.path("type").asText()) || b.path("add_prefix_space").asBoolean(false)
                || !b.has("use_regex") || b.path("use_regex").asBoolean(true)) return null;
        for (NamedPreTokenizer n : values()) if (n.regexes.equals(res)) return n;
        return null;
    }
}
