package dev.jseek.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jseek.tokenizer.ChatTemplate;
import dev.jseek.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * {@code --chat-template FILE} of {@code chat} and {@code serve}: a Jinja chat template (a .jinja file, the text itself)
 * used in place of the one the model's tokenizer carries, as llama-server's {@code --chat-template-file}. A family
 * text gets its hand-written renderer, any other the Jinja engine (docs/tokenizer.md, "Chat templates").
 * {@code --chat-template-kwargs JSON}: the template's variables, as llama-server's flag of that name.
 */
final class ChatTemplateOption {
    @Option(names = "--chat-template", paramLabel = "FILE", description = "A chat template file (Jinja text) to use instead of the "
            + "one the model's tokenizer carries.")
    Path file;

    @Option(names = "--chat-template-kwargs", paramLabel = "JSON", description = "Variables for the chat template, a JSON object "
            + "(as llama-server's flag): a template rendered by the Jinja engine gets them all, the DeepSeek family's read only "
            + "\"thinking\". serve: the defaults under each request's chat_template_kwargs.")
    String kwargsJson;

    /**
     * The {@code --chat-template-kwargs} variables for {@code tok} (an empty map without the option); a UserException
     * for text that is not a JSON object, a name jseek sets itself, or a name {@code tok}'s template cannot take.
     */
    Map<String, Object> kwargs(Tokenizer tok) {
        if (kwargsJson == null) return Map.of();
        JsonNode n;
        try {
            n = new ObjectMapper().readTree(kwargsJson);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new UserException("--chat-template-kwargs: not JSON: " + e.getOriginalMessage());
        }
        if (n == null || !n.isObject()) throw new UserException("--chat-template-kwargs must be a JSON object, got " + kwargsJson);
        Map<String, Object> out = new LinkedHashMap<>();
        for (var e : n.properties()) {
            String k = e.getKey();
            if (ChatTemplate.SET_BY_JSEEK.contains(k)) throw new UserException("--chat-template-kwargs: jseek sets '" + k + "' itself");
            try {
                out.put(k, ChatTemplate.variable(e.getValue()));
            } catch (IllegalArgumentException x) {
                throw new UserException("--chat-template-kwargs: " + k + ": " + x.getMessage());
            }
        }
        for (var e : out.entrySet()) {
            String no = ChatTemplate.refusedVariable(tok, e.getKey(), e.getValue());
            if (no != null) throw new UserException("--chat-template-kwargs: '" + e.getKey() + "': " + no);
        }
        return out;
    }

    /** {@code tok} with the file's template, or {@code tok} itself without the option; a UserException naming the file otherwise. */
    Tokenizer apply(Tokenizer tok) {
        if (file == null) return tok;
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(file))).toString();
        } catch (CharacterCodingException e) {
            throw new UserException("--chat-template: " + file + " is not UTF-8 text");
        } catch (IOException e) {
            throw new UserException("--chat-template: cannot read " + file + ": " + e.getMessage());
        }
        if (text.isBlank()) throw new UserException("--chat-template: " + file + " is empty");
        Tokenizer t = tok.withChatTemplate(text);
        String why = ChatTemplate.unsupported(t, file);
        if (why != null) throw new UserException("--chat-template: " + why);
        return t;
    }
}
