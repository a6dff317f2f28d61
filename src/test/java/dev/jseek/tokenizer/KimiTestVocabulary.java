package dev.jseek.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A Kimi-K2-shaped vocabulary of the tests' own making, as llama.cpp's converter writes Kimi-K2's and Moonlight's
 * tiktoken vocabularies into a GGUF (byte-level BPE: the 256 byte symbols, merged tokens, merges as "a b"; then the
 * special tokens, control type, with unused "[PAD<i>]" ids between them). The merges are learned ({@link BpeTrainer})
 * on whole lines of a corpus, not on pre-tokenizer pieces, so they join characters across every boundary a
 * pre-tokenizer could draw (Han next to kana, a leading punctuation mark, letters of two cases, a contraction, a space
 * before a digit, runs of whitespace): wherever two pre-tokenizers split a text differently, the ids differ.
 */
public final class KimiTestVocabulary {
    private KimiTestVocabulary() {}

    /** Kimi-K2's special tokens in its order; null leaves an unused id (Kimi's reserved tokens). */
    public static final List<String> SPECIALS = java.util.Arrays.asList("[BOS]", "[EOS]", "<|im_end|>", "<|im_user|>",
            "<|im_assistant|>", null, "<|start_header_id|>", "<|end_header_id|>", null, "[EOT]", "<|im_system|>",
            "<|tool_calls_section_begin|>", "<|tool_calls_section_end|>", "<|tool_call_begin|>", "<|tool_call_argument_begin|>",
            "<|tool_call_end|>", null, "<|im_middle|>", "<|media_start|>", "<|media_content|>", "<|media_end|>", "<|media_pad|>",
            "[UNK]", "[PAD]");

    /** GGUF token types (tokenizer.ggml.token_type). */
    public static final int NORMAL = 1, CONTROL = 3, UNUSED = 5;

    /** The lists a GGUF holds, and the ids of [BOS] and [EOS]. */
    public record Vocabulary(List<String> tokens, int[] types, List<String> merges, int bos, int eos) {
        public int id(String token) { return tokens.indexOf(token); }
    }

    /** Learns {@code size - 256} merges (about) on the lines of {@code texts} and appends the special tokens. */
    public static Vocabulary train(List<String> texts, int size) {
        WordCounts words = new WordCounts(1 << 16);
        for (String text : texts) {
            String t = text; // special-token text learned as a normal token would take the special token's id (HF's rule)
            for (String s : SPECIALS) if (s != null) t = t.replace(s, " ");
            int a = 0;
            while (a < t.length()) {
                int nl = t.indexOf('\n', a);
                int b = Math.min(nl < 0 ? t.length() : nl + 1, a + 96);
                if (b < t.length() && Character.isHighSurrogate(t.charAt(b - 1))) b++;
                words.add(t, a, b, 1);
                a = b;
            }
        }
        int reserved = SpecialTokens.TRAINER_ORDER.size(); // the trainer's own specials come first: dropped here
        BpeTrainer.Learned l = BpeTrainer.learn(words, new BpeTrainer.Options(size + reserved, 2, 1, null));
        List<String> tokens = new ArrayList<>(l.tokens().subList(reserved, l.tokens().size()));
        List<String> merges = new ArrayList<>();
        for (int[] m : l.merges()) merges.add(l.tokens().get(m[0]) + " " + l.tokens().get(m[1]));
        List<Integer> types = new ArrayList<>();
        for (int i = 0; i < tokens.size(); i++) types.add(NORMAL);
        while (tokens.size() % 64 != 0) { // Kimi's specials start at 163584 = 2^17 + 2^15, after an unused stretch here
            types.add(UNUSED);
            tokens.add("[PAD" + tokens.size() + "]");
        }
        for (String s : SPECIALS) {
            types.add(s == null ? UNUSED : CONTROL);
            tokens.add(s == null ? "[PAD" + tokens.size() + "]" : s);
        }
        int[] t = types.stream().mapToInt(Integer::intValue).toArray();
        return new Vocabulary(tokens, t, merges, tokens.indexOf("[BOS]"), tokens.indexOf("[EOS]"));
    }

    /**
     * Texts aimed at what llama.cpp's kimi-k2 split distinguishes: Han runs (CJK Unified, Extensions A and B,
     * Compatibility Ideographs) against kana, Hangul and Latin; letter runs of mixed case ("HelloWorld", which Kimi's
     * own tiktoken pattern would cut, llama.cpp does not), with combining marks, and with a leading space, tab,
     * punctuation mark, symbol, control or format character; contractions in either case ("'s", "'LL", "'Re") and
     * near misses; numbers of several scripts in runs of one to a dozen; punctuation runs before line breaks; runs of
     * spaces, tabs, CR/LF and Unicode spaces before words, digits, Han and the end; Kimi's special tokens inside text.
     * Only characters assigned before Unicode 15.1 (llama.cpp's tables) and unchanged since, so that the JDK's
     * Unicode 16 tables agree with llama.cpp's.
     */
    public static List<String> targeted(long seed) {
        String[] pieces = {
            "漢字", "中文", "深度求索", "𠀀𠀁", "㐀㐁", "豈更", "丽", "ひらがな", "カタカナ", "한국어", "テスト中", "中テ", "字か",
            "Hello", "HelloWorld", "camelCase", "ALLCAPS", "iPhone", "McDonald", "ǅungla", "naïve", "café", "cafe\u0301",
            "e\u0301\u0302", "\u0301x", "Ελληνικά", "ΑΘΗΝΑ", "Кириллица", "МОСКВА", "עברית", "العربية", "हिन्दी", "ภาษาไทย",
            "Tiếng Việt", "İstanbul", "ß", "ﬁ", "ǈ",
            "'s", "'S", "'t", "'T", "'re", "'RE", "'Re", "'ve", "'VE", "'m", "'M", "'ll", "'LL", "'lL", "'d", "'D", "'x", "' s", "''s",
            "’s", "don't", "DON'T", "we'LL", "it's", "I'm", "you'Re", "they'Ve", "she'D", "rock'n'roll", "o'clock",
            "0", "12", "345", "6789", "1234567890", "٣٤٥", "१२३", "①②", "ⅫⅣ", "½", "²³", "１２３", "3.14", "1,000",
            ".", "...", ",", "!?", "(", ")", "[x]", "{", "}", "—", "–", "“", "”", "«", "»", "$", "€", "¥", "+", "=", "<", ">", "|",
            "#", "@", "&", "*", "/", "\\", "_", "`", "~", "^", "©", "™", "°", "→", "∑", "😀", "👍🏽", "👨‍👩‍👧", "🇩🇪", "。", "、", "！",
            "\u200B", "\u200D", "\u0001", "\u007F", "\uE000", "\uFEFF",
            " ", " ", " ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", "\r", " \n", "\n ", " \n\n ", "\u3000", "\u00A0", "\u2003",
            "\u2028", "\u0085", "\u000B", "\f",
            "[BOS]", "[EOS]", "<|im_end|>", "<|im_user|>", "<|im_middle|>", "[EOT]", "<|tool_call_begin|>", "[PAD]", "[PAD5]", "<|im_", "[EO"
        };
        Random r = new Random(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < 600; i++) {
            StringBuilder sb = new StringBuilder();
            int n = 1 + r.nextInt(16);
            for (int k = 0; k < n; k++) sb.append(pieces[r.nextInt(pieces.length)]);
            out.add(sb.toString());
        }
        return out;
    }

    /**
     * One ideograph of each of llama.cpp's Han ranges (CJK Unified, Extensions A to F, Compatibility Ideographs and
     * their Supplement), unassigned code points inside those ranges, and ideographs just outside them (radicals, Kangxi,
     * CJK strokes, ideographic iteration mark), each before and after kana, Latin, Hangul, a digit, punctuation and
     * another of them, twice (so that BPE learns the pairs).
     */
    public static List<String> hanNeighbours() {
        String[] han = {"丽", "鿿", "㐀", "䶿", "𠀀", "𪛟", "𪜀", "𫝀", "𫠠", "𬺰", "\uF900", "\uFA0E", "\uFAD9", "\uD87E\uDC00", "\uD87E\uDE1D", "𪘀", "⺀", "⼀", "㇀", "々", "〇"};
        String[] next = {"か", "カ", "a", "Ab", "한", "7", "中", " ", "(", " ("};
        List<String> out = new ArrayList<>();
        List<String> all = new ArrayList<>(List.of(han));
        for (int cp : new int[] {0xFA6E, 0xFADA, 0x2EBE1, 0x2FA1E}) all.add(Character.toString(cp)); // unassigned, in the Han ranges
        for (String h : all) {
            for (String n : next) {
                String t = h + n + h + h + n + n + h;
                out.add(t);
                out.add(t);
            }
        }
        return out;
    }

    /**
     * Letters and digits that Unicode 16.0 added (Cyrillic, Latin Extended-D, Todhri, Garay with its digits, Tulu-Tigalari,
     * Sunuwar, Egyptian hieroglyphs extension A, Kirat Rai digits, Ol Onal, legacy-computing digits), which the JDK's
     * tables class as letters and numbers and llama.cpp's Unicode 15.1 tables leave unassigned: next to Latin letters,
     * spaces, digits and each other, twice each.
     */
    public static List<String> unicode16() {
        int[] cps = {0x1C89, 0x1C8A, 0xA7CB, 0xA7DC, 0x105C0, 0x105F3, 0x10D4A, 0x10D40, 0x10D49, 0x10D70, 0x10EC2, 0x11380, 0x113B7,
                0x116D0, 0x11BC0, 0x11BF0, 0x13460, 0x143FA, 0x16100, 0x16130, 0x16139, 0x16D40, 0x16D70, 0x18CFF, 0x1CCF0, 0x1E5D0, 0x1E5F1};
        String[] around = {"ab", "Ab", " ", "1", "'s", "."};
        List<String> out = new ArrayList<>();
        for (int cp : cps) {
            String c = Character.toString(cp);
            for (String a : around) {
                String t = a + c + c + a + " " + c + a + c + c + c + c;
                out.add(t);
                out.add(t);
            }
        }
        return out;
    }

    /** Sentences in many scripts, in the way people write them. */
    public static final List<String> MULTILINGUAL = List.of(
            "The quick brown fox doesn't jump over the lazy dog; it's 3:45pm and we'll see.",
            "Der schnelle braune Fuchs springt über den faulen Hund. Größe: 1.234,56 €",
            "Le cœur a ses raisons que la raison ne connaît point — Pascal (1670).",
            "Быстрая коричневая лиса прыгает через ленивую собаку. В 2024 году — 365 дней.",
            "Η γρήγορη καφέ αλεπού πηδά πάνω από τον τεμπέλη σκύλο.",
            "الثعلب البني السريع يقفز فوق الكلب الكسول. ١٢٣ كتابًا",
            "השועל החום המהיר קופץ מעל הכלב העצלן.",
            "तेज़ भूरी लोमड़ी आलसी कुत्ते के ऊपर कूदती है। १२३४५",
            "สุนัขจิ้งจอกสีน้ำตาลกระโดดข้ามสุนัขขี้เกียจ",
            "Con cáo nâu nhanh nhẹn nhảy qua con chó lười biếng.",
            "Hızlı kahverengi tilki tembel köpeğin üzerinden atlar. İĞÜŞÖÇ ığüşöç",
            "빠른 갈색 여우가 게으른 개를 뛰어넘습니다. 2024년 12월",
            "月之暗面发布了Kimi-K2模型，总参数量1万亿，激活参数320亿。",
            "日本語の文章：東京タワーは高さ333メートルです。カタカナとひらがな。",
            "混合：AI模型（MoE架构）在GPU上运行，速度达到100 tokens/s！",
            "<|im_system|>system<|im_middle|>You are Kimi, an AI assistant created by Moonshot AI.<|im_end|><|im_user|>user<|im_middle|>你好<|im_end|><|im_assistant|>assistant<|im_middle|>",
            "def f(x):\n    return x**2  # square\n\n\nclass A:\n\tpass\r\n",
            "  leading spaces\ttabs\r\nCRLF\n\n\nblank lines   \n   ",
            "Emoji 😀👍🏽👨‍👩‍👧‍👦🇩🇪 and symbols ©™ — “quotes” ‘single’ …");
}
