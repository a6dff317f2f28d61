package dev.jseek.cli;

/**
 * A mistake in what the user gave us (a file, a flag, a config field): the message names the file, field and
 * value, and the CLI prints it without a stack trace. Library code throws its own typed exceptions
 * (e.g. {@code dev.jseek.io.FormatException}); commands may wrap them in this.
 */
public class UserException extends RuntimeException {
    public UserException(String message) { super(message); }
    public UserException(String message, Throwable cause) { super(message, cause); }
}
