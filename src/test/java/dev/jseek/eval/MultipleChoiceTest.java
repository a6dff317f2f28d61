package dev.jseek.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.source.ModelSource;
import dev.jseek.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MultipleChoiceTest {
    @TempDir Path tmp;

    /** log p(choice | context) from one naive-attention forward over the whole sequence, log-softmax by hand. */
    private static double oracle(DeepSeekV3 m, Tokenizer tok, String ctx, String choice) {
        int[] c = tok.encode(ctx), ch = tok.encode(choice);
        int[] seq = new int[1 + c.length + ch.length];
        seq[0] = tok.eosId();
        System.arraycopy(c, 0, seq, 1, c.length);
        System.arraycopy(ch, 0, seq, 1 + c.length, ch.length);
        int n = seq.length - 1, V = m.config.vocabSize();
        float[] logits = m.forward(java.util.Arrays.copyOf(seq, n), 0, m.newCache(n, AttnMode.NAIVE));
        double sum = 0;
        for (int t = c.length; t < n; t++) {
            double max = Double.NEGATIVE_INFINITY, s = 0;
            for (int v = 0; v < V; v++) max = Math.max(max, logits[t * V + v]);
            for (int v = 0; v < V; v++) s += Math.exp(logits[t * V + v] - max);
            sum += logits[t * V + seq[t + 1]] - max - Math.log(s);
        }
        return sum;
    }

    @Test void scoresAndAccuracyMatchDirectForward() throws Exception {
        Tokenizer tok = EvalFixtures.tokenizer(tmp, 400);
        Path f = tmp.resolve("mc.jsonl");
        Files.writeString(f, """
                {"context": "The sky is", "choices": [" blue.", " green.", " yellow and big."], "answer": 0}
                {"question": "What is 3+4?", "choices": [" 7", " 12"], "answer": 1}

                {"context": "public int size() { return", "choices": [" count; }", " 1", " size + 2; }"], "answer": 2}
                """);
        List<MultipleChoice.Question> qs = MultipleChoice.read(f);
        assertEquals(3, qs.size());
        try (DeepSeekV3 m = ModelSource.open(EvalFixtures.tinyModel(tmp, 400, 3, 0.05))) {
            int ok = 0, okNorm = 0;
            for (MultipleChoice.Question q : qs) {
                double[] s = MultipleChoice.scores(m, tok, q, 3);
                double[] o = new double[s.length], on = new double[s.length];
                for (int c = 0; c < s.length; c++) {
                    o[c] = oracle(m, tok, q.context(), q.choices().get(c));
                    on[c] = o[c] / q.choices().get(c).getBytes(StandardCharsets.UTF_8).length;
                    assertEquals(o[c], s[c], 1e-4 * Math.abs(o[c]));
                }
                if (MultipleChoice.argmax(o) == q.answer()) ok++;
                if (MultipleChoice.argmax(on) == q.answer()) okNorm++;
            }
            MultipleChoice.Result r = MultipleChoice.run(m, tok, qs, 256);
            assertEquals(3, r.questions());
            assertEquals(ok, r.correct());
            assertEquals(okNorm, r.correctNorm());
        }
    }

    @Test void malformedLinesNameFileLineAndField() throws Exception {
        String[][] cases = {
                {"{\"context\": \"a\", \"choices\": [\"x\"], \"answer\": 0}", "'choices'"},
                {"{\"context\": 3, \"choices\": [\"x\", \"y\"], \"answer\": 0}", "'context'"},
                {"{\"context\": \"a\", \"choices\": [\"x\", \"y\"], \"answer\": 2}", "'answer'"},
                {"{\"context\": \"a\", \"choices\": [\"x\", \"\"], \"answer\": 0}", "'choices'"},
                {"not json", "not valid JSON"}};
        for (String[] c : cases) {
            Path f = tmp.resolve("bad.jsonl");
            Files.writeString(f, "{\"context\": \"ok\", \"choices\": [\"a\", \"b\"], \"answer\": 1}\n" + c[0] + "\n");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MultipleChoice.read(f));
            assertTrue(e.getMessage().contains("bad.jsonl:2") && e.getMessage().contains(c[1]), e.getMessage());
        }
    }
}
