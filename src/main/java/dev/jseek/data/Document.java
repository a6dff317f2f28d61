package dev.jseek.data;

import java.util.Objects;

/**
 * One document of a {@link Corpus}: its name (the path of the file or zip entry, or {@code file:line} for
 * JSONL) and its full text.
 */
public record Document(String name, String text) {
    public Document {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(text, "text");
    }
}
