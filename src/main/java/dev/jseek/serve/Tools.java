package dev.jseek.serve;

import static dev.jseek.serve.RequestFields.describe;
import static dev.jseek.serve.RequestFields.given;
import static dev.jseek.tokenizer.SpecialTokens.*;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jseek.api.Completion;
import dev.jseek.tokenizer.Message;
import dev.jseek.tokenizer.ToolCall;
import java.util.ArrayList;
import java.util.List;

/**
 * OpenAI function calling ({@code tools}, {@code tool_choice}) through DeepSeek-V3's tool-call format (the chat
 * template's tool tokens, docs/architecture.md §7.8): the functions are described in the system
 * prompt together with the call syntax
 * {@code <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\nARGS\n```<｜tool▁call▁end｜>...<｜tool▁calls▁end｜>},
 * and the calls the model writes in that syntax are parsed back into {@code tool_calls}.
 * {@code tool_choice}: "auto" (default), "none" (no tools offered), "required" (the answer is started with the
 * tool-call tokens) or {@code {"type": "function", "function": {"name": N}}} (started up to the arguments of N).
 *
 * @param functions the offered functions: name, description (may be empty), parameters (JSON text; "{}" if none)
 * @param forced    the text the assistant's answer is started with ("" unless tool_choice requires a call)
 */
record Tools(List<Function> functions, String forced) {
    record Function(String name, String description, String parameters) {}

    static final Tools NONE = new Tools(List.of(), "");

    boolean active() { return !functions.isEmpty(); }

    static Tools parse(ObjectNode o) {
        JsonNode tools = o.get("tools");
        JsonNode choice = o.get("tool_choice");
        if (!given(tools) || (tools.isArray() && tools.isEmpty())) {
            if (given(choice) && !(choice.isTextual() && (choice.textValue().equals("none") || choice.textValue().equals("auto"))))
                throw ApiError.invalid("tool_choice", "tool_choice needs tools, got " + describe(choice));
            return NONE;
        }
        if (!tools.isArray()) throw ApiError.invalid("tools", "tools must be an array, got " + describe(tools));
        List<Function> fs = new ArrayList<>();
        for (int i = 0; i < tools.size(); i++) {
            String path = "tools[" + i + "]";
            JsonNode t = tools.get(i);
            if (!t.isObject()) throw ApiError.invalid(path, path + " must be an object, got " + describe(t));
            JsonNode type = t.get("type");
            if (type == null || !type.isTextual() || !type.textValue().equals("function"))
                throw ApiError.invalid(path + ".type", path + ".type must be \"function\", got " + (type == null ? "nothing" : describe(type)));
            JsonNode f = t.get("function");
            if (f == null || !f.isObject()) throw ApiError.invalid(path + ".function", path + ".function must be an object {name, description, parameters}");
            String name = RequestFields.optString((ObjectNode) f, "name", path + ".function.name");
            if (name == null || !name.matches("[A-Za-z0-9_-]{1,64}"))
                throw ApiError.invalid(path + ".function.name", path + ".function.name must be 1-64 letters, digits, _ or -, got " + (name == null ? "nothing" : "'" + name + "'"));
            String desc = RequestFields.optString((ObjectNode) f, "description", path + ".function.description");
            JsonNode params = f.get("parameters");
            String ps;
            try {
                ps = given(params) ? RequestFields.JSON.writeValueAsString(params) : "{}";
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
            fs.add(new Function(name, desc == null ? "" : desc, ps));
        }
        String forced = "";
        if (given(choice)) {
            if (choice.isTextual()) {
                switch (choice.textValue()) {
                    case "none" -> { return NONE; }
                    case "auto" -> { }
                    case "required" -> forced = TOOL_CALLS_BEGIN + TOOL_CALL_BEGIN + "function" + TOOL_SEP;
                    default -> throw ApiError.invalid("tool_choice", "tool_choice must be none, auto, required or {\"type\": \"function\", "
                            + "\"function\": {\"name\": ...}}, got '" + choice.textValue() + "'");
                }
            } else if (choice.isObject() && choice.path("function").path("name").isTextual()) {
                String name = choice.path("function").path("name").textValue();
                if (fs.stream().noneMatch(f -> f.name().equals(name)))
                    throw ApiError.invalid("tool_choice", "tool_choice names the function '" + name + "', which is not in tools");
                forced = TOOL_CALLS_BEGIN + TOOL_CALL_BEGIN + "function" + TOOL_SEP + name + "\n```json\n";
            } else {
                throw ApiError.invalid("tool_choice", "tool_choice must be none, auto, required or {\"type\": \"function\", "
                        + "\"function\": {\"name\": ...}}, got " + describe(choice));
            }
        }
        return new Tools(List.copyOf(fs), forced);
    }

    /** The system-prompt text that offers the functions. */
    String describeFunctions() {
        StringBuilder sb = new StringBuilder("## Tools\n\nYou can call these functions:\n");
        for (Function f : functions) {
            sb.append("\n### ").append(f.name()).append('\n');
            if (!f.description().isEmpty()) sb.append(f.description()).append('\n');
            sb.append("Parameters (JSON Schema):\n```json\n").append(f.parameters()).append("\n```\n");
        }
        sb.append("\nTo call functions, answer with ").append(TOOL_CALLS_BEGIN).append(TOOL_CALL_BEGIN).append("function")
                .append(TOOL_SEP).append("NAME\n```json\nARGUMENTS\n```").append(TOOL_CALL_END)
                .append(" (one such call per function called) and then ").append(TOOL_CALLS_END).append('.');
        return sb.toString();
    }

    /** The prompt ids: the conversation with the functions described in the system prompt and the forced start. */
    int[] prompt(ModelRunner runner, List<Message> messages) {
        if (!active()) return runner.chatPrompt(messages);
        List<Message> ms = new ArrayList<>(messages);
        ms.add(0, Message.system(describeFunctions()));
        int[] base = runner.chatPrompt(ms);
        if (forced.isEmpty()) return base;
        int[] f = runner.tokenizer().encode(forced, false);
        int[] out = java.util.Arrays.copyOf(base, base.length + f.length);
        System.arraycopy(f, 0, out, base.length, f.length);
        return out;
    }

    /** The outcome with the tool calls found in its generated tokens (unchanged when none or tools are off). */
    ModelRunner.Outcome parse(ModelRunner runner, ModelRunner.Outcome r) {
        if (!active() || r.completion() == null) return r;
        int[] ids = r.completion().tokens().stream().mapToInt(Completion.TokenInfo::id).toArray();
        List<ToolCall> calls = parseCalls(forced + runner.tokenizer().decode(ids, false));
        return calls.isEmpty() ? r : r.withToolCalls(calls);
    }

    /**
     * The calls in {@code text} (DeepSeek-V3 format; a call cut off by max_tokens keeps the arguments written so
     * far). Text outside the calls is ignored.
     */
    static List<ToolCall> parseCalls(String text) {
        List<ToolCall> out = new ArrayList<>();
        int i = text.indexOf(TOOL_CALLS_BEGIN);
        if (i < 0) return out;
        int from = i + TOOL_CALLS_BEGIN.length();
        while (true) {
            int b = text.indexOf(TOOL_CALL_BEGIN, from);
            if (b < 0) break;
            int sep = text.indexOf(TOOL_SEP, b);
            if (sep < 0) break;
            String type = text.substring(b + TOOL_CALL_BEGIN.length(), sep).strip();
            int nl = text.indexOf('\n', sep);
            int end = text.indexOf(TOOL_CALL_END, sep);
            int stop = end < 0 ? text.length() : end;
            if (nl < 0 || nl > stop) nl = stop;
            String name = text.substring(sep + TOOL_SEP.length(), nl).strip();
            String args = text.substring(nl, stop).strip();
            if (args.startsWith("```json")) args = args.substring(7);
            else if (args.startsWith("```")) args = args.substring(3);
            if (args.endsWith("```")) args = args.substring(0, args.length() - 3);
            args = args.strip();
            for (String sp : new String[] {EOS, TOOL_CALLS_END}) {
                int k = args.indexOf(sp);
                if (k >= 0) args = args.substring(0, k).strip();
            }
            if (!name.isEmpty()) out.add(new ToolCall(type.isEmpty() ? "function" : type, name, args.isEmpty() ? "{}" : args));
            if (end < 0) break;
            from = end + TOOL_CALL_END.length();
        }
        return out;
    }
}
