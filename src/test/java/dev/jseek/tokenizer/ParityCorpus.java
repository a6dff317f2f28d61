package dev.jseek.tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/** A varied, deterministic corpus for tokenizer parity tests (all seeded). */
final class ParityCorpus {
    private ParityCorpus() {}

    /** {@code count} .java files from the JDK's src.zip, evenly spread over the sorted entry list. */
    static List<String> jdkSources(int count) throws IOException {
        List<String> out = new ArrayList<>();
        try (ZipFile z = new ZipFile(TestData.jdkSrcZip().toFile())) {
            List<? extends ZipEntry> java = z.stream().filter(e -> e.getName().endsWith(".java"))
                    .sorted(Comparator.comparing(ZipEntry::getName)).toList();
            int step = Math.max(1, java.size() / count);
            for (int i = 0; i < java.size() && out.size() < count; i += step) {
                try (var in = z.getInputStream(java.get(i))) {
                    out.add(new String(in.readAllBytes(), StandardCharsets.UTF_8));
                }
            }
        }
        return out;
    }

    /**
     * A line-aligned window of about {@code windowChars} from each of {@code count} .java files of src.zip (files
     * evenly spread, window start seeded): the variety of a few hundred files at a fraction of the bytes.
     */
    static List<String> jdkWindows(int count, int windowChars, long seed) throws IOException {
        Random r = new Random(seed);
        List<String> out = new ArrayList<>();
        for (String f : jdkSources(count)) {
            if (f.length() <= windowChars) {
                out.add(f);
                continue;
            }
            int start = r.nextInt(f.length() - windowChars);
            int a = f.lastIndexOf('\n', start) + 1;
            int b = f.indexOf('\n', a + windowChars);
            out.add(f.substring(a, b < 0 ? f.length() : b + 1));
        }
        return out;
    }

    /** State of the Union addresses (public domain English), {@code count} files. */
    static List<String> english(int count) throws IOException {
        try (Stream<Path> s = Files.list(TestData.sotuDir())) {
            List<Path> files = s.filter(p -> p.toString().endsWith(".txt")).sorted().toList();
            List<String> out = new ArrayList<>();
            int step = Math.max(1, files.size() / count);
            for (int i = 0; i < files.size() && out.size() < count; i += step) out.add(Files.readString(files.get(i)));
            return out;
        }
    }

    static final String[] CJK_SENTENCES = {
        "深度求索发布了新的大型语言模型，它在数学和代码任务上表现出色。",
        "我们使用混合专家架构（MoE），每个词元只激活三百七十亿参数。",
        "北京时间2024年12月26日，DeepSeek-V3正式开源！",
        "東京は日本の首都です。今日はとても良い天気ですね。",
        "ひらがなとカタカナと漢字を混ぜて書きます：コンピューター、プログラミング、機械学習。",
        "「こんにちは」と彼女は言った。……そして、静かに去った。",
        "中文标点：，。！？；：“引号”‘单引号’（括号）【方括号】《书名号》——破折号……省略号",
        "全角数字１２３４５と半角数字12345、そしてＡＢＣ。",
        "한국어 문장도 조금 넣어 봅니다. 안녕하세요!",
        "Смешанный текст: русский, English, 中文, 日本語, العربية, עברית, ελληνικά.",
    };

    static List<String> CJK_SENTENCES_LIST() { return List.of(CJK_SENTENCES); }

    /** Chinese / Japanese text: hand-written sentences plus runs of CJK vocabulary tokens of the tokenizer. */
    static List<String> cjk(Tokenizer t, int count, long seed) {
        List<String> words = new ArrayList<>();
        for (int id = 0; id < t.vocabSize(); id++) {
            String tok = t.tokenString(id);
            if (tok == null || t.isSpecial(id)) continue;
            String text = t.decode(new int[] {id});
            if (!text.isEmpty() && text.codePoints().allMatch(c -> Character.UnicodeScript.of(c) == Character.UnicodeScript.HAN
                    || Character.UnicodeScript.of(c) == Character.UnicodeScript.HIRAGANA
                    || Character.UnicodeScript.of(c) == Character.UnicodeScript.KATAKANA)) {
                words.add(text);
            }
        }
        Random r = new Random(seed);
        String[] punct = {"，", "。", "、", "！", "？", "：", " ", "\n", "1", "23", "abc", "「", "」", " the "};
        List<String> out = new ArrayList<>(List.of(CJK_SENTENCES));
        while (out.size() < count) {
            StringBuilder sb = new StringBuilder();
            int n = 5 + r.nextInt(60);
            for (int i = 0; i < n; i++) {
                sb.append(words.get(r.nextInt(words.size())));
                if (r.nextInt(4) == 0) sb.append(punct[r.nextInt(punct.length)]);
            }
            out.add(sb.toString());
        }
        return out;
    }

    /** Digits of every length 1..40, with separators, signs, decimals, and non-ASCII digits. */
    static List<String> digits() {
        List<String> out = new ArrayList<>();
        StringBuilder d = new StringBuilder();
        for (int len = 1; len <= 40; len++) {
            d.append((char) ('0' + (len * 7) % 10));
            out.add(d.toString());
            out.add("x" + d + "y");
            out.add(" " + d + ".");
            out.add("-" + d + ",5");
            out.add("v" + d + "e" + d + "\n");
        }
        out.add("3.14159265358979 2,718,281,828 1e-10 0x7FFFFFFF 0b1010 1_000_000");
        out.add("٠١٢٣٤٥٦٧٨٩ ١٢٣٤ ۱۲۳ १२३४५ １２３４５６７ Ⅻ ½ ² ³ ⑫ 〇");
        out.add("2024-12-26T12:34:56.789Z 192.168.0.1 +1 (555) 123-4567");
        return out;
    }

    static final String[] EMOJI = {"😀", "👍🏽", "👨‍👩‍👧‍👦", "🇩🇪", "🏳️‍🌈", "❤️", "🫨", "🩷", "✅", "🚀", "©", "™", "☃", "🧑🏿‍💻", "#️⃣", "🤷‍♀️"};

    /** Emoji sequences (ZWJ, skin tones, flags, keycaps, recent ones) in and around text. */
    static List<String> emoji(long seed) {
        Random r = new Random(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            StringBuilder sb = new StringBuilder();
            int n = 1 + r.nextInt(8);
            for (int k = 0; k < n; k++) {
                sb.append(EMOJI[r.nextInt(EMOJI.length)]);
                switch (r.nextInt(5)) {
                    case 0 -> sb.append(' ');
                    case 1 -> sb.append("word");
                    case 2 -> sb.append("!\n");
                    default -> { }
                }
            }
            out.add(sb.toString());
        }
        return out;
    }

    /** Runs of spaces, tabs, CR/LF and Unicode spaces between letters, punctuation and digits. */
    static List<String> whitespace(long seed) {
        String[] ws = {" ", "  ", "\t", "\n", "\r\n", "\r", "\u3000", "\u00A0", "\u2003", "\u000B", "\f", "\u0085", "\u2028"};
        String[] around = {"a", "Z", ".", "。", "1", "", "中", "é", "-", "}", "\"", "ü"};
        Random r = new Random(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            StringBuilder sb = new StringBuilder();
            int n = 1 + r.nextInt(6);
            for (int k = 0; k < n; k++) {
                sb.append(around[r.nextInt(around.length)]);
                int m = 1 + r.nextInt(r.nextBoolean() ? 3 : 12);
                for (int j = 0; j < m; j++) sb.append(ws[r.nextInt(r.nextInt(3) == 0 ? ws.length : 5)]);
            }
            sb.append(around[r.nextInt(around.length)]);
            out.add(sb.toString());
        }
        return out;
    }

    /** Punctuation runs followed by newlines (DeepSeek-V3's "punctuation + line break" tokens, docs/architecture.md §7.2). */
    static List<String> punctuationNewlines(long seed) {
        String[] p = {".", ",", ";", ":", "!", "?", ")", "}", "]", ");", "});", "*/", "-->", "...", "。", "！", "”", "`", "'", "\"", "#", "%", "&&", "||", "=>", "~"};
        String[] nl = {"\n", "\n\n", "\r\n", "\n\n\n\n", " \n", "\t\n", "\n  ", "\n\t\t"};
        Random r = new Random(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            StringBuilder sb = new StringBuilder();
            int n = 1 + r.nextInt(5);
            for (int k = 0; k < n; k++) {
                if (r.nextBoolean()) sb.append(r.nextBoolean() ? "word" : " x");
                if (r.nextInt(3) == 0) sb.append(' ');
                sb.append(p[r.nextInt(p.length)]);
                if (r.nextInt(3) == 0) sb.append(p[r.nextInt(p.length)]);
                sb.append(nl[r.nextInt(nl.length)]);
            }
            out.add(sb.toString());
        }
        return out;
    }

    /** Added tokens (special or not) inside text, adjacent, nested in brackets, and near-misses. */
    static List<String> addedTokensInText(long seed) {
        String[] toks = {SpecialTokens.BOS, SpecialTokens.EOS, SpecialTokens.PAD, SpecialTokens.USER, SpecialTokens.ASSISTANT,
                SpecialTokens.FIM_HOLE, SpecialTokens.FIM_BEGIN, SpecialTokens.FIM_END, SpecialTokens.EOT,
                SpecialTokens.TOOL_CALLS_BEGIN, SpecialTokens.TOOL_SEP, SpecialTokens.TOOL_OUTPUT_END, "<｜place▁holder▁no▁17｜>",
                "<｜place▁holder▁no▁799｜>", "<｜User", "｜>", "<|EOT|", "<｜fim▁", "<", "<｜", "<<", ">"};
        String[] text = {"hello", " world", "abc", "\n", " ", "中文", "123", "int x = a < b;", "List<String>", "..."};
        Random r = new Random(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            StringBuilder sb = new StringBuilder();
            int n = 1 + r.nextInt(8);
            for (int k = 0; k < n; k++) {
                sb.append(r.nextBoolean() ? toks[r.nextInt(toks.length)] : text[r.nextInt(text.length)]);
            }
            out.add(sb.toString());
        }
        return out;
    }

    /** Random strings over a mix of Unicode blocks (letters, marks, symbols, controls, CJK, supplementary). */
    static List<String> randomUnicode(int count, long seed) {
        int[][] ranges = {{0x20, 0x7E}, {0x00, 0x1F}, {0xA0, 0x2FF}, {0x300, 0x36F}, {0x370, 0x52F}, {0x590, 0x6FF},
                {0x900, 0x97F}, {0x2000, 0x206F}, {0x2100, 0x2BFF}, {0x3000, 0x30FF}, {0x4E00, 0x9FFF}, {0xAC00, 0xD7A3},
                {0xFF00, 0xFFEF}, {0x1F300, 0x1FAFF}, {0x20000, 0x2A6DF}, {0x10000, 0x1FFFF}, {0xE000, 0xF8FF}};
        Random r = new Random(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            StringBuilder sb = new StringBuilder();
            int n = 1 + r.nextInt(40);
            for (int k = 0; k < n; k++) {
                int[] rg = ranges[r.nextInt(ranges.length)];
                int c = rg[0] + r.nextInt(rg[1] - rg[0] + 1);
                if (c >= 0xD800 && c <= 0xDFFF) c = 'x';
                sb.appendCodePoint(c);
            }
            out.add(sb.toString());
        }
        return out;
    }

    /** Random byte strings, mostly ill-formed UTF-8 (truncated sequences, stray continuations, overlongs, surrogates). */
    static List<byte[]> invalidUtf8(int count, long seed) {
        Random r = new Random(seed);
        byte[][] pieces = {{(byte) 0xE4, (byte) 0xB8}, {(byte) 0x80}, {(byte) 0xC0, (byte) 0xAF}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
                {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, {(byte) 0xFF}, {(byte) 0xF0, (byte) 0x9F, (byte) 0x98},
                {'a'}, {' '}, {'\n'}, {(byte) 0xE4, (byte) 0xB8, (byte) 0xAD}, {(byte) 0xC3}, {(byte) 0xE0, (byte) 0x80}};
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
            int n = 1 + r.nextInt(20);
            for (int k = 0; k < n; k++) {
                if (r.nextInt(4) == 0) b.write(r.nextInt(256));
                else b.writeBytes(pieces[r.nextInt(pieces.length)]);
            }
            out.add(b.toByteArray());
        }
        return out;
    }

    /** Decoded runs of random vocabulary tokens: text that stresses merge boundaries in every script of the vocab. */
    static List<String> tokenSoup(Tokenizer t, int count, long seed) {
        Random r = new Random(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int n = 1 + r.nextInt(30);
            int[] ids = new int[n];
            for (int k = 0; k < n; k++) ids[k] = 3 + r.nextInt(127_997);
            out.add(t.decode(ids));
        }
        return out;
    }
}
