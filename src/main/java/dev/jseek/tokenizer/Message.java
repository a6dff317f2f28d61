package dev.jseek.tokenizer;

import java.util.List;
import java.util.Objects;

/**
 * One chat message for {@link ChatTemplate}: a role ("system", "user", "assistant", "tool"; other roles are
 * ignored by the DeepSeek-V3 template), its content (null only for an assistant message that makes tool calls) and
 * its tool calls (assistant only; empty otherwise).
 */
public record Message(String role, String content, List<ToolCall> toolCalls) {
    public Message {
        Objects.requireNonNull(role, "role");
        toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
    }

    public static Message system(String content) { return new Message("system", content, List.of()); }
    public static Message user(String content) { return new Message("user", content, List.of()); }
    public static Message assistant(String content) { return new Message("assistant", content, List.of()); }
    public static Message tool(String content) { return new Message("tool", content, List.of()); }

    /** An assistant turn that only calls tools (content null). */
    public static Message toolCalls(ToolCall... calls) { return new Message("assistant", null, List.of(calls)); }
}
