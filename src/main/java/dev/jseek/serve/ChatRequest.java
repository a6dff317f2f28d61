package dev.jseek.serve;

import static dev.jseek.serve.RequestFields.describe;
import static dev.jseek.serve.RequestFields.given;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jseek.tokenizer.Message;
import dev.jseek.tokenizer.ToolCall;
import dev.jseek.tokenizer.ChatTemplate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@code POST /v1/chat/completions} request: the conversation and the sampling options. Roles: system (and
 * OpenAI's newer name for it, developer), user, assistant. Content is a string or an array of
 * {@code {"type": "text", "text": ...}} parts, joined with "\n". The conversation is rendered with DeepSeek-V3's chat
 * template ({@link dev.jseek.tokenizer.ChatTemplate}, docs/architecture.md §7.8).
 * {@code chat_template_kwargs} (as vLLM, SGLang and llama-server take it) holds the template's variables: jseek's
 * renderers of the DeepSeek family read one, {@code thinking} (a boolean, DeepSeek-V3.1's: the answer opens
 * {@code <think>}); a template rendered by the Jinja engine gets them all ({@link ChatTemplate#render(dev.jseek.tokenizer.Tokenizer, List, boolean, Map)}).
 */
public record ChatRequest(List<Message> messages, SamplingParams params, Tools tools, Map<String, Object> templateKwargs) {
    public ChatRequest {
        messages = List.copyOf(messages);
        templateKwargs = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(templateKwargs));
    }

    public ChatRequest(List<Message> messages, SamplingParams params) { this(messages, params, Tools.NONE, Map.of()); }

    /** {@code chat_template_kwargs.thinking} is true. */
    public boolean thinking() { return Boolean.TRUE.equals(templateKwargs.get("thinking")); }

    static ChatRequest parse(ObjectNode o, SamplingParams.Defaults d) {
        JsonNode ms = o.get("messages");
        if (!given(ms)) throw ApiError.invalid("messages", "messages is required: an array of {role, content}");
        if (!ms.isArray()) throw ApiError.invalid("messages", "messages must be an array, got " + describe(ms));
        if (ms.isEmpty()) throw ApiError.invalid("messages", "messages is empty; give at least one message");
        List<Message> out = new ArrayList<>();
        for (int i = 0; i < ms.size(); i++) out.add(message(ms.get(i), "messages[" + i + "]"));
        Tools tools = Tools.parse(o);
        Map<String, Object> kwargs = templateKwargs(o.get("chat_template_kwargs"));
        if (Boolean.TRUE.equals(kwargs.get("thinking")) && tools.active())
            throw ApiError.invalid("chat_template_kwargs.thinking", "chat_template_kwargs.thinking: DeepSeek-V3.1 calls tools in its "
                    + "non-thinking mode only; send thinking false (or leave it out) with tools");
        return new ChatRequest(out, SamplingParams.parse(o, d), tools, kwargs);
    }

    /**
     * {@code chat_template_kwargs} as template variables (JSON objects as maps, arrays as lists, integers as Long,
     * other numbers as Double): empty when absent; a 400 for a name jseek sets itself ({@link ChatTemplate#SET_BY_JSEEK})
     * and for a {@code thinking} that is not a boolean.
     */
    static Map<String, Object> templateKwargs(JsonNode kw) {
        if (!given(kw)) return Map.of();
        if (!kw.isObject()) throw ApiError.invalid("chat_template_kwargs", "chat_template_kwargs must be an object, got " + describe(kw));
        Map<String, Object> out = new LinkedHashMap<>();
        for (var e : kw.properties()) {
            String k = e.getKey(), path = "chat_template_kwargs." + k;
            if (ChatTemplate.SET_BY_JSEEK.contains(k))
                throw ApiError.invalid(path, path + ": jseek sets '" + k + "' itself"
                        + (k.equals("tools") ? " (send functions in the request's tools)" : k.equals("messages") ? " (from the request's messages)" : ""));
            if (k.equals("thinking") && given(e.getValue()) && !e.getValue().isBoolean())
                throw ApiError.invalid(path, path + " must be true or false, got " + describe(e.getValue()));
            try {
                out.put(k, ChatTemplate.variable(e.getValue()));
            } catch (IllegalArgumentException x) {
                throw ApiError.invalid(path, path + ": " + x.getMessage());
            }
        }
        return out;
    }

    private static Message message(JsonNode m, String path) {
        if (!m.isObject()) throw ApiError.invalid(path, path + " must be an object {role, content}, got " + describe(m));
        ObjectNode o = (ObjectNode) m;
        String role = RequestFields.optString(o, "role", path + ".role");
        if (role == null) throw ApiError.invalid(path + ".role", path + ".role is required");
        String r = switch (role) {
            case "system", "developer" -> "system";
            case "user", "assistant", "tool" -> role;
            default -> throw ApiError.invalid(path + ".role", path + ".role must be system, user, assistant or tool, got '" + role + "'");
        };
        JsonNode tc = o.get("tool_calls");
        if (r.equals("assistant") && given(tc) && !(tc.isArray() && tc.isEmpty())) {
            if (!tc.isArray()) throw ApiError.invalid(path + ".tool_calls", path + ".tool_calls must be an array, got " + describe(tc));
            List<ToolCall> calls = new ArrayList<>();
            for (int i = 0; i < tc.size(); i++) {
                String cp = path + ".tool_calls[" + i + "]";
                JsonNode f = tc.get(i).path("function");
                if (!f.path("name").isTextual())
                    throw ApiError.invalid(cp + ".function.name", cp + ".function.name is required (a string)");
                JsonNode args = f.get("arguments");
                String a = args == null || args.isNull() ? "{}" : args.isTextual() ? args.textValue() : args.toString();
                calls.add(new ToolCall("function", f.get("name").textValue(), a));
            }
            return new Message("assistant", null, calls);
        }
        return new Message(r, content(o.get("content"), path + ".content"), List.of());
    }

    private static String content(JsonNode c, String path) {
        if (!given(c)) throw ApiError.invalid(path, path + " is required (a string or an array of text parts)");
        if (c.isTextual()) return c.textValue();
        if (!c.isArray()) throw ApiError.invalid(path, path + " must be a string or an array of text parts, got " + describe(c));
        StringBuilder sb = new StringBuilder();
        for (int j = 0; j < c.size(); j++) {
            String pp = path + "[" + j + "]";
            JsonNode part = c.get(j);
            if (!part.isObject()) throw ApiError.invalid(pp, pp + " must be an object {type, text}, got " + describe(part));
            String type = RequestFields.optString((ObjectNode) part, "type", pp + ".type");
            if (!"text".equals(type))
                throw ApiError.invalid(pp + ".type", pp + ".type must be \"text\" (this model reads text only), got "
                        + (type == null ? "nothing" : "'" + type + "'"));
            String text = RequestFields.optString((ObjectNode) part, "text", pp + ".text");
            if (text == null) throw ApiError.invalid(pp + ".text", pp + ".text is required");
            if (j > 0) sb.append('\n');
            sb.append(text);
        }
        return sb.toString();
    }
}
