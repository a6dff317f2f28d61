package dev.jseek.io;

/**
 * A file jseek reads (safetensors, index json, .npy, config) is malformed or does not match what the caller
 * expects. The message always names the file, the tensor or field, and the offending value, so the CLI can print
 * it without a stack trace.
 */
public class FormatException extends RuntimeException {
    public FormatException(String message) { super(message); }
    public FormatException(String message, Throwable cause) { super(message, cause); }
}
