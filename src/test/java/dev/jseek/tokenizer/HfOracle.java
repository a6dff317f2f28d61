package dev.jseek.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The reference: Hugging Face tokenizers (Rust, v0.21 via DJL's JNI binding), configured as docs/architecture.md §7.8 asks
 * (add_special_tokens=false, no truncation, no padding). Test scope only.
 */
final class HfOracle implements AutoCloseable {
    final HuggingFaceTokenizer hf;

    HfOracle(Path tokenizerJson) throws IOException {
        hf = HuggingFaceTokenizer.builder().optTokenizerPath(tokenizerJson).optAddSpecialTokens(false)
                .optTruncation(false).optPadding(false).optMaxLength(1 << 30).build();
    }

    int[] encode(String s) { return toInt(hf.encode(s).getIds()); }

    int[][] encodeBatch(List<String> texts) {
        Encoding[] es = hf.batchEncode(texts);
        int[][] out = new int[es.length][];
        for (int i = 0; i < es.length; i++) out[i] = toInt(es[i].getIds());
        return out;
    }

    /** Char spans (start, end in code points, as Rust chars) of the tokens of {@code s}. */
    long[] spans(String s) {
        var sp = hf.encode(s).getCharTokenSpans();
        long[] out = new long[sp.length];
        for (int i = 0; i < sp.length; i++) out[i] = ((long) sp[i].getStart() << 32) | sp[i].getEnd();
        return out;
    }

    String decode(int[] ids, boolean skipSpecial) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) l[i] = ids[i];
        return hf.decode(l, skipSpecial);
    }

    static int[] toInt(long[] ids) {
        int[] r = new int[ids.length];
        for (int i = 0; i < ids.length; i++) r[i] = Math.toIntExact(ids[i]);
        return r;
    }

    @Override public void close() { hf.close(); }
}
