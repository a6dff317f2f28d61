package dev.jseek.posttrain;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.data.DataFormatException;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.tokenizer.ChatTemplate;
import dev.jseek.tokenizer.Message;
import dev.jseek.tokenizer.Tokenizer;
import dev.jseek.train.TrainModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rewards (docs/architecture.md §7.6): answer extraction and the rule-based rewards on examples; the model-based rewards against the
 * training model's own forward (an independent implementation of the same network); tasks and their errors.
 */
class RewardsTest {
    @TempDir Path tmp;
    static final RlPrompt Q = new RlPrompt(List.of(Message.user("What is 17+25?")), "42");

    static Completion c(String text, boolean finished) { return new Completion(new int[] {5}, text, finished); }

    @Test
    void ruleBasedRewards() {
        ExactMatchReward exact = new ExactMatchReward();
        FormatReward format = new FormatReward();
        assertEquals(1, exact.score(Q, null, c("42", true)));
        assertEquals(1, exact.score(Q, null, c(" 42.0\n", true)));
        assertEquals(1, exact.score(Q, null, c("17+25 = \\boxed{42}", false)));
        assertEquals(0, exact.score(Q, null, c("The answer is 42", true)), "not a bare or boxed answer");
        assertEquals(0, exact.score(Q, null, c("43", true)));
        assertEquals(1, format.score(Q, null, c("43", true)));
        assertEquals(0, format.score(Q, null, c("43", false)), "cut at the token limit");
        assertEquals(1, format.score(Q, null, c("so \\boxed{x+{1}} ok", true)));
        assertEquals("x+{1}", Answers.boxed("so \\boxed{x+{1}} ok"));
        assertNull(Answers.boxed("\\boxed{unclosed"));
        assertEquals(0, format.score(Q, null, c("forty-two", true)));
        WeightedReward w = Rewards.parse("exact, format=0.25", null, d -> null);
        assertEquals("exact,format=0.25", w.name());
        assertEquals(1.25, w.score(Q, null, c("42", true)));
        assertEquals(0.25, w.score(Q, null, c("41", true)));
        assertTrue(Rewards.needsAnswers(w));
        assertThrows(IllegalArgumentException.class, () -> exact.score(new RlPrompt(Q.messages(), null), null, c("1", true)));
        assertEquals("reward 'format=x': weight 'x' is not a number",
                assertThrows(IllegalArgumentException.class, () -> Rewards.parse("format=x", null, d -> null)).getMessage());
    }

    @Test
    void modelBasedRewardsEqualTheTrainingForward() throws Exception {
        Tokenizer tok = Fixtures.tokenizer(tmp, 274);
        Path dir = Fixtures.tinyModel(tmp, 274, 11);
        TrainModel tm = GrpoLearningTest.load(dir, 1, 80);
        int[] prompt = ChatTemplate.encode(tok, Q.messages(), true);
        int[] comp = {tok.encode("4")[0], tok.encode("2")[0], tok.eosId()};
        Completion cp = new Completion(comp, "42", true);
        try (DeepSeekV3 m = DeepSeekV3.open(dir)) {
            // log-prob reward: mean over the completion's tokens of log pi(token | prefix)
            double got = new ModelReward(m, tok, ModelReward.Mode.LOGPROB, "m").score(Q, prompt, cp);
            int n = prompt.length + comp.length - 1;
            int[] in = new int[n], tg = new int[n];
            for (int i = 0; i < n; i++) in[i] = i < prompt.length ? prompt[i] : comp[i - prompt.length];
            java.util.Arrays.fill(tg, -1);
            for (int t = 0; t < comp.length; t++) tg[prompt.length - 1 + t] = comp[t];
            double[] lp = tm.forwardLogProbs(in, tg, 1, n);
            double mean = 0;
            for (int t = 0; t < comp.length; t++) mean += lp[prompt.length - 1 + t] / comp.length;
            assertEquals(mean, got, 1e-4);
            // judge reward: P(yes) / (P(yes) + P(no)) of the first reply token to the judge prompt
            double judge = new ModelReward(m, tok, ModelReward.Mode.JUDGE, "m").score(Q, prompt, cp);
            int[] jp = ChatTemplate.encode(tok, ModelReward.judgePrompt("What is 17+25?", "42"), true);
            float[] logits = tm.forwardLogits(jp, 1, jp.length);
            int V = tm.config().vocabSize(), last = (jp.length - 1) * V, y = tok.encode("yes")[0], no = tok.encode("no")[0];
            double py = Math.exp(logits[last + y]), pn = Math.exp(logits[last + no]);
            assertEquals(py / (py + pn), judge, 1e-4);
            assertTrue(judge > 0 && judge < 1);
        }
    }

    @Test
    void tasks() throws Exception {
        ArithmeticTask a = ArithmeticTask.parse("arithmetic:50:+-*", 3);
        for (long i = 0; i < 200; i++) {
            RlPrompt p = a.get(i);
            assertEquals(p, a.get(i));
            String q = p.question();
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("What is (\\d+)([-+*])(\\d+)\\?").matcher(q);
            assertTrue(m.matches(), q);
            long x = Long.parseLong(m.group(1)), y = Long.parseLong(m.group(3));
            assertTrue(x <= 50 && y <= 50);
            long r = switch (m.group(2)) { case "+" -> x + y; case "-" -> x - y; default -> x * y; };
            assertEquals(Long.toString(r), p.answer());
            assertTrue(r >= 0);
            assertEquals(List.of(Message.user(q), Message.assistant(p.answer())), a.chat(i));
        }
        assertNotEquals(a.get(0), ArithmeticTask.parse("arithmetic:50:+-*", 4).get(0));
        assertThrows(IllegalArgumentException.class, () -> ArithmeticTask.parse("arithmetic:x", 1));
        assertThrows(IllegalArgumentException.class, () -> ArithmeticTask.parse("arithmetic:5:/", 1));
        Path f = tmp.resolve("p.jsonl");
        Files.writeString(f, "{\"prompt\": \"a?\", \"answer\": 4}\n\n{\"messages\": [{\"role\": \"system\", \"content\": \"s\"}, {\"role\": \"user\", \"content\": \"b?\"}], \"answer\": \"x\"}\n");
        JsonlPromptSet js = JsonlPromptSet.read(f, 1);
        assertEquals(2, js.size());
        assertTrue(js.hasAnswers());
        java.util.Set<String> qs = new java.util.HashSet<>();
        for (int i = 0; i < 2; i++) qs.add(js.get(i).question());
        assertEquals(java.util.Set.of("a?", "b?"), qs, "each prompt once per pass");
        assertEquals("4", js.get(0).question().equals("a?") ? js.get(0).answer() : js.get(1).answer());
        Files.writeString(f, "{\"prompt\": \"a?\", \"answer\": \"4\"}\n{\"prompt\": \"b?\"}\n");
        assertEquals(f + ":2: answer: missing, but present on earlier lines (all or none)",
                assertThrows(DataFormatException.class, () -> JsonlPromptSet.read(f, 1)).getMessage());
        Files.writeString(f, "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}, {\"role\": \"assistant\", \"content\": \"a\"}]}\n");
        assertTrue(assertThrows(DataFormatException.class, () -> JsonlPromptSet.read(f, 1)).getMessage()
                .startsWith(f + ":1: messages: the last message is the assistant's"));
        Files.writeString(f, "{\"question\": \"q\"}\n");
        assertEquals(f + ":1: field prompt (or messages) is missing", assertThrows(DataFormatException.class, () -> JsonlPromptSet.read(f, 1)).getMessage());
    }
}
