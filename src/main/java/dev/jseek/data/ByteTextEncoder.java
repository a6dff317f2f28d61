package dev.jseek.data;

import java.nio.charset.StandardCharsets;

/**
 * A deterministic byte-level {@link TextEncoder} for tests and for running the data pipeline without a trained
 * tokenizer: each UTF-8 byte {@code b} of the text is the id {@code b} (0..255), then four special ids follow:
 * EOS = 256, fim_begin = 257, fim_hole = 258, fim_end = 259; vocabulary size 260 (so shards use uint16).
 * Stateless and thread-safe.
 */
public final class ByteTextEncoder implements TextEncoder {
    public static final int EOS = 256, FIM_BEGIN = 257, FIM_HOLE = 258, FIM_END = 259, VOCAB_SIZE = 260;

    @Override public int[] encode(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[b.length];
        for (int i = 0; i < b.length; i++) ids[i] = b[i] & 0xFF;
        return ids;
    }

    @Override public int eosId() { return EOS; }
    @Override public int fimBeginId() { return FIM_BEGIN; }
    @Override public int fimHoleId() { return FIM_HOLE; }
    @Override public int fimEndId() { return FIM_END; }
    @Override public int vocabSize() { return VOCAB_SIZE; }
}
