package dev.jseek.tokenizer;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The pre-tokenizer of a byte-level BPE tokenizer (docs/architecture.md §7.8): a chain of stages, each splitting every piece the
 * previous stage produced. A {@code Split} stage with behavior {@code Isolated} and {@code invert=false} makes every
 * regex match a piece and every stretch between matches a piece; later stages keep splitting both. Empty pieces are
 * dropped (HF does the same). A {@code ByteLevel} stage with {@code add_prefix_space} prepends a space to each piece
 * not starting with one, and with {@code use_regex} splits with the GPT-2 pattern; its byte mapping is done by the
 * BPE model, so the ByteLevel stage must be the last one.
 *
 * <p>Instances are immutable and thread-safe; per-thread matcher state lives in {@link State}.
 */
final class PreTokenizer {

    /** Receives the final pieces {@code s[start, end)}. */
    interface PieceSink {
        void piece(String s, int start, int end);
    }

    /** One stage of the chain. */
    sealed interface Stage permits RegexSplit, PrefixSpace, FastSplit, FusedDs3 {
        void split(PreTokenizer chain, State st, int k, String s, int start, int end);
    }

    /** Split on the matches of a regex, behavior Isolated (the matches and the gaps both become pieces). */
    record RegexSplit(String source, Pattern pattern) implements Stage {
        @Override public void split(PreTokenizer chain, State st, int k, String s, int start, int end) {
            Matcher m = st.matchers[k];
            if (st.inputs[k] != s) {
                m.reset(s);
                st.inputs[k] = s;
            }
            m.region(start, end);
            int prev = start;
            while (m.find()) {
                int a = m.start(), b = m.end();
                if (prev != a) chain.run(st, k + 1, s, prev, a);
                chain.run(st, k + 1, s, a, b);
                prev = b;
            }
            if (prev != end) chain.run(st, k + 1, s, prev, end);
        }
    }

    /** ByteLevel's add_prefix_space: a space before each piece that does not start with one. */
    record PrefixSpace() implements Stage {
        @Override public void split(PreTokenizer chain, State st, int k, String s, int start, int end) {
            if (s.charAt(start) == ' ') {
                chain.run(st, k + 1, s, start, end);
            } else {
                String t = " " + s.substring(start, end);
                chain.run(st, k + 1, t, 0, t.length());
            }
        }
    }

    /** A hand-written splitter equivalent to a known regex (see {@link FastSplitters}). */
    record FastSplit(String source, FastSplitters.Splitter splitter) implements Stage {
        @Override public void split(PreTokenizer chain, State st, int k, String s, int start, int end) {
            splitter.split(s, start, end, chain, st, k + 1);
        }
    }

    /**
     * DeepSeek-V3's three Split stages (digits, CJK, main regex) fused into one pass; only as the last stage before
     * the sink (the ByteLevel byte mapping happens in the model).
     */
    record FusedDs3() implements Stage {
        @Override public void split(PreTokenizer chain, State st, int k, String s, int start, int end) {
            if (k + 1 == chain.stages.length) {
                FastSplitters.fusedDs3(s, start, end, st.sink);
            } else {
                FastSplitters.fusedDs3(s, start, end, (s2, a, b) -> chain.run(st, k + 1, s2, a, b));
            }
        }
    }

    /** Per-thread state: one matcher per regex stage. */
    static final class State {
        final Matcher[] matchers;
        final String[] inputs;
        PieceSink sink;

        State(Stage[] stages) {
            matchers = new Matcher[stages.length];
            inputs = new String[stages.length];
            for (int i = 0; i < stages.length; i++) {
                if (stages[i] instanceof RegexSplit r) matchers[i] = r.pattern().matcher("");
            }
        }
    }

    /** The GPT-2 pattern HF's ByteLevel pre-tokenizer uses when {@code use_regex} is true. */
    static final String GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    final Stage[] stages;

    /** A chain of these stages; DeepSeek-V3's three fast Split stages are fused into one. */
    PreTokenizer(List<Stage> stages) { this(stages, true); }

    PreTokenizer(List<Stage> stages, boolean fuse) {
        this.stages = (fuse ? FastSplitters.fuse(stages) : stages).toArray(new Stage[0]);
    }

    State newState() { return new State(stages); }

    /** Splits {@code s[start, end)} and passes every final piece to {@code sink}. */
    void split(State st, String s, int start, int end, PieceSink sink) {
        st.sink = sink;
        run(st, 0, s, start, end);
    }

    /** Runs stage {@code k} (or the sink, after the last stage) on a piece; drops empty pieces. */
    void run(State st, int k, String s, int start, int end) {
        if (start == end) return;
        if (k == stages.length) {
            st.sink.piece(s, start, end);
        } else {
            stages[k].split(this, st, k, s, start, end);
        }
    }

    /** A copy of this chain whose regex stages use the plain java.util.regex matcher (no fast splitters). */
    PreTokenizer regexOnly() {
        List<Stage> copy = new java.util.ArrayList<>();
        for (Stage s : stages) {
            if (s instanceof FastSplit f) {
                copy.add(new RegexSplit(f.source(), OnigRegex.compile(f.source())));
            } else if (s instanceof FusedDs3) {
                for (String re : new String[] {FastSplitters.DS3_DIGITS, FastSplitters.DS3_CJK, FastSplitters.DS3_MAIN}) {
                    copy.add(new RegexSplit(re, OnigRegex.compile(re)));
                }
            } else {
                copy.add(s);
            }
        }
        return new PreTokenizer(copy, false);
    }

    /** A copy with DeepSeek-V3's fused stage split back into its three separate fast stages. */
    PreTokenizer unfused() {
        List<Stage> copy = new java.util.ArrayList<>();
        for (Stage s : stages) {
            if (s instanceof FusedDs3) {
                for (String re : new String[] {FastSplitters.DS3_DIGITS, FastSplitters.DS3_CJK, FastSplitters.DS3_MAIN}) {
                    copy.add(FastSplitters.stage(re));
                }
            } else {
                copy.add(s);
            }
        }
        return new PreTokenizer(copy, false);
    }
}
