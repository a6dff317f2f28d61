package dev.jseek.cli;

import dev.jseek.tokenizer.ChatTemplate;
import dev.jseek.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * {@code --chat-template FILE} of {@code chat} and {@code serve}: a Jinja chat template (a .jinja file, the text itself)
 * used in place of the one the model's tokenizer carries, as llama-server's {@code --chat-template-file}. A family
 * text gets its hand-written renderer, any other the Jinja engine (docs/tokenizer.md, "Chat templates").
 */
final class ChatTemplateOption {
    @Option(names = "--chat-template", paramLabel = "FILE", description = "A chat template file (Jinja text) to use instead of the "
            + "one the model's tokenizer carries.")
    Path file;

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
