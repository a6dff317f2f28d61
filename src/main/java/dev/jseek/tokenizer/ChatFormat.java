package dev.jseek.tokenizer;

import java.util.List;

import static dev.jseek.tokenizer.SpecialTokens.*;

/**
 * The chat templates of the DeepSeek family that jseek renders, each the exact text a release ships
 * (tokenizer_config.json {@code chat_template}, GGUF {@code tokenizer.chat_template}; resources beside this class) and
 * a hand-written renderer giving byte-for-byte what Jinja gives for it (docs/tokenizer.md, "Chat templates"; tested
 * against {@code @huggingface/jinja} rendering the same texts). Messages map to the template's variables as
 * transformers passes OpenAI-style messages: {@code content} null is {@code none}; a message's {@code tool_calls} key
 * is present only when it has tool calls; {@code bos_token} / {@code eos_token} are the tokenizer's.
 * <ul>
 * <li>{@link #DEEPSEEK_V3} — DeepSeek-V3, see {@link ChatTemplate};</li>
 * <li>{@link #DEEPSEEK_R1} / {@link #DEEPSEEK_R1_2025_01} — DeepSeek-R1 and its distilled models, the release as
 *     updated in February 2025 (the generation prompt opens {@code <think>\n}) and the January original (it does not):
 *     only the last system message counts; an earlier assistant answer loses everything up to its last
 *     {@code </think>}; tool calls and outputs as in V3, quirks included;</li>
 * <li>{@link #DEEPSEEK_V3_0324} — DeepSeek-V3-0324: the user turn carries {@code <｜Assistant｜>}; an assistant turn
 *     with tool calls renders its content (if any) then every call, opening {@code <｜tool▁calls▁begin｜>} and closing
 *     {@code <｜tool▁calls▁end｜><｜end▁of▁sentence｜>} each time; tool outputs reopen after each tool-call turn; the
 *     generation prompt only follows an assistant turn;</li>
 * <li>{@link #DEEPSEEK_V2} — DeepSeek-V2 / V2-Lite chat: {@code User: ...\n\n}, {@code Assistant: ...<eos>}, system
 *     text followed by a blank line; tool messages render nothing.</li>
 * </ul>
 */
public enum ChatFormat {
    DEEPSEEK_V3("deepseek-v3", "deepseek-v3-chat-template.jinja") {
        @Override String render(List<Message> messages, boolean gen, String bos, String eos) {
            return v3(messages, gen, bos);
        }
    },
    DEEPSEEK_R1("deepseek-r1", "deepseek-r1-chat-template.jinja") {
        @Override String render(List<Message> messages, boolean gen, String bos, String eos) { return r1(messages, gen, bos, true); }
    },
    DEEPSEEK_R1_2025_01("deepseek-r1 (January 2025)", "deepseek-r1-2025-01-chat-template.jinja") {
        @Override String render(List<Message> messages, boolean gen, String bos, String eos) { return r1(messages, gen, bos, false); }
    },
    DEEPSEEK_V3_0324("deepseek-v3-0324", "deepseek-v3-0324-chat-template.jinja") {
        @Override String render(List<Message> messages, boolean gen, String bos, String eos) { return v3_0324(messages, gen, bos); }
    },
    DEEPSEEK_V2("deepseek-v2", "deepseek-v2-chat-template.jinja") {
        @Override String render(List<Message> messages, boolean gen, String bos, String eos) { return v2(messages, gen, bos, eos); }
    };

    /** A short name for messages. */
    public final String label;
    /** The template text as the release ships it. */
    public final String template;
    private final String canonical;

    ChatFormat(String label, String resource) {
        this.label = label;
        this.template = resource(resource);
        this.canonical = canonical(template);
    }

    /**
     * The prompt text of a conversation; {@code bos} / {@code eos} are the tokenizer's token strings. An
     * IllegalArgumentException names a message the template cannot render (content missing where it concatenates it).
     */
    abstract String render(List<Message> messages, boolean addGenerationPrompt, String bos, String eos);

    /** Renders with DeepSeek's BOS/EOS strings. */
    public String render(List<Message> messages, boolean addGenerationPrompt) { return render(messages, addGenerationPrompt, BOS, EOS); }

    /**
     * The known template whose text {@code template} is, or null. Compared as text after stripping surrounding
     * whitespace and reading every backslash-n as a newline: releases and converters write the newlines inside the
     * template's string literals either way (a JSON {@code \\n} escape or a real newline), which Jinja renders alike.
     */
    public static ChatFormat of(String template) {
        if (template == null) return null;
        String c = canonical(template);
        for (ChatFormat f : values()) if (f.canonical.equals(c)) return f;
        return null;
    }

    /** The labels of all known templates, for messages. */
    public static String labels() {
        StringBuilder sb = new StringBuilder();
        for (ChatFormat f : values()) sb.append(sb.isEmpty() ? "" : ", ").append(f.label);
        return sb.toString();
    }

    private static String canonical(String t) { return t.strip().replace("\\n", "\n"); }

    private static String resource(String name) {
        try (var in = ChatFormat.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("resource " + name + " is missing from the jar");
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    // ---- DeepSeek-V3 and DeepSeek-R1: one template apart from the system text, the answer and the generation prompt ----

    /** DeepSeek-V3's template (see {@link ChatTemplate}'s class doc). */
    static String v3(List<Message> messages, boolean gen, String bos) {
        return v3Family(messages, gen, bos, joinedSystem(messages), content -> content, "");
    }

    /** DeepSeek-R1's: the last system message only, answers after their last {@code </think>}, {@code <think>\n} opened. */
    static String r1(List<Message> messages, boolean gen, String bos, boolean think) {
        String system = "";
        for (Message m : messages) if (m.role().equals("system")) system = required(m);
        return v3Family(messages, gen, bos, system, ChatFormat::afterThinking, think ? "<think>\n" : "");
    }

    private static String v3Family(List<Message> messages, boolean gen, String bos, String system,
                                   java.util.function.UnaryOperator<String> answer, String afterGenerationPrompt) {
        StringBuilder out = new StringBuilder(bos).append(system);
        boolean isFirst = false, isTool = false, isOutputFirst = true; // the "first" flags are never reset (a template quirk)
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
                        out.append(ASSISTANT).append(answer.apply(m.content())).append(EOS);
                    }
                }
                case "tool" -> {
                    isTool = true;
                    out.append(isOutputFirst ? TOOL_OUTPUTS_BEGIN : "\n").append(TOOL_OUTPUT_BEGIN).append(required(m)).append(TOOL_OUTPUT_END);
                    isOutputFirst = false;
                }
                default -> { } // system handled above; other roles render nothing
            }
        }
        if (isTool) out.append(TOOL_OUTPUTS_END);
        if (gen && !isTool) out.append(ASSISTANT).append(afterGenerationPrompt);
        return out.toString();
    }

    /** What Python's {@code content.split('</think>')[-1]} keeps: the text after the last {@code </think>}, or all of it. */
    static String afterThinking(String content) {
        int i = content.lastIndexOf("</think>");
        return i < 0 ? content : content.substring(i + "</think>".length());
    }

    // ---- DeepSeek-V3-0324 ----

    static String v3_0324(List<Message> messages, boolean gen, String bos) {
        StringBuilder out = new StringBuilder(bos).append(joinedSystem(messages));
        boolean isFirst = false, isTool = false, isOutputFirst = true, isLastUser = false;
        for (Message m : messages) {
            switch (m.role()) {
                case "user" -> {
                    isTool = false;
                    isFirst = false;
                    isLastUser = true;
                    out.append(USER).append(required(m)).append(ASSISTANT);
                }
                case "assistant" -> {
                    isLastUser = false;
                    if (!m.toolCalls().isEmpty()) {
                        if (isTool) out.append(TOOL_OUTPUTS_END);
                        isFirst = false;
                        isTool = false;
                        isOutputFirst = true;
                        for (ToolCall t : m.toolCalls()) {
                            if (!isFirst) {
                                if (m.content() != null) out.append(m.content());
                                out.append(TOOL_CALLS_BEGIN);
                                isFirst = true;
                            } else {
                                out.append('\n');
                            }
                            call(out, t);
                        }
                        out.append(TOOL_CALLS_END).append(EOS);
                    } else if (isTool) {
                        out.append(TOOL_OUTPUTS_END).append(required(m)).append(EOS);
                        isTool = false;
                    } else {
                        out.append(required(m)).append(EOS);
                    }
                }
                case "tool" -> {
                    isLastUser = false;
                    isTool = true;
                    out.append(isOutputFirst ? TOOL_OUTPUTS_BEGIN : "\n").append(TOOL_OUTPUT_BEGIN).append(required(m)).append(TOOL_OUTPUT_END);
                    isOutputFirst = false;
                }
                default -> { }
            }
        }
        if (isTool) out.append(TOOL_OUTPUTS_END);
        if (gen && !isLastUser && !isTool) out.append(ASSISTANT);
        return out.toString();
    }

    // ---- DeepSeek-V2 ----

    static String v2(List<Message> messages, boolean gen, String bos, String eos) {
        StringBuilder out = new StringBuilder(bos);
        for (Message m : messages) {
            switch (m.role()) {
                case "user" -> out.append("User: ").append(required(m)).append("\n\n");
                case "assistant" -> out.append("Assistant: ").append(required(m)).append(eos);
                case "system" -> out.append(required(m)).append("\n\n");
                default -> { }
            }
        }
        if (gen) out.append("Assistant:");
        return out.toString();
    }

    // ---- shared ----

    /** All system messages' content joined by a blank line (V3, V3-0324). */
    static String joinedSystem(List<Message> messages) {
        StringBuilder system = new StringBuilder();
        boolean first = true;
        for (Message m : messages) {
            if (!m.role().equals("system")) continue;
            String c = required(m);
            if (!first) system.append("\n\n");
            system.append(c);
            first = false;
        }
        return system.toString();
    }

    static void call(StringBuilder out, ToolCall t) {
        out.append(TOOL_CALL_BEGIN).append(t.type()).append(TOOL_SEP).append(t.name())
                .append("\n```json\n").append(t.arguments()).append("\n```").append(TOOL_CALL_END);
    }

    static String required(Message m) {
        if (m.content() == null) {
            throw new IllegalArgumentException("a '" + m.role() + "' message needs content (the template concatenates it)");
        }
        return m.content();
    }
}
