package dev.jseek.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Log-likelihood multiple choice from a JSONL file, one question per line:
 * {@code {"context": "...", "choices": ["...", "..."], "answer": 1}} ({@code question} is accepted for
 * {@code context}). Each choice is scored by log p(choice | context) = the sum of its tokens' log-probabilities after
 * {@code [eos] + enc(context)} (choice tokens encoded on their own and appended, as lm-evaluation-harness does);
 * the prediction is the argmax ({@code acc}), and, per UTF-8 byte of the choice, the argmax of the normalized score
 * ({@code acc_norm}). Ties go to the lower index.
 */
public final class MultipleChoice {
    private MultipleChoice() {}

    public record Question(String context, List<String> choices, int answer) {}

    /** The outcome: questions, correct by total log-likelihood, correct by log-likelihood per byte. */
    public record Result(int questions, int correct, int correctNorm) {
        public double accuracy() { return (double) correct / questions; }
        public double accuracyNorm() { return (double) correctNorm / questions; }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Reads the questions; a malformed line is an error naming the file, line and field. */
    public static List<Question> read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read: " + e.getMessage(), e);
        }
        List<Question> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i).strip();
            if (l.isEmpty()) continue;
            String where = file + ":" + (i + 1);
            JsonNode o;
            try {
                o = JSON.readTree(l);
            } catch (com.fasterxml.jackson.core.JacksonException e) {
                throw new IllegalArgumentException(where + ": not valid JSON: " + e.getOriginalMessage());
            }
            if (o == null || !o.isObject()) throw new IllegalArgumentException(where + ": expected a JSON object");
            JsonNode ctx = o.has("context") ? o.get("context") : o.get("question");
            if (ctx == null || !ctx.isTextual()) throw new IllegalArgumentException(where + ": field 'context' (or 'question') must be a string");
            JsonNode ch = o.get("choices");
            if (ch == null || !ch.isArray() || ch.size() < 2) throw new IllegalArgumentException(where + ": field 'choices' must be an array of at least 2 strings");
            List<String> choices = new ArrayList<>();
            for (JsonNode c : ch) {
                if (!c.isTextual() || c.asText().isEmpty()) throw new IllegalArgumentException(where + ": field 'choices' holds " + c + ", not a non-empty string");
                choices.add(c.asText());
            }
            JsonNode a = o.get("answer");
            if (a == null || !a.canConvertToInt() || !a.isIntegralNumber() || a.asInt() < 0 || a.asInt() >= choices.size())
                throw new IllegalArgumentException(where + ": field 'answer' = " + a + " must be an index into choices (0.." + (choices.size() - 1) + ")");
            out.add(new Question(ctx.asText(), List.copyOf(choices), a.asInt()));
        }
        if (out.isEmpty()) throw new IllegalArgumentException(file + ": no questions");
        return out;
    }

    /** Total log-likelihood of each choice of {@code q}. */
    public static double[] scores(DeepSeekV3 m, Tokenizer tok, Question q, int chunk) {
        int[] ctx = tok.encode(q.context());
        double[] s = new double[q.choices().size()];
        for (int c = 0; c < s.length; c++) {
            int[] ch = tok.encode(q.choices().get(c));
            if (ch.length == 0) throw new IllegalArgumentException("choice '" + q.choices().get(c) + "' encodes to no tokens");
            int[] seq = new int[1 + ctx.length + ch.length];
            seq[0] = tok.eosId();
            System.arraycopy(ctx, 0, seq, 1, ctx.length);
            System.arraycopy(ch, 0, seq, 1 + ctx.length, ch.length);
            double sum = 0;
            for (double lp : TokenScores.logProbs(m, seq, 1 + ctx.length, chunk)) sum += lp;
            s[c] = sum;
        }
        return s;
    }

    static int argmax(double[] x) {
        int b = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[b]) b = i;
        return b;
    }

    public static Result run(DeepSeekV3 m, Tokenizer tok, List<Question> qs, int chunk) {
        int ok = 0, okNorm = 0;
        for (Question q : qs) {
            double[] s = scores(m, tok, q, chunk);
            double[] norm = new double[s.length];
            for (int c = 0; c < s.length; c++) norm[c] = s[c] / q.choices().get(c).getBytes(StandardCharsets.UTF_8).length;
            if (argmax(s) == q.answer()) ok++;
            if (argmax(norm) == q.answer()) okNorm++;
        }
        return new Result(qs.size(), ok, okNorm);
    }
}
