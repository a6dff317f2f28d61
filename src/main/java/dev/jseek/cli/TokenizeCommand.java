package dev.jseek.cli;

import com.fasterxml.jackson.core.JsonGenerator;
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
 * {@code jseek tokenize}: text to token ids (or token strings), one JSON array per input line, or one for the whole
 * input with {@code --whole}. Lines end at LF or CRLF and are encoded without the terminator. Input bytes are UTF-8;
 * ill-formed bytes become U+FFFD by the maximal-subpart rule (docs/architecture.md §7.8, see {@link Tokenizer}).
 */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Encode text with a tokenizer.json: one JSON array of ids (or token strings) per input line.")
public final class TokenizeCommand implements Callable<Integer> {
    @Mixin TokenizerFileOption tokenizer;

    @Mixin InputOption in;

    @Option(names = "--ids", description = "print ids (the default)")
    boolean ids;

    @Option(names = "--pieces", description = "print token strings (byte-level form, e.g. \"Ġworld\") instead of ids")
    boolean pieces;

    @Option(names = "--bos", description = "prepend BOS (like HF encode with add_special_tokens)")
    boolean bos;

    @Option(names = "--whole", description = "encode the whole input as one text (newlines included)")
    boolean whole;

    @Override public Integer call() throws IOException {
        if (ids && pieces) throw new UserException("--ids and --pieces are exclusive");
        Tokenizer t = tokenizer.load();
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        ObjectMapper json = new ObjectMapper();
        json.getFactory().disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
        try (InputStream is = in.open()) {
            byte[] all = is.readAllBytes();
            if (whole) {
                emit(t, t.encode(all, bos), json, out);
            } else {
                // lines end at \n or \r\n (the terminator is not encoded); bytes are decoded per line like --whole
                int start = 0;
                while (start < all.length) {
                    int nl = start;
                    while (nl < all.length && all[nl] != '\n') nl++;
                    int end = nl > start && all[nl - 1] == '\r' ? nl - 1 : nl;
                    emit(t, t.encode(java.util.Arrays.copyOfRange(all, start, end), bos), json, out);
                    start = nl + 1;
                }
            }
        }
        out.flush();
        return 0;
    }

    private void emit(Tokenizer t, int[] idsOut, ObjectMapper json, PrintStream out) throws IOException {
        if (pieces) {
            String[] p = new String[idsOut.length];
            for (int i = 0; i < p.length; i++) p[i] = t.tokenString(idsOut[i]);
            out.println(json.writeValueAsString(p));
        } else {
            out.println(json.writeValueAsString(idsOut));
        }
    }
}
