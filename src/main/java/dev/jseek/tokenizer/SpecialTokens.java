package dev.jseek.tokenizer;

import java.util.List;

/**
 * The DeepSeek-V3 special and added token strings (docs/architecture.md §7.8; ids there are those of the released tokenizer:
 * BOS 0, EOS 1, pad 2, fim hole/begin/end 128800/128801/128802, User 128803, Assistant 128804, EOT 128805, tool
 * tokens 128806..128814). The delimiters are FULLWIDTH VERTICAL LINE U+FF5C and U+2581 "▁" (byte-exact).
 */
public final class SpecialTokens {
    private SpecialTokens() {}

    public static final String BOS = "<｜begin▁of▁sentence｜>";
    public static final String EOS = "<｜end▁of▁sentence｜>";
    public static final String PAD = "<｜▁pad▁｜>";
    public static final String FIM_HOLE = "<｜fim▁hole｜>";
    public static final String FIM_BEGIN = "<｜fim▁begin｜>";
    public static final String FIM_END = "<｜fim▁end｜>";
    public static final String USER = "<｜User｜>";
    public static final String ASSISTANT = "<｜Assistant｜>";
    public static final String EOT = "<|EOT|>";
    public static final String TOOL_CALLS_BEGIN = "<｜tool▁calls▁begin｜>";
    public static final String TOOL_CALLS_END = "<｜tool▁calls▁end｜>";
    public static final String TOOL_CALL_BEGIN = "<｜tool▁call▁begin｜>";
    public static final String TOOL_CALL_END = "<｜tool▁call▁end｜>";
    public static final String TOOL_OUTPUTS_BEGIN = "<｜tool▁outputs▁begin｜>";
    public static final String TOOL_OUTPUTS_END = "<｜tool▁outputs▁end｜>";
    public static final String TOOL_OUTPUT_BEGIN = "<｜tool▁output▁begin｜>";
    public static final String TOOL_OUTPUT_END = "<｜tool▁output▁end｜>";
    public static final String TOOL_SEP = "<｜tool▁sep｜>";

    /** The tokens jseek's BPE trainer reserves, in id order 0..17 (see {@link BpeTrainer}). */
    public static final List<String> TRAINER_ORDER = List.of(BOS, EOS, PAD, FIM_HOLE, FIM_BEGIN, FIM_END, USER,
            ASSISTANT, EOT, TOOL_CALLS_BEGIN, TOOL_CALLS_END, TOOL_CALL_BEGIN, TOOL_CALL_END, TOOL_OUTPUTS_BEGIN,
            TOOL_OUTPUTS_END, TOOL_OUTPUT_BEGIN, TOOL_OUTPUT_END, TOOL_SEP);

    /** Whether DeepSeek-V3 flags this token special (skipped by decode with skipSpecialTokens): BOS, EOS, pad, EOT. */
    static boolean isSpecialInV3(String token) {
        return token.equals(BOS) || token.equals(EOS) || token.equals(PAD) || token.equals(EOT);
    }
}
