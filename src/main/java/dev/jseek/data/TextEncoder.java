package dev.jseek.data;

/**
 * The tokenizer as the data pipeline sees it: text to token ids plus the special ids that pre-training data
 * needs (docs/architecture.md §7.2, §7.8: EOS {@code <｜end▁of▁sentence｜>} = 1, {@code <｜fim▁begin｜>} = 128801,
 * {@code <｜fim▁hole｜>} = 128800, {@code <｜fim▁end｜>} = 128802 for the DeepSeek-V3 tokenizer).
 *
 * <p>Contract: {@link #encode} returns the ids of the text alone, with no BOS/EOS added (the pipeline appends
 * EOS and FIM markers itself); every id is in {@code [0, vocabSize())}; the same text always gives the same ids;
 * implementations are safe to call from several threads at once ({@code data prepare} tokenizes in parallel).
 */
public interface TextEncoder {
    /** Token ids of {@code text}, without any special token added. */
    int[] encode(String text);

    /** Id of the end-of-document token (DeepSeek-V3: 1). */
    int eosId();

    /** Id of {@code <｜fim▁begin｜>} (DeepSeek-V3: 128801). */
    int fimBeginId();

    /** Id of {@code <｜fim▁hole｜>} (DeepSeek-V3: 128800). */
    int fimHoleId();

    /** Id of {@code <｜fim▁end｜>} (DeepSeek-V3: 128802). */
    int fimEndId();

    /** Number of ids the encoder can produce: every id is below it. Decides the shard dtype (uint16 or uint32). */
    int vocabSize();
}
