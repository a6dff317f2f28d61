package dev.jseek.data;

import java.util.List;
import java.util.OptionalLong;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/** An in-memory corpus for tests: documents named doc-0, doc-1, ... */
final class ListCorpus implements Corpus {
    private final String spec;
    private final List<String> texts;

    ListCorpus(String spec, List<String> texts) {
        this.spec = spec;
        this.texts = List.copyOf(texts);
    }

    @Override public String spec() { return spec; }

    @Override public Stream<Document> documents() {
        return IntStream.range(0, texts.size()).mapToObj(i -> new Document("doc-" + i, texts.get(i)));
    }

    @Override public OptionalLong documentCountHint() { return OptionalLong.of(texts.size()); }

    /** n pseudo-random documents of 0..maxLen chars (ASCII words, some non-ASCII and emoji), deterministic in seed. */
    static List<String> randomTexts(int n, int maxLen, long seed) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        String[] words = {"alpha", "beta", "γάμμα", "delta", "😀", "x", "\n", "class Foo {}", "日本語", " "};
        List<String> out = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            int len = r.nextInt(maxLen + 1);
            StringBuilder sb = new StringBuilder();
            while (sb.length() < len) sb.append(words[r.nextInt(words.length)]).append(' ');
            out.add(len == 0 ? "d" + i : sb.append(i).toString());
        }
        return out;
    }
}
