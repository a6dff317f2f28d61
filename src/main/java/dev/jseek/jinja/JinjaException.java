package dev.jseek.jinja;

/**
 * A template that cannot be parsed (its line named) or a rendering that fails: an undefined value used where Python
 * would raise, a type error, a call of the template's {@code raise_exception(message)}. The message is one line a user
 * can act on; {@link #line()} is the template line (1-based) when known, else 0.
 */
public class JinjaException extends RuntimeException {
    private final int line;

    public JinjaException(String message, int line) {
        super(line > 0 ? message + " (template line " + line + ")" : message);
        this.line = line;
    }

    /** The template line (1-based) the error belongs to, 0 when unknown. */
    public int line() { return line; }

    /**
     * Raised by the template itself through {@code raise_exception(message)}: the message is the template author's
     * (e.g. "Conversation roles must alternate user/assistant/..."), shown as it is.
     */
    public static final class Raised extends JinjaException {
        private final String templateMessage;

        Raised(String message, int line) {
            super(message, line);
            this.templateMessage = message;
        }

        /** The message the template passed to {@code raise_exception}. */
        public String templateMessage() { return templateMessage; }
    }
}
