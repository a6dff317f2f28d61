package dev.jseek.io;

/**
 * A model (or another input) does not fit in the memory this process has: the message says what did not fit, how
 * much was needed and available, and what to do (a larger heap, a smaller weight type). A user error, reported as
 * one line by the CLI.
 */
public class InsufficientMemoryException extends RuntimeException {
    public InsufficientMemoryException(String message) { super(message); }
}
