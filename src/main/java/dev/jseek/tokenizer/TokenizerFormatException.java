package dev.jseek.tokenizer;

/**
 * A tokenizer file (tokenizer.json, tokenizer_config.json) that jseek cannot use: malformed JSON, a missing or
 * ill-typed field, or a feature jseek does not implement. The message names the file, the field (as a JSON path
 * such as {@code pre_tokenizer.pretokenizers[2].behavior}) and the offending value.
 */
public final class TokenizerFormatException extends RuntimeException {
    public TokenizerFormatException(String message) { super(message); }
    public TokenizerFormatException(String message, Throwable cause) { super(message, cause); }

    static TokenizerFormatException field(Object file, String field, String problem) {
        return new TokenizerFormatException(file + ": field '" + field + "': " + problem);
    }
}
