package dev.jseek.tokenizer;

import java.util.List;

import static dev.jseek.tokenizer.SpecialTokens.*;

/**
 * The chat template of the DeepSeek-V3 release (tokenizer_config.json, docs/architecture.md §7.8), rendered byte-for-byte like HF's
 * {@code apply_chat_template} with jinja2, quirks included:
 * <ul>
 * <li>output = BOS + all system messages joined by "\n\n" (no role marker) + the other messages in order;</li>
 * <li>user: {@code <｜User｜>content}; assistant with content: {@code <｜Assistant｜>content<｜end▁of▁sentence｜>}, but
 *     directly after tool output {@code <｜tool▁outputs▁end｜>content<｜end▁of▁sentence｜>};</li>
 * <li>assistant with content null: its tool calls; the first call of the whole conversation opens with
 *     {@code <｜Assistant｜><｜tool▁calls▁begin｜>}, every later one starts with "\n" and is followed by
 *     {@code <｜tool▁calls▁end｜><｜end▁of▁sentence｜>} (so a single call gets no closing pair, and a second
 *     tool-calling turn never reopens) — the "first" flags are never reset;</li>
 * <li>tool: the first output of the conversation opens {@code <｜tool▁outputs▁begin｜>}, later ones start with
 *     "\n"; at the end {@code <｜tool▁outputs▁end｜>} if still in tool output, else {@code <｜Assistant｜>} when a
 *     generation prompt is asked for.</li>
 * </ul>
 * An assistant message with both content and tool calls renders its content only; unknown roles render nothing.
 * Encode the result with {@code addBos=false} (it already starts with BOS): see {@link #encode}.
 */
public final class ChatTemplate {
    private ChatTemplate() {}

    /** The prompt text of a conversation (see class doc). */
    public static String render(List<Message> messages, boolean addGenerationPrompt) {
        StringBuilder system = new StringBuilder();
        boolean firstSystem = true;
        for (Message m : messages) {
            if (m.role().equals("system")) {
                String c = required(m);
                if (!firstSystem) system.append("\n\n");
                system.append(c);
                firstSystem = false;
            }
        }
        StringBuilder out = new StringBuilder(BOS).append(system);
        boolean isFirst = false, isTool = false, isOutputFirst = true;
        for (Message m : messages) {
            switch (m.role()) {
                case "user" -> {
                    isTool = false;
                    out.append(USER).append(required(m));
                }
                case "assistant" -> {
                    if (m.content() == null) {
                        isTool = false;
                        for (ToolCall t : m.toolCalls()) {
                            if (!isFirst) {
                                out.append(ASSISTANT).append(TOOL_CALLS_BEGIN);
                                call(out, t);
                                isFirst = true;
                            } else {
                                out.append('\n');
                                call(out, t);
                                out.append(TOOL_CALLS_END).append(EOS);
                            }
                        }
                    } else if (isTool) {
                        out.append(TOOL_OUTPUTS_END).append(m.content()).append(EOS);
                        isTool = false;
                    } else {
                        out.append(ASSISTANT).append(m.content()).append(EOS);
                    }
                }
                case "tool" -> {
                    isTool = true;
                    String c = required(m);
                    if (isOutputFirst) {
                        out.append(TOOL_OUTPUTS_BEGIN).append(TOOL_OUTPUT_BEGIN).append(c).append(TOOL_OUTPUT_END);
                        isOutputFirst = false;
                    } else {
                        out.append('\n').append(TOOL_OUTPUT_BEGIN).append(c).append(TOOL_OUTPUT_END);
                    }
                }
                default -> { } // system handled above; other roles render nothing
            }
        }
        if (isTool) out.append(TOOL_OUTPUTS_END);
        if (addGenerationPrompt && !isTool) out.append(ASSISTANT);
        return out.toString();
    }

    /** The prompt ids of a conversation: the rendered text encoded without adding BOS (it is in the text). */
    public static int[] encode(Tokenizer tokenizer, List<Message> messages, boolean addGenerationPrompt) {
        return tokenizer.encode(render(messages, addGenerationPrompt), false);
    }

    private static void call(StringBuilder out, ToolCall t) {
        out.append(TOOL_CALL_BEGIN).append(t.type()).append(TOOL_SEP).append(t.name())
                .append("\n```json\n").append(t.arguments()).append("\n```").append(TOOL_CALL_END);
    }

    private static String required(Message m) {
        if (m.content() == null) {
            throw new IllegalArgumentException("a '" + m.role() + "' message needs content (the template concatenates it)");
        }
        return m.content();
    }
}
