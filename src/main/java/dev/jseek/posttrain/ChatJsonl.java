package dev.jseek.posttrain;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jseek.data.DataFormatException;
import dev.jseek.tokenizer.Message;
import dev.jseek.tokenizer.ToolCall;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads chat conversations from JSON Lines (docs/architecture.md §7.5's SFT data): one object per line,
 * {@code {"messages": [{"role": "system"|"user"|"assistant"|"tool", "content": "..."}, ...]}}; an assistant message
 * may instead carry {@code "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{...}"}}]}
 * with content null or absent (arguments may be a JSON string or an object). Other fields are ignored; blank lines
 * are skipped. Every conversation needs at least one assistant message (what SFT trains on). Errors
 * ({@link DataFormatException}) name the file, the line and the field, e.g.
 * {@code chats.jsonl:7: messages[2].role: expected one of system, user, assistant, tool, got "bot"}.
 */
public final class ChatJsonl {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> ROLES = List.of("system", "user", "assistant", "tool");

    private ChatJsonl() {}

    /** One conversation and where it came from ({@code line} is 1-based). */
    public record Conversation(Path file, int line, List<Message> messages) {
        public String where() { return file + ":" + line; }
    }

    /** Reads every conversation of {@code file}. */
    public static List<Conversation> read(Path file) {
        List<Conversation> out = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String l;
            int line = 0;
            while ((l = r.readLine()) != null) {
                line++;
                if (l.isBlank()) continue;
                out.add(new Conversation(file, line, parse(l, file, line)));
            }
        } catch (NoSuchFileException e) {
            throw new DataFormatException(file + ": no such file", e);
        } catch (java.nio.charset.MalformedInputException e) {
            throw new DataFormatException(file + ": not valid UTF-8 text", e);
        } catch (IOException e) {
            throw new DataFormatException(file + ": cannot read: " + e, e);
        }
        if (out.isEmpty()) throw new DataFormatException(file + ": no conversations (the file is empty)");
        return out;
    }

    /** Parses one line; errors name {@code file:line} and the field. */
    public static List<Message> parse(String text, Path file, int line) {
        String at = file + ":" + line + ": ";
        JsonNode o;
        try {
            o = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new DataFormatException(at + "not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (o == null || !o.isObject()) throw new DataFormatException(at + "expected a JSON object {\"messages\": [...]}, got " + kind(o));
        JsonNode ms = o.get("messages");
        if (ms == null) throw new DataFormatException(at + "field messages is missing (expected an array of {role, content})");
        if (!ms.isArray()) throw new DataFormatException(at + "messages: expected an array, got " + kind(ms));
        if (ms.isEmpty()) throw new DataFormatException(at + "messages: the array is empty");
        List<Message> out = new ArrayList<>();
        boolean assistant = false;
        for (int i = 0; i < ms.size(); i++) {
            Message m = message(ms.get(i), at + "messages[" + i + "]");
            assistant |= m.role().equals("assistant");
            out.add(m);
        }
        if (!assistant) throw new DataFormatException(at + "messages: no assistant message (nothing to train on)");
        return out;
    }

    /** One message object; {@code at} names its position for errors. */
    static Message message(JsonNode m, String at) {
        if (!m.isObject()) throw new DataFormatException(at + ": expected an object {role, content}, got " + kind(m));
        JsonNode role = m.get("role");
        if (role == null) throw new DataFormatException(at + ".role: missing");
        if (!role.isTextual() || !ROLES.contains(role.asText()))
            throw new DataFormatException(at + ".role: expected one of " + String.join(", ", ROLES) + ", got " + role);
        String r = role.asText();
        JsonNode content = m.get("content");
        List<ToolCall> calls = toolCalls(m.get("tool_calls"), at, r);
        if (content == null || content.isNull()) {
            if (!calls.isEmpty()) return new Message(r, null, calls);
            throw new DataFormatException(at + ".content: missing (a " + r + " message needs a string content"
                    + (r.equals("assistant") ? " or tool_calls" : "") + ")");
        }
        if (!content.isTextual()) throw new DataFormatException(at + ".content: expected a string, got " + kind(content));
        return new Message(r, content.asText(), calls);
    }

    private static List<ToolCall> toolCalls(JsonNode tc, String at, String role) {
        if (tc == null || tc.isNull()) return List.of();
        if (!role.equals("assistant")) throw new DataFormatException(at + ".tool_calls: only assistant messages make tool calls");
        if (!tc.isArray()) throw new DataFormatException(at + ".tool_calls: expected an array, got " + kind(tc));
        List<ToolCall> out = new ArrayList<>();
        for (int j = 0; j < tc.size(); j++) {
            String a = at + ".tool_calls[" + j + "]";
            JsonNode c = tc.get(j);
            if (!c.isObject()) throw new DataFormatException(a + ": expected an object {type, function}, got " + kind(c));
            JsonNode type = c.path("type"), fn = c.get("function");
            if (!type.isMissingNode() && !type.isTextual()) throw new DataFormatException(a + ".type: expected a string, got " + type);
            if (fn == null || !fn.isObject()) throw new DataFormatException(a + ".function: expected an object {name, arguments}, got " + kind(fn));
            JsonNode name = fn.get("name"), args = fn.get("arguments");
            if (name == null || !name.isTextual()) throw new DataFormatException(a + ".function.name: expected a string, got " + kind(name));
            if (args == null) throw new DataFormatException(a + ".function.arguments: missing");
            String argText = args.isTextual() ? args.asText() : args.toString();
            out.add(new ToolCall(type.isMissingNode() ? "function" : type.asText(), name.asText(), argText));
        }
        return out;
    }

    static String kind(JsonNode n) {
        if (n == null || n.isMissingNode()) return "nothing";
        if (n.isNull()) return "null";
        if (n.isTextual()) return "a string";
        if (n.isNumber()) return "a number " + n;
        if (n.isBoolean()) return "a boolean " + n;
        if (n.isArray()) return "an array";
        return "an object";
    }
}
