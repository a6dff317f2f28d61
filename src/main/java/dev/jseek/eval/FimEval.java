package dev.jseek.eval;

import dev.jseek.data.Corpus;
import dev.jseek.data.Document;
import dev.jseek.data.Hashing;
import dev.jseek.data.Split;
import dev.jseek.infer.Generator;
import dev.jseek.infer.Sampler;
import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.tokenizer.StreamingDecoder;
import dev.jseek.tokenizer.Prompts;
import dev.jseek.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Java fill-in-the-middle exact match on held-out files. A file is held out when the data set's own split rule
 * ({@link Split#of(String, long, double)} with the manifest's seed and validation fraction) puts it in the
 * validation split, so no training window ever contained it. From each of {@code n} such files (evenly spaced over
 * the held-out files in corpus order) one real line is removed: a seeded choice among lines whose stripped text is
 * 8-100 characters long and is code (not a comment, import or package line). The hole is the line's text after its
 * indentation; the prompt is the PSM layout of pre-training (report §3.2.1, {@code dev.jseek.data.FimTransform}):
 * {@code fim_begin prefix fim_hole suffix fim_end}, with the prefix cut to its last {@code prefixChars} and the
 * suffix to its first {@code suffixChars} characters at line boundaries. The model writes greedily until EOS or a
 * newline; the answer is an exact match when it equals the line's text, both stripped of surrounding whitespace.
 */
public final class FimEval {
    private FimEval() {}

    /** One example: the file, the removed line's number (1-based), prefix, the line's text (the hole) and suffix. */
    public record Example(String file, int line, String prefix, String middle, String suffix) {}

    /** The outcome: examples, exact matches, and a few (expected, produced) pairs. */
    public record Result(int examples, int exact, List<String[]> samples) {
        public double accuracy() { return examples == 0 ? Double.NaN : (double) exact / examples; }
    }

    /** The held-out documents of {@code corpus} under (seed, valFraction), in corpus order. */
    public static List<Document> heldOut(Corpus corpus, long seed, double valFraction) {
        if (!(valFraction > 0)) throw new IllegalArgumentException("the data set has no validation split (val fraction " + valFraction + "), so no file is held out");
        try (Stream<Document> s = corpus.documents()) {
            return s.filter(d -> !d.text().isEmpty() && Split.of(d.text(), seed, valFraction) == Split.VAL).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(corpus.spec() + ": " + e.getMessage(), e);
        }
    }

    /** Up to {@code n} examples from {@code docs} (evenly spaced; files without a usable line are passed over). */
    public static List<Example> examples(List<Document> docs, int n, long seed, int prefixChars, int suffixChars) {
        List<Example> out = new ArrayList<>();
        if (docs.isEmpty() || n < 1) return out;
        int m = docs.size(), step = Math.max(1, m / n);
        // every file once, evenly spaced first: 0, step, 2 step, ..., then 1, 1 + step, ...
        for (int start = 0; start < step && out.size() < n; start++)
            for (int idx = start; idx < m && out.size() < n; idx += step) {
                Example e = example(docs.get(idx), seed, prefixChars, suffixChars);
                if (e != null) out.add(e);
            }
        return out;
    }

    /** The example of one document, or null when it has no usable line. */
    public static Example example(Document d, long seed, int prefixChars, int suffixChars) {
        String text = d.text();
        List<int[]> cand = new ArrayList<>(); // {start of content, end of content (before '\n'), line number}
        int start = 0, line = 1;
        while (start < text.length()) {
            int end = text.indexOf('\n', start);
            if (end < 0) end = text.length();
            int cs = start;
            while (cs < end && (text.charAt(cs) == ' ' || text.charAt(cs) == '\t')) cs++;
            int ce = end;
            while (ce > cs && Character.isWhitespace(text.charAt(ce - 1))) ce--;
            if (usable(text.substring(cs, ce)) && end < text.length()) cand.add(new int[] {cs, ce, line});
            start = end + 1;
            line++;
        }
        if (cand.isEmpty()) return null;
        int[] c = cand.get(new SplittableRandom(Hashing.combine(seed, Hashing.hash(text))).nextInt(cand.size()));
        String prefix = text.substring(0, c[0]), suffix = text.substring(c[1]);
        if (prefix.length() > prefixChars) {
            int cut = prefix.indexOf('\n', prefix.length() - prefixChars);
            prefix = prefix.substring(cut < 0 ? prefix.length() - prefixChars : cut + 1);
        }
        if (suffix.length() > suffixChars) {
            int cut = suffix.lastIndexOf('\n', suffixChars);
            suffix = suffix.substring(0, cut <= 0 ? suffixChars : cut + 1);
        }
        return new Example(d.name(), c[2], prefix, text.substring(c[0], c[1]), suffix);
    }

    static boolean usable(String s) {
        if (s.length() < 8 || s.length() > 100) return false;
        return !(s.startsWith("//") || s.startsWith("*") || s.startsWith("/*") || s.startsWith("import ") || s.startsWith("package ")
                || s.startsWith("@"));
    }

    /** The PSM prompt of an example ({@link Prompts#fim}). */
    public static int[] prompt(Tokenizer tok, Example e) {
        return Prompts.fim(tok, e.prefix(), e.suffix());
    }

    /** The model's answer for an example: greedy, up to {@code maxNew} tokens, cut at the first newline. */
    public static String fill(Generator g, Tokenizer tok, Example e, int maxNew) {
        StreamingDecoder dec = tok.streamingDecoder(true);
        StringBuilder sb = new StringBuilder();
        g.generateWhile(prompt(tok, e), maxNew, Sampler.greedy(), new int[] {tok.eosId()}, id -> {
            if (id != tok.eosId()) sb.append(dec.next(id));
            return sb.indexOf("\n") < 0;
        });
        sb.append(dec.flush());
        int nl = sb.indexOf("\n");
        return nl < 0 ? sb.toString() : sb.substring(0, nl);
    }

    /** Scores the examples. */
    public static Result run(DeepSeekV3 m, Tokenizer tok, List<Example> examples, int maxNew, int keepSamples) {
        if (tok.fimBeginId() < 0 || tok.fimHoleId() < 0 || tok.fimEndId() < 0)
            throw new IllegalArgumentException("the tokenizer has no FIM tokens (<｜fim▁begin｜>, <｜fim▁hole｜>, <｜fim▁end｜>)");
        Generator g = new Generator(m, AttnMode.ABSORB);
        int exact = 0;
        List<String[]> samples = new ArrayList<>();
        for (Example e : examples) {
            String got = fill(g, tok, e, maxNew);
            boolean ok = got.strip().equals(e.middle().strip());
            if (ok) exact++;
            if (samples.size() < keepSamples) samples.add(new String[] {e.file() + ":" + e.line(), e.middle(), got.strip()});
        }
        return new Result(examples.size(), exact, samples);
    }
}
