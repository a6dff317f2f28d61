package dev.jseek.data;

/**
 * Bad input to the data pipeline: a malformed corpus file, a corrupted or truncated shard, a manifest that does
 * not match its shards, settings that contradict an existing output directory. The message names the file, the
 * field or position, and what is wrong; the CLI prints it without a stack trace.
 */
public class DataFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public DataFormatException(String message) { super(message); }
    public DataFormatException(String message, Throwable cause) { super(message, cause); }
}
