package dev.jseek.tokenizer;

import java.util.List;

import static dev.jseek.tokenizer.SpecialTokens.*;

/**
 * The chat templates of the DeepSeek family that jseek renders, each the exact text a release ships
 * (tokenizer_config.json {@code chat_template}, GGUF {@code tokenizer.chat_template}; resources beside this class) and
 * a hand-written renderer giving byte-for-byte what Jinja gives for it (docs/tokenizer.md, "Chat templates"; tested
 * against {@code @huggingface/jinja} and Python's jinja2 rendering the same texts). Messages map to the template's variables as
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
 *     text followed by a blank line; tool messages render nothing;</li>
 * <li>{@link #DEEPSEEK_V3_1} / {@link #DEEPSEEK_V3_1_LLAMA_CPP} — DeepSeek-V3.1, the released text and llama.cpp's
 *     rewritten copy, with the thinking switch ({@link #v3_1});</li>
 * <li>{@link #KIMI_K2} / {@link #KIMI_K2_INSTRUCT} / {@link #KIMI_K2_THINKING} — Kimi-K2's first and later texts and
 *     Kimi-K2-Thinking's ({@link #kimiK2}, {@link #kimiK2Instruct}); compared exactly, not with the newline rule of
 *     {@link #of}.</li>
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
    },
    DEEPSEEK_V3_1("deepseek-v3.1", "deepseek-v3.1-chat-template.jinja") {
        @Override String render(List<Message> messages, boolean gen, String bos, String eos) { return v3_1(messages, gen, bos, false, true); }
        @Override String render(List<Message> messages, boolean gen, String bos, String eos, boolean thinking) { return v3_1(messages, gen, bos, thinking, true); }
    },
    DEEPSEEK_V3_1_LLAMA_CPP("deepseek-v3.1 (llama.cpp's copy)", "deepseek-v3.1-llama-cpp-chat-template.jinja") {
        @Override String render(List<Message> messages, boolean gen, String bos, String eos) { return v3_1(messages, gen, bos, false, false); }
        @Override String render(List<Message> messages, boolean gen, String bos, String eos, boolean thinking) { return v3_1(messages, gen, bos, thinking, false); }
    },
    KIMI_K2("kimi-k2", "kimi-k2-chat-template.jinja") {
        @Override String render(List<Message> messages, boolean gen, String bos, String eos) { return kimiK2(messages, gen); }
    },
    KIMI_K2_INSTRUCT("kimi-k2-instruct", "kimi-k2-instruct-chat-template.jinja") {
        @Override String render(List<Message> messages, boolean gen, String bos, String eos) { return kimiK2Instruct(messages, gen, false); }
    },
    KIMI_K2_THINKING("kimi-k2-thinking", "kimi-k2-thinking-chat-template.jinja") {
        @Override String render(List<Message> messages, boolean gen, String bos, String eos) { return kimiK2Instruct(messages, gen, true); }
    };

    /** A short name for messages. */
    public final String label;
    /** The template text as the release ships it. */
    public final String template;
    private final String canonical;

    ChatFormat(String label, String resource) {
        this.label = label;
        this.template = resource(resource);
        this.canonical = exact() ? template.strip() : canonical(template);
    }

    /**
     * Kimi's templates are compared as they are (stripped): a backslash-n in their text outside a string literal
     * renders as a backslash and an n, so reading it as a newline would match a template that renders differently.
     */
    boolean exact() { return label.startsWith("kimi"); }

    /**
     * The prompt text of a conversation; {@code bos} / {@code eos} are the tokenizer's token strings. An
     * IllegalArgumentException names a message the template cannot render (content missing where it concatenates it).
     */
    abstract String render(List<Message> messages, boolean addGenerationPrompt, String bos, String eos);

    /**
     * As {@link #render(List, boolean, String, String)} with the template's thinking switch set ({@code thinking} in
     * the template's variables): DeepSeek-V3.1 opens {@code <think>} instead of {@code <think></think>}; the templates
     * without a switch ignore it (their output is the one without it).
     */
    String render(List<Message> messages, boolean addGenerationPrompt, String bos, String eos, boolean thinking) {
        return render(messages, addGenerationPrompt, bos, eos);
    }

    /**
     * How the template writes an assistant turn's tool calls, which is how the model writes them
     * ({@link ToolCallSyntax}); null for DeepSeek-V2's, which renders no tool calls.
     */
    public ToolCallSyntax toolCalls() {
        return switch (this) {
            case DEEPSEEK_V3, DEEPSEEK_R1, DEEPSEEK_R1_2025_01, DEEPSEEK_V3_0324 -> ToolCallSyntax.DEEPSEEK_V3;
            case DEEPSEEK_V3_1, DEEPSEEK_V3_1_LLAMA_CPP -> ToolCallSyntax.DEEPSEEK_V3_1;
            case KIMI_K2, KIMI_K2_INSTRUCT, KIMI_K2_THINKING -> ToolCallSyntax.KIMI_K2;
            case DEEPSEEK_V2 -> null;
        };
    }

    /**
     * Whether the template is a reasoning model's, whose answers open with reasoning up to {@code </think>}: DeepSeek-R1's,
     * V3.1's (with its switch on), Kimi-K2-Thinking's.
     */
    public boolean thinks() {
        return this == DEEPSEEK_R1 || this == DEEPSEEK_R1_2025_01 || hasThinkingSwitch() || this == KIMI_K2_THINKING;
    }

    /** Whether the template has a thinking switch ({@link #render(List, boolean, boolean)}). */
    public boolean hasThinkingSwitch() { return this == DEEPSEEK_V3_1 || this == DEEPSEEK_V3_1_LLAMA_CPP; }

    /** Renders with DeepSeek's BOS/EOS strings. */
    public String render(List<Message> messages, boolean addGenerationPrompt) { return render(messages, addGenerationPrompt, BOS, EOS); }

    /** Renders with DeepSeek's BOS/EOS strings and the thinking switch (see {@link #hasThinkingSwitch()}). */
    public String render(List<Message> messages, boolean addGenerationPrompt, boolean thinking) {
        return render(messages, addGenerationPrompt, BOS, EOS, thinking);
    }

    /**
     * The known template whose text {@code template} is, or null. Compared as text after stripping surrounding
     * whitespace and reading every backslash-n as a newline: releases and converters write the newlines inside the
     * template's string literals either way (a JSON {@code \\n} escape or a real newline), which Jinja renders alike.
     * Kimi's texts are compared stripped only (see {@link #exact()}).
     */
    public static ChatFormat of(String template) {
        if (template == null) return null;
        String c = canonical(template), stripped = template.strip();
        for (ChatFormat f : values()) if (f.canonical.equals(f.exact() ? stripped : c)) return f;
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
                    toolOutput(out, m, isOutputFirst);
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
        boolean isTool = false, isOutputFirst = true, isLastUser = false;
        for (Message m : messages) {
            switch (m.role()) {
                case "user" -> {
                    isTool = false;
                    isLastUser = true;
                    out.append(USER).append(required(m)).append(ASSISTANT);
                }
                case "assistant" -> {
                    isLastUser = false;
                    if (!m.toolCalls().isEmpty()) {
                        if (isTool) out.append(TOOL_OUTPUTS_END);
                        isTool = false;
                        isOutputFirst = true;
                        toolCallTurn(out, m, "\n", ChatFormat::call);
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
                    toolOutput(out, m, isOutputFirst);
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

    // ---- DeepSeek-V3.1 ----

    /**
     * DeepSeek-V3.1's template, as released (tokenizer_config.json) or as llama.cpp's models/templates copy rewrites it
     * ({@code release} false): system messages joined as in V3; a user turn {@code <｜User｜>content}; the first
     * assistant turn after a user opens {@code <｜Assistant｜></think>} (llama.cpp's copy: {@code <think></think>}), a
     * tool-calling one too; an answer keeps what follows its first {@code </think>}; tool calls are
     * {@code <｜tool▁call▁begin｜>name<｜tool▁sep｜>arguments<｜tool▁call▁end｜>}, the arguments as they are (llama.cpp's
     * copy: as a JSON string, {@code tojson}), the first opening {@code <｜tool▁calls▁begin｜>} after the turn's content
     * (if any), the turn closing {@code <｜tool▁calls▁end｜><｜end▁of▁sentence｜>}; a tool output is
     * {@code <｜tool▁output▁begin｜>content<｜tool▁output▁end｜>}, and the answer after it is its content and EOS; the
     * generation prompt follows a user turn only: {@code <｜Assistant｜></think>}, or {@code <｜Assistant｜><think>} with
     * thinking on.
     */
    static String v3_1(List<Message> messages, boolean gen, String bos, boolean thinking, boolean release) {
        String noThinking = release ? "</think>" : "<think></think>";
        StringBuilder out = new StringBuilder(bos).append(joinedSystem(messages));
        boolean isTool = false, isLastUser = false;
        for (Message m : messages) {
            switch (m.role()) {
                case "user" -> {
                    isTool = false;
                    isLastUser = true;
                    out.append(USER).append(required(m));
                }
                case "assistant" -> {
                    if (!m.toolCalls().isEmpty()) {
                        if (isLastUser) out.append(ASSISTANT).append(noThinking);
                        isLastUser = false;
                        isTool = false;
                        toolCallTurn(out, m, "", (o, t) -> o.append(TOOL_CALL_BEGIN).append(t.name()).append(TOOL_SEP)
                                .append(release ? t.arguments() : json(t.arguments())).append(TOOL_CALL_END));
                    } else {
                        String content = required(m);
                        if (isLastUser) out.append(ASSISTANT).append(noThinking);
                        isLastUser = false;
                        if (isTool) {
                            out.append(content).append(EOS);
                            isTool = false;
                        } else {
                            int i = content.indexOf("</think>");
                            out.append(i < 0 ? content : content.substring(i + "</think>".length())).append(EOS);
                        }
                    }
                }
                case "tool" -> {
                    isLastUser = false;
                    isTool = true;
                    out.append(TOOL_OUTPUT_BEGIN).append(required(m)).append(TOOL_OUTPUT_END);
                }
                default -> { }
            }
        }
        if (gen && isLastUser && !isTool) out.append(ASSISTANT).append(thinking ? "<think>" : noThinking);
        return out.toString();
    }

    // ---- Kimi-K2 ----

    static final String IM_SYSTEM = "<|im_system|>", IM_USER = "<|im_user|>", IM_ASSISTANT = "<|im_assistant|>",
            IM_MIDDLE = "<|im_middle|>", IM_END = "<|im_end|>", KIMI_CALLS_BEGIN = "<|tool_calls_section_begin|>",
            KIMI_CALLS_END = "<|tool_calls_section_end|>", KIMI_CALL_BEGIN = "<|tool_call_begin|>",
            KIMI_ARGUMENTS = "<|tool_call_argument_begin|>", KIMI_CALL_END = "<|tool_call_end|>";

    /**
     * Kimi-K2's first template (llama.cpp's moonshotai-Kimi-K2 copy): a default system turn ("You are a helpful
     * assistant") unless the conversation starts with a system message; every turn
     * {@code <|im_system|>system / <|im_user|>user / <|im_assistant|>assistant / <|im_system|>tool<|im_middle|>} then its
     * text and {@code <|im_end|>} (another role: no header, its content and {@code <|im_end|>}); a tool-calling turn its
     * content then {@code <|tool_calls_section_begin|>} and each call
     * {@code <|tool_call_begin|>functions.NAME:I<|tool_call_argument_begin|>ARGUMENTS<|tool_call_end|>} (I counts the
     * turn's calls from 0, the arguments as a JSON string); a tool output {@code ## Return of \n} (a backslash and an n:
     * the template writes them outside a string; the tool call id, which jseek's messages do not carry, is empty) and
     * its content; generation prompt {@code <|im_assistant|>assistant<|im_middle|>}.
     */
    static String kimiK2(List<Message> messages, boolean gen) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < messages.size(); i++) {
            Message m = messages.get(i);
            if (i == 0 && !m.role().equals("system")) out.append(IM_SYSTEM).append("system").append(IM_MIDDLE).append("You are a helpful assistant").append(IM_END);
            switch (m.role()) {
                case "system" -> out.append(IM_SYSTEM).append("system").append(IM_MIDDLE);
                case "user" -> out.append(IM_USER).append("user").append(IM_MIDDLE);
                case "assistant" -> out.append(IM_ASSISTANT).append("assistant").append(IM_MIDDLE);
                case "tool" -> out.append(IM_SYSTEM).append("tool").append(IM_MIDDLE);
                default -> { }
            }
            if (m.role().equals("assistant") && !m.toolCalls().isEmpty()) {
                if (m.content() != null) out.append(m.content());
                out.append(KIMI_CALLS_BEGIN);
                for (int j = 0; j < m.toolCalls().size(); j++) {
                    ToolCall t = m.toolCalls().get(j);
                    out.append(KIMI_CALL_BEGIN).append("functions.").append(t.name()).append(':').append(j).append(KIMI_ARGUMENTS)
                            .append(json(t.arguments())).append(KIMI_CALL_END);
                }
                out.append(KIMI_CALLS_END);
            } else if (m.role().equals("tool")) {
                out.append("## Return of \\n").append(m.content() == null ? "None" : m.content());
            } else if (m.content() != null) {
                out.append(m.content());
            }
            out.append(IM_END);
        }
        if (gen) out.append(IM_ASSISTANT).append("assistant").append(IM_MIDDLE);
        return out.toString();
    }

    /**
     * Kimi-K2-Instruct's later template (llama.cpp's Kimi-K2-Instruct copy): the default system turn is "You are Kimi,
     * an AI assistant created by Moonshot AI." followed by a newline; every role has a header, other roles
     * {@code <|im_system|>ROLE<|im_middle|>}; tool calls are numbered across the conversation and their arguments
     * written as they are; a tool output is {@code ## Return of ID} (the id of the oldest call not yet answered), a
     * newline and its content. Kimi-K2-Thinking's ({@code thinking}; llama.cpp's copy) differs in three places: the
     * default system turn has no newline after it and is written for an empty conversation too, and every assistant
     * turn opens {@code <think></think>} (the template writes a turn's {@code reasoning_content} between them only for
     * turns after the last plain answer; jseek's messages carry none, so it is empty there as well).
     */
    static String kimiK2Instruct(List<Message> messages, boolean gen, boolean thinking) {
        StringBuilder out = new StringBuilder();
        java.util.ArrayDeque<String> pending = new java.util.ArrayDeque<>();
        int counter = 0;
        if (thinking && (messages.isEmpty() || !messages.get(0).role().equals("system")))
            out.append(IM_SYSTEM).append("system").append(IM_MIDDLE).append("You are Kimi, an AI assistant created by Moonshot AI.").append(IM_END);
        for (int i = 0; i < messages.size(); i++) {
            Message m = messages.get(i);
            if (!thinking && i == 0 && !messages.get(0).role().equals("system"))
                out.append(IM_SYSTEM).append("system").append(IM_MIDDLE).append("You are Kimi, an AI assistant created by Moonshot AI.").append(IM_END).append('\n');
            switch (m.role()) {
                case "user" -> out.append(IM_USER).append(m.role()).append(IM_MIDDLE);
                case "assistant" -> out.append(IM_ASSISTANT).append(m.role()).append(IM_MIDDLE);
                default -> out.append(IM_SYSTEM).append(m.role()).append(IM_MIDDLE);
            }
            if (thinking && m.role().equals("assistant")) out.append("<think></think>");
            if (m.role().equals("assistant") && !m.toolCalls().isEmpty()) {
                if (m.content() != null) out.append(m.content());
                out.append(KIMI_CALLS_BEGIN);
                for (ToolCall t : m.toolCalls()) {
                    String id = "functions." + t.name() + ":" + counter++;
                    pending.add(id);
                    out.append(KIMI_CALL_BEGIN).append(id).append(KIMI_ARGUMENTS).append(t.arguments()).append(KIMI_CALL_END);
                }
                out.append(KIMI_CALLS_END);
            } else if (m.role().equals("tool")) {
                String id = pending.isEmpty() ? "functions.unknown:" + counter : pending.poll();
                out.append("## Return of ").append(id).append('\n');
                if (m.content() != null) out.append(m.content());
            } else if (m.content() != null) {
                out.append(m.content());
            }
            out.append(IM_END);
        }
        if (gen) out.append(IM_ASSISTANT).append("assistant").append(IM_MIDDLE);
        return out.toString();
    }

    /**
     * A string as Jinja's {@code tojson} writes it (JSON.stringify in @huggingface/jinja, json.dumps with
     * ensure_ascii false in transformers): quotes and backslashes escaped, \b \f \n \r \t, other control characters and
     * lone surrogates as a backslash, u and four lower-case hex digits; everything else as it is.
     */
    static String json(String s) {
        StringBuilder out = new StringBuilder(s.length() + 8).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    boolean lone = Character.isSurrogate(c) && !(Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1)))
                            && !(Character.isLowSurrogate(c) && i > 0 && Character.isHighSurrogate(s.charAt(i - 1)));
                    if (c < 0x20 || lone) out.append(String.format("\\u%04x", (int) c));
                    else out.append(c);
                }
            }
        }
        return out.append('"').toString();
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

    /**
     * A tool-calling assistant turn as V3-0324 and V3.1 write it: its content (if any), {@code <｜tool▁calls▁begin｜>},
     * the calls ({@code call} writes one) with {@code sep} between them, {@code <｜tool▁calls▁end｜>} and EOS.
     */
    private static void toolCallTurn(StringBuilder out, Message m, String sep, java.util.function.BiConsumer<StringBuilder, ToolCall> call) {
        if (m.content() != null) out.append(m.content());
        out.append(TOOL_CALLS_BEGIN);
        for (int i = 0; i < m.toolCalls().size(); i++) {
            if (i > 0) out.append(sep);
            call.accept(out, m.toolCalls().get(i));
        }
        out.append(TOOL_CALLS_END).append(EOS);
    }

    /** A tool output of V3 and V3-0324: the first of a run opens {@code <｜tool▁outputs▁begin｜>}, the others follow a newline. */
    private static void toolOutput(StringBuilder out, Message m, boolean first) {
        out.append(first ? TOOL_OUTPUTS_BEGIN : "\n").append(TOOL_OUTPUT_BEGIN).append(required(m)).append(TOOL_OUTPUT_END);
    }

    /** A V3 tool call: {@code <｜tool▁call▁begin｜>type<｜tool▁sep｜>name}, the arguments in a json code block, {@code <｜tool▁call▁end｜>}. */
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
