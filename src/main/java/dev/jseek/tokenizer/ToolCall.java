package dev.jseek.tokenizer;

import java.util.Objects;

/**
 * One tool call of an assistant message, as the DeepSeek-V3 chat template renders it (docs/architecture.md §7.8):
 * {@code type} (usually "function"), the function {@code name} and its {@code arguments} as a JSON string.
 */
public record ToolCall(String type, String name, String arguments) {
    public ToolCall {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(arguments, "arguments");
    }

    /** A call of type "function". */
    public static ToolCall function(String name, String argumentsJson) { return new ToolCall("function", name, argumentsJson); }
}
