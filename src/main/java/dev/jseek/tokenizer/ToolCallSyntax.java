package dev.jseek.tokenizer;

import static dev.jseek.tokenizer.SpecialTokens.*;

import java.util.ArrayList;
import java.util.List;

/**
 * How a model of the DeepSeek family writes tool calls: the text its chat template renders for an assistant turn's
 * calls ({@link ChatFormat#toolCalls()}), which is what the model learned to generate, so the server describes the
 * same syntax to the model, starts a forced call with it and parses generated calls back with it.
 * <ul>
 * <li>{@link #DEEPSEEK_V3} (V3, R1, V3-0324): {@code <｜tool▁calls▁begin｜>}, then per call
 *     {@code <｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\nARGUMENTS\n```<｜tool▁call▁end｜>}, then
 *     {@code <｜tool▁calls▁end｜>};</li>
 * <li>{@link #DEEPSEEK_V3_1} (V3.1): per call {@code <｜tool▁call▁begin｜>NAME<｜tool▁sep｜>ARGUMENTS<｜tool▁call▁end｜>},
 *     the same section tokens;</li>
 * <li>{@link #KIMI_K2} (Kimi-K2): {@code <|tool_calls_section_begin|>}, per call
 *     {@code <|tool_call_begin|>functions.NAME:I<|tool_call_argument_begin|>ARGUMENTS<|tool_call_end|>} (I numbers the
 *     calls), then {@code <|tool_calls_section_end|>}.</li>
 * </ul>
 * {@link #parse} reads what the model wrote leniently: text outside the section is ignored, a call cut off by the
 * token limit keeps the arguments written so far, and arguments the template wrote as a JSON string (the llama.cpp
 * copies of the V3.1 and first Kimi-K2 templates apply {@code tojson} to the arguments) are unquoted once.
 */
public enum ToolCallSyntax {
    DEEPSEEK_V3(TOOL_CALLS_BEGIN, TOOL_CALL_BEGIN, TOOL_SEP, TOOL_CALL_END, TOOL_CALLS_END),
    DEEPSEEK_V3_1(TOOL_CALLS_BEGIN, TOOL_CALL_BEGIN, TOOL_SEP, TOOL_CALL_END, TOOL_CALLS_END),
    KIMI_K2(ChatFormat.KIMI_CALLS_BEGIN, ChatFormat.KIMI_CALL_BEGIN, ChatFormat.KIMI_ARGUMENTS, ChatFormat.KIMI_CALL_END,
            ChatFormat.KIMI_CALLS_END);

    /** Opens the calls of a turn. */
    public final String sectionBegin;
    /** Opens one call. */
    public final String callBegin;
    /** Ends a call's name part (DeepSeek: between type and name; Kimi: before the arguments). */
    public final String separator;
    /** Closes one call. */
    public final String callEnd;
    /** Closes the calls of a turn. */
    public final String sectionEnd;

    ToolCallSyntax(String sectionBegin, String callBegin, String separator, String callEnd, String sectionEnd) {
        this.sectionBegin = sectionBegin;
        this.callBegin = callBegin;
        this.separator = separator;
        this.callEnd = callEnd;
        this.sectionEnd = sectionEnd;
    }

    /**
     * The text that starts a call of {@code name} (the call section opened, then the call up to where its arguments
     * begin), or, with {@code name} null, up to where the function's name begins: what a server puts at the start of
     * the answer when tool_choice requires a call.
     */
    public String start(String name) {
        String head = sectionBegin + callBegin + switch (this) {
            case DEEPSEEK_V3 -> "function" + separator;
            case DEEPSEEK_V3_1 -> "";
            case KIMI_K2 -> "functions.";
        };
        if (name == null) return head;
        return head + switch (this) {
            case DEEPSEEK_V3 -> name + "\n```json\n";
            case DEEPSEEK_V3_1 -> name + separator;
            case KIMI_K2 -> name + ":0" + separator;
        };
    }

    /** One call as the model should write it ({@code index}: its place in the turn, from 0; Kimi-K2 numbers calls). */
    public String call(String name, String arguments, int index) {
        return switch (this) {
            case DEEPSEEK_V3 -> callBegin + "function" + separator + name + "\n```json\n" + arguments + "\n```" + callEnd;
            case DEEPSEEK_V3_1 -> callBegin + name + separator + arguments + callEnd;
            case KIMI_K2 -> callBegin + "functions." + name + ":" + index + separator + arguments + callEnd;
        };
    }

    /** The instruction sentence a system prompt gives for calling functions in this syntax. */
    public String instructions() {
        return "To call functions, answer with " + sectionBegin + call("NAME", "ARGUMENTS", 0)
                + " (one such call per function called" + (this == KIMI_K2 ? ", numbered 0, 1, ... in place of the 0" : "")
                + ") and then " + sectionEnd + ".";
    }

    /** The calls in {@code text}, the model's answer (empty when it holds no call section). */
    public List<ToolCall> parse(String text) {
        List<ToolCall> out = new ArrayList<>();
        int i = text.indexOf(sectionBegin);
        if (i < 0) return out;
        int from = i + sectionBegin.length();
        while (true) {
            int b = text.indexOf(callBegin, from);
            if (b < 0) break;
            int end = text.indexOf(callEnd, b);
            int stop = end < 0 ? text.length() : end;
            ToolCall c = parseOne(text.substring(b + callBegin.length(), stop));
            if (c != null) out.add(c);
            if (end < 0) break;
            from = end + callEnd.length();
        }
        return out;
    }

    /** One call's text between its begin and end tokens; null when it names no function. */
    private ToolCall parseOne(String body) {
        int sep = body.indexOf(separator);
        String type = "function", name, args;
        switch (this) {
            case DEEPSEEK_V3 -> {
                if (sep < 0) return null;
                String t = body.substring(0, sep).strip();
                if (!t.isEmpty()) type = t;
                String rest = body.substring(sep + separator.length());
                int nl = rest.indexOf('\n');
                if (nl < 0) nl = rest.length();
                name = rest.substring(0, nl).strip();
                args = rest.substring(nl);
            }
            case DEEPSEEK_V3_1 -> {
                if (sep < 0) return null;
                name = body.substring(0, sep).strip();
                args = body.substring(sep + separator.length());
            }
            case KIMI_K2 -> {
                String id = (sep < 0 ? body : body.substring(0, sep)).strip();
                if (id.startsWith("functions.")) id = id.substring("functions.".length());
                int colon = id.lastIndexOf(':');
                if (colon >= 0 && id.substring(colon + 1).chars().allMatch(Character::isDigit)) id = id.substring(0, colon);
                name = id;
                args = sep < 0 ? "" : body.substring(sep + separator.length());
            }
            default -> throw new AssertionError(this);
        }
        for (String stop : new String[] {EOS, sectionEnd}) {
            int k = args.indexOf(stop);
            if (k >= 0) args = args.substring(0, k);
        }
        args = args.strip();
        if (this == DEEPSEEK_V3) { // the arguments' code fence
            if (args.startsWith("```json")) args = args.substring(7);
            else if (args.startsWith("```")) args = args.substring(3);
            if (args.endsWith("```")) args = args.substring(0, args.length() - 3);
            args = args.strip();
        }
        if (name.isEmpty()) return null;
        return new ToolCall(type, name, args.isEmpty() ? "{}" : unquote(args));
    }

    /** {@code s} itself, or, when it is one JSON string literal holding a JSON object or array, that string's value. */
    static String unquote(String s) {
        if (s.length() < 2 || s.charAt(0) != '"' || s.charAt(s.length() - 1) != '"') return s;
        StringBuilder v = new StringBuilder(s.length());
        for (int i = 1; i < s.length() - 1; i++) {
            char c = s.charAt(i);
            if (c == '"') return s; // an unescaped quote inside: not one literal
            if (c != '\\') {
                v.append(c);
                continue;
            }
            if (++i >= s.length() - 1) return s;
            char e = s.charAt(i);
            switch (e) {
                case '"', '\\', '/' -> v.append(e);
                case 'b' -> v.append('\b');
                case 'f' -> v.append('\f');
                case 'n' -> v.append('\n');
                case 'r' -> v.append('\r');
                case 't' -> v.append('\t');
                case 'u' -> {
                    if (i + 4 >= s.length()) return s;
                    try {
                        v.append((char) Integer.parseInt(s.substring(i + 1, i + 5), 16));
                    } catch (NumberFormatException x) {
                        return s;
                    }
                    i += 4;
                }
                default -> { return s; }
            }
        }
        String inner = v.toString().strip();
        return inner.startsWith("{") || inner.startsWith("[") ? v.toString() : s;
    }
}
