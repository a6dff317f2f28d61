package dev.jseek.cli;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jseek.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;

/**
 * {@code jseek detokenize}: reads JSON arrays of ids (any whitespace between them, e.g. one per line as
 * {@code jseek tokenize} prints them) and prints the text of each, followed by a newline (or, with {@code --json},
 * each text as a JSON string on its own line).
 */
@Command(name = "detokenize", mixinStandardHelpOptions = true,
        description = "Decode JSON arrays of token ids back to text, one output line per array.")
public final class DetokenizeCommand implements Callable<Integer> {
    @Mixin TokenizerFileOption tokenizer;

    @Mixin InputOption in;

    @Option(names = "--skip-special", description = "leave out tokens flagged special (BOS, EOS, pad, ...)")
    boolean skipSpecial;

    @Option(names = "--json", description = "print each text as a JSON string")
    boolean json;

    @Override public Integer call() throws IOException {
        Tokenizer t = tokenizer.load();
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        ObjectMapper om = new ObjectMapper();
        String src = in.name();
        try (InputStream is = in.open();
             JsonParser p = om.getFactory().createParser(is)) {
            int arrays = 0;
            for (JsonToken tok; (tok = p.nextToken()) != null; ) {
                if (tok != JsonToken.START_ARRAY) {
                    throw new UserException(src + ": array " + arrays + ": expected a JSON array of ids, got " + tok
                            + " at line " + p.currentLocation().getLineNr());
                }
                int[] ids = new int[16];
                int n = 0;
                while ((tok = p.nextToken()) != JsonToken.END_ARRAY) {
                    if (tok != JsonToken.VALUE_NUMBER_INT) {
                        throw new UserException(src + ": array " + arrays + ", element " + n + ": expected an integer id, got "
                                + p.getText());
                    }
                    if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                        String digits = p.getText();
                        throw new UserException(src + ": array " + arrays + ", element " + n + ": id "
                                + (digits.length() > 24 ? digits.substring(0, 20) + "... (" + digits.length() + " digits)" : digits)
                                + " is outside the vocabulary 0.." + (t.vocabSize() - 1));
                    }
                    long id = p.getLongValue();
                    if (id < 0 || id >= t.vocabSize()) {
                        throw new UserException(src + ": array " + arrays + ", element " + n + ": id " + id
                                + " is outside the vocabulary 0.." + (t.vocabSize() - 1));
                    }
                    if (n == ids.length) ids = java.util.Arrays.copyOf(ids, n * 2);
                    ids[n++] = (int) id;
                }
                String text = t.decode(java.util.Arrays.copyOf(ids, n), skipSpecial);
                out.println(json ? om.writeValueAsString(text) : text);
                arrays++;
            }
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new UserException(src + ": not valid JSON: " + e.getOriginalMessage()
                    + (e.getLocation() != null ? " at line " + e.getLocation().getLineNr() : ""));
        }
        out.flush();
        return 0;
    }
}
