package dev.jseek.serve;

import static dev.jseek.serve.RequestFields.describe;
import static dev.jseek.serve.RequestFields.given;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jseek.api.Completion;
import dev.jseek.tokenizer.ChatFormat;
import dev.jseek.tokenizer.ChatTemplate;
import dev.jseek.tokenizer.Message;
import dev.jseek.tokenizer.ToolCall;
import dev.jseek.tokenizer.ToolCallSyntax;
import java.util.ArrayList;
import java.util.List;

/**
 * OpenAI function calling ({@code tools}, {@code tool_choice}) through the model's own tool-call format: the syntax
 * its chat template renders for tool calls ({@link ToolCallSyntax}: DeepSeek-V3's
 * {@code <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\nARGS\n```<｜tool▁call▁end｜>...<｜tool▁calls▁end｜>},
 * V3.1's and Kimi-K2's; docs/architecture.md §7.8). The functions are described in the system prompt together with
 * that syntax, and the calls the model writes in it are parsed back into {@code tool_calls}. {@code tool_choice}:
 * "auto" (default), "none" (no tools offered), "required" (the answer is started with the call section, up to the
 * function's name) or {@code {"type": "function", "function": {"name": N}}} (started up to the arguments of N). A
 * model whose template renders no tool calls (DeepSeek-V2's) refuses {@code tools} with a 400.
 *
 * @param functions the offered functions: name, description (may be empty), parameters (JSON text; "{}" if none)
 * @param required  null when no call is required (tool_choice auto), "" when some call is, else the function's name
 */
record Tools(List<Function> functions, String required) {
    record Function(String name, String description, String parameters) {}

    static final Tools NONE = new Tools(List.of(), null);

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
        String required = null;
        if (given(choice)) {
            if (choice.isTextual()) {
                switch (choice.textValue()) {
                    case "none" -> { return NONE; }
                    case "auto" -> { }
                    case "required" -> required = "";
                    default -> throw ApiError.invalid("tool_choice", "tool_choice must be none, auto, required or {\"type\": \"function\", "
                            + "\"function\": {\"name\": ...}}, got '" + choice.textValue() + "'");
                }
            } else if (choice.isObject() && choice.path("function").path("name").isTextual()) {
                String name = choice.path("function").path("name").textValue();
                if (fs.stream().noneMatch(f -> f.name().equals(name)))
                    throw ApiError.invalid("tool_choice", "tool_choice names the function '" + name + "', which is not in tools");
                required = name;
            } else {
                throw ApiError.invalid("tool_choice", "tool_choice must be none, auto, required or {\"type\": \"function\", "
                        + "\"function\": {\"name\": ...}}, got " + describe(choice));
            }
        }
        return new Tools(List.copyOf(fs), required);
    }

    /** The text the assistant's answer is started with: "" unless tool_choice requires a call. */
    String forced(ToolCallSyntax syntax) {
        return required == null ? "" : syntax.start(required.isEmpty() ? null : required);
    }

    /** The system-prompt text that offers the functions, with the model's call syntax. */
    String describeFunctions(ToolCallSyntax syntax) {
        StringBuilder sb = new StringBuilder("## Tools\n\nYou can call these functions:\n");
        for (Function f : functions) {
            sb.append("\n### ").append(f.name()).append('\n');
            if (!f.description().isEmpty()) sb.append(f.description()).append('\n');
            sb.append("Parameters (JSON Schema):\n```json\n").append(f.parameters()).append("\n```\n");
        }
        return sb.append('\n').append(syntax.instructions()).toString();
    }

    /**
     * The tool-call syntax of the runner's model; a 400 naming the template when it has none. Null when the model
     * has no chat template jseek renders at all (the chat prompt then refuses the request with its own reason).
     */
    static ToolCallSyntax syntax(ModelRunner runner) {
        ChatFormat f = ChatTemplate.formatOf(runner.tokenizer());
        if (f == null && ChatTemplate.rendersWithJinja(runner.tokenizer()))
            throw ApiError.invalid("tools", "the model's chat template is none of the DeepSeek family's (" + dev.jseek.tokenizer.ChatFormat.labels()
                    + "), so jseek does not know how the model writes tool calls and cannot read them back: send the request without tools");
        if (f == null) return null;
        ToolCallSyntax s = f.toolCalls();
        if (s == null)
            throw ApiError.invalid("tools", "the model's chat template (" + f.label + ") has no tool-call format, so the model cannot "
                    + "call functions: send the request without tools");
        return s;
    }

    /** The prompt ids: the conversation with the functions described in the system prompt and the forced start. */
    int[] prompt(ModelRunner runner, List<Message> messages) { return prompt(runner, messages, java.util.Map.of()); }

    /**
     * As {@link #prompt(ModelRunner, List)} with the request's {@code chat_template_kwargs} (the thinking switch is
     * never on together with tools).
     */
    int[] prompt(ModelRunner runner, List<Message> messages, java.util.Map<String, Object> templateKwargs) {
        if (!active()) return runner.chatPrompt(messages, templateKwargs);
        ToolCallSyntax syntax = syntax(runner);
        // tools run in the template's non-thinking mode (DeepSeek-V3.1 calls tools only there), whatever serve's defaults say
        templateKwargs = new java.util.LinkedHashMap<>(templateKwargs);
        templateKwargs.putIfAbsent("thinking", false);
        if (syntax == null) return runner.chatPrompt(messages, templateKwargs);
        List<Message> ms = new ArrayList<>(messages);
        ms.add(0, Message.system(describeFunctions(syntax)));
        int[] base = runner.chatPrompt(ms, templateKwargs);
        String forced = forced(syntax);
        if (forced.isEmpty()) return base;
        int[] f = runner.tokenizer().encode(forced, false);
        int[] out = java.util.Arrays.copyOf(base, base.length + f.length);
        System.arraycopy(f, 0, out, base.length, f.length);
        return out;
    }

    /** The outcome with the tool calls found in its generated tokens (unchanged when none or tools are off). */
    ModelRunner.Outcome parse(ModelRunner runner, ModelRunner.Outcome r) {
        if (!active() || r.completion() == null) return r;
        ToolCallSyntax syntax = syntax(runner);
        if (syntax == null) return r;
        int[] ids = r.completion().tokens().stream().mapToInt(Completion.TokenInfo::id).toArray();
        List<ToolCall> calls = syntax.parse(forced(syntax) + runner.tokenizer().decode(ids, false));
        return calls.isEmpty() ? r : r.withToolCalls(calls);
    }
}
