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
 *
 * <p>No Jinja engine: a tokenizer that brings a template ({@link Tokenizer#chatTemplate()}: tokenizer_config.json's
 * {@code chat_template}, a GGUF's {@code tokenizer.chat_template}) is rendered only when that template is DeepSeek-V3's
 * ({@link #DEEPSEEK_V3}, compared as text, surrounding whitespace ignored); any other is refused by {@link #encode}
 * with a message naming the tokenizer. A tokenizer without a template (one jseek trained) gets DeepSeek-V3's.
 */
public final class ChatTemplate {
    private ChatTemplate() {}

    /** DeepSeek-V3's chat template text (its tokenizer_config.json {@code chat_template}), the one {@link #render} implements. */
    public static final String DEEPSEEK_V3 = resource("deepseek-v3-chat-template.jinja");

    private static String resource(String name) {
        try (var in = ChatTemplate.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("resource " + name + " is missing from the jar");
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** True when {@code template} (null: none given) is rendered by {@link #render}: absent, or DeepSeek-V3's. */
    public static boolean renders(String template) { return template == null || template.strip().equals(DEEPSEEK_V3.strip()); }

    /**
     * Null when chat prompts of {@code t} can be rendered ({@link #renders} its template), else the one-line reason
     * naming the tokenizer's source.
     */
    public static String unsupported(Tokenizer t) {
        if (renders(t.chatTemplate())) return null;
        String head = t.chatTemplate().strip().replaceAll("\\s+", " ");
        if (head.length() > 60) head = head.substring(0, 60) + "...";
        return "the chat template of " + t.source() + " (\"" + head + "\") is not DeepSeek-V3's; jseek renders only DeepSeek-V3's "
                + "chat template (no Jinja engine): use completions, or give a tokenizer whose chat_template is DeepSeek-V3's";
    }

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

    /**
     * The prompt ids of a conversation: the rendered text encoded without adding BOS (it is in the text).
     * IllegalArgumentException ({@link #unsupported}) when the tokenizer's own chat template is not DeepSeek-V3's.
     */
    public static int[] encode(Tokenizer tokenizer, List<Message> messages, boolean addGenerationPrompt) {
        String why = unsupported(tokenizer);
        if (why != null) throw new IllegalArgumentException(why);
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
