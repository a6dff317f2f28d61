package dev.jseek.tokenizer;

import java.util.Arrays;
import java.util.List;

/**
 * The added tokens of a tokenizer.json (docs/architecture.md §7.8: BOS/EOS/pad, placeholders, FIM, chat and tool markers), and how
 * HF tokenizers finds them in raw text before pre-tokenization: first the tokens with {@code normalized=false}
 * are matched in the whole text, then the tokens with {@code normalized=true} in each remaining stretch (jseek
 * supports no normalizer, so both match the raw text). Each pass finds non-overlapping leftmost-longest matches,
 * scanning on after each match (like the Aho-Corasick LeftmostLongest iterator HF uses); {@code single_word}
 * discards a match touching a word character, {@code lstrip}/{@code rstrip} swallow the whitespace around it.
 */
final class AddedVocabulary {

    /** One added token as in tokenizer.json, with the id HF assigns to it. */
    record AddedToken(int id, String content, boolean special, boolean normalized, boolean lstrip, boolean rstrip,
                      boolean singleWord) {}

    /** Receives the stretches of the text: an added token ({@code id >= 0}) or plain text ({@code id == -1}). */
    interface SegmentSink {
        void segment(String s, int start, int end, int id);
    }

    final List<AddedToken> tokens;
    private final Trie raw;
    private final Trie normalized;

    AddedVocabulary(List<AddedToken> tokens) {
        this.tokens = List.copyOf(tokens);
        raw = new Trie(tokens.stream().filter(t -> !t.normalized()).toList());
        normalized = new Trie(tokens.stream().filter(AddedToken::normalized).toList());
    }

    /** Splits {@code s} into added tokens and text stretches, in order. */
    void split(String s, SegmentSink sink) {
        if (raw.isEmpty()) {
            splitNormalized(s, 0, s.length(), sink);
            return;
        }
        int n = s.length();
        int startOffset = 0;
        int i = 0;
        int[] m = new int[3];
        while (raw.findNext(s, i, n, m)) {
            AddedToken t = raw.tokens[m[2]];
            int start = m[0], stop = m[1];
            i = stop;
            if (!accept(t, s, 0, n, start, stop)) continue;
            if (t.lstrip()) start = Math.max(leftSpaceStart(s, 0, start), startOffset);
            if (t.rstrip()) stop = rightSpaceEnd(s, stop, n);
            if (startOffset < start) splitNormalized(s, startOffset, start, sink);
            sink.segment(s, start, stop, t.id());
            startOffset = stop;
        }
        if (startOffset != n) splitNormalized(s, startOffset, n, sink);
    }

    /** The second pass, on one text stretch {@code s[from, to)}. */
    private void splitNormalized(String s, int from, int to, SegmentSink sink) {
        if (normalized.isEmpty()) {
            if (from < to) sink.segment(s, from, to, -1);
            return;
        }
        int startOffset = from;
        int i = from;
        int[] m = new int[3];
        while (normalized.findNext(s, i, to, m)) {
            AddedToken t = normalized.tokens[m[2]];
            int start = m[0], stop = m[1];
            i = stop;
            if (!accept(t, s, from, to, start, stop)) continue;
            if (t.lstrip()) start = Math.max(leftSpaceStart(s, from, start), startOffset);
            if (t.rstrip()) stop = rightSpaceEnd(s, stop, to);
            if (startOffset < start) sink.segment(s, startOffset, start, -1);
            sink.segment(s, start, stop, t.id());
            startOffset = stop;
        }
        if (startOffset < to) sink.segment(s, startOffset, to, -1);
    }

    /** single_word: the match must not touch a word character inside the stretch [from, to). */
    private static boolean accept(AddedToken t, String s, int from, int to, int start, int stop) {
        if (!t.singleWord()) return true;
        boolean startSpace = start == from || !UnicodeProps.isWordChar(s.codePointBefore(start));
        boolean stopSpace = stop == to || !UnicodeProps.isWordChar(s.codePointAt(stop));
        return startSpace && stopSpace;
    }

    private static int leftSpaceStart(String s, int from, int start) {
        int i = start;
        while (i > from) {
            int cp = s.codePointBefore(i);
            if (!UnicodeProps.isWhiteSpace(cp)) break;
            i -= Character.charCount(cp);
        }
        return i;
    }

    private static int rightSpaceEnd(String s, int stop, int to) {
        int i = stop;
        while (i < to) {
            int cp = s.codePointAt(i);
            if (!UnicodeProps.isWhiteSpace(cp)) break;
            i += Character.charCount(cp);
        }
        return i;
    }

    /** A char trie over token contents for leftmost-longest search. */
    static final class Trie {
        final AddedToken[] tokens;
        private final long[] keys; // (node << 16 | char) + 1, 0 = empty
        private final int[] child;
        private final int mask;
        private int[] terminal = new int[16]; // node -> token index or -1
        private int nodes = 1;
        private final long[] firstChars = new long[1024]; // bit set over the 65536 chars
        private int singleFirst = -1; // the first char of every token when they all share one, else -1

        Trie(List<AddedToken> list) {
            tokens = list.toArray(new AddedToken[0]);
            int total = 1;
            for (AddedToken t : tokens) total += t.content().length();
            int cap = Integer.highestOneBit(Math.max(16, total * 2)) * 2;
            keys = new long[cap];
            child = new int[cap];
            mask = cap - 1;
            Arrays.fill(terminal, -1);
            for (int ti = 0; ti < tokens.length; ti++) {
                String c = tokens[ti].content();
                if (c.isEmpty()) continue; // HF ignores empty added tokens
                firstChars[c.charAt(0) >>> 6] |= 1L << c.charAt(0);
                int node = 0;
                for (int k = 0; k < c.length(); k++) {
                    int next = get(node, c.charAt(k));
                    if (next < 0) {
                        next = nodes++;
                        if (next >= terminal.length) {
                            int old = terminal.length;
                            terminal = Arrays.copyOf(terminal, old * 2);
                            Arrays.fill(terminal, old, terminal.length, -1);
                        }
                        put(node, c.charAt(k), next);
                    }
                    node = next;
                }
                terminal[node] = ti; // a later token with the same content replaces an earlier one
            }
            for (AddedToken t : tokens) {
                if (t.content().isEmpty()) continue;
                char c = t.content().charAt(0);
                if (singleFirst == -1) singleFirst = c;
                else if (singleFirst != c) singleFirst = -2;
            }
            if (singleFirst < 0) singleFirst = -1;
        }

        boolean isEmpty() { return tokens.length == 0; }

        private int slot(long key) {
            long h = key * 0x9E3779B97F4A7C15L;
            return (int) (h >>> 40) & mask;
        }

        private int get(int node, char c) {
            long key = (((long) node << 16) | c) + 1;
            int i = slot(key);
            while (true) {
                long k = keys[i];
                if (k == key) return child[i];
                if (k == 0) return -1;
                i = (i + 1) & mask;
            }
        }

        private void put(int node, char c, int next) {
            long key = (((long) node << 16) | c) + 1;
            int i = slot(key);
            while (keys[i] != 0) i = (i + 1) & mask;
            keys[i] = key;
            child[i] = next;
        }

        /**
         * Finds the leftmost-longest match in {@code s[from, to)}; stores start, end, token index in {@code m}.
         */
        boolean findNext(String s, int from, int to, int[] m) {
            for (int i = from; i < to; i++) {
                if (singleFirst >= 0) {
                    i = s.indexOf(singleFirst, i, to); // vectorized scan (DeepSeek-V3: every added token starts with '<')
                    if (i < 0) return false;
                } else {
                    char c0 = s.charAt(i);
                    if ((firstChars[c0 >>> 6] & (1L << c0)) == 0) continue;
                }
                int node = 0, best = -1, bestEnd = -1;
                for (int j = i; j < to; j++) {
                    node = get(node, s.charAt(j));
                    if (node < 0) break;
                    if (terminal[node] >= 0) {
                        best = terminal[node];
                        bestEnd = j + 1;
                    }
                }
                if (best >= 0) {
                    m[0] = i;
                    m[1] = bestEnd;
                    m[2] = best;
                    return true;
                }
            }
            return false;
        }
    }
}
