package dev.jseek.posttrain;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * jseek grpo end to end on a tiny model with a rule-based and a model-based reward and the KL term: metrics carry the
 * rewards and KL, a run is a function of its seed, and --resume equals a straight run bit for bit.
 */
class GrpoCommandTest {
    @TempDir Path tmp;

    String[] grpo(Path model, Path out, int steps, String... extra) {
        List<String> a = new ArrayList<>(List.of("grpo", "--init-from", model.toString(), "--out", out.toString(), "--task", "arithmetic:9",
                "--reward", "format,logprob:" + model + "=0.5", "--group", "4", "--micro-batch", "1", "--batch", "2", "--max-new-tokens", "5",
                "--max-seq-len", "40", "--lr", "1e-3", "--beta", "0.04", "--steps", Integer.toString(steps), "--checkpoint-every", "2",
                "--seed", "5", "--no-progress", "--no-plot"));
        for (int i = 0; i < extra.length; i++) { // an option given again replaces the default above
            int at = extra[i].startsWith("--") ? a.indexOf(extra[i]) : -1;
            if (at >= 0 && i + 1 < extra.length && !extra[i + 1].startsWith("--")) a.set(at + 1, extra[++i]);
            else a.add(extra[i]);
        }
        return a.toArray(String[]::new);
    }

    @Test
    void runsDeterministicallyAndResumesBitExactly() throws Exception {
        Path model = Fixtures.tinyModel(tmp, 274, 8);
        Files.copy(Fixtures.tokenizer(tmp, 274).source(), model.resolve("tokenizer.json"));
        Path a = tmp.resolve("a"), b = tmp.resolve("b");
        Fixtures.Run ra = Fixtures.run(grpo(model, a, 4, "--eval-prompts", "3"));
        assertEquals(0, ra.code(), ra.err());
        assertTrue(ra.out().contains("eval before (step 0") && ra.out().contains("eval after (step 4"), ra.out());
        List<String> lines = Files.readAllLines(a.resolve("metrics.jsonl"));
        assertEquals(4, lines.size());
        JsonNode first = new ObjectMapper().readTree(lines.get(0));
        for (String f : List.of("reward", "reward_format", "reward_logprob_" + model.toString().replaceAll("[^A-Za-z0-9_]", "_"), "kl", "clip_fraction",
                "completion_tokens", "finished", "completion_ce"))
            assertTrue(first.has(f), f + " in " + lines.get(0));
        assertTrue(first.get("reward").asDouble() < 0, "the log-prob part is negative: " + lines.get(0));
        assertEquals(0.0, first.get("kl").asDouble(), 1e-6, "step 1: the policy is the reference");
        assertTrue(new ObjectMapper().readTree(lines.get(3)).get("kl").asDouble() > 0, "the policy moved away: " + lines.get(3));
        assertTrue(Files.isRegularFile(a.resolve("eval.json")));

        // 2 steps, then --resume to 4: the same checkpoint and metrics as the straight run
        assertEquals(0, Fixtures.run(grpo(model, b, 2)).code());
        Fixtures.Run rb = Fixtures.run(grpo(model, b, 4, "--resume"));
        assertEquals(0, rb.code(), rb.err());
        for (String f : List.of("model.safetensors", "optimizer.safetensors", "trainer_state.json"))
            assertArrayEquals(Files.readAllBytes(a.resolve("step-4").resolve(f)), Files.readAllBytes(b.resolve("step-4").resolve(f)), f);
        List<String> lb = Files.readAllLines(b.resolve("metrics.jsonl"));
        for (int i = 0; i < 4; i++)
            assertEquals(SftCommandTest.withoutTimes(lines.get(i)), SftCommandTest.withoutTimes(lb.get(i)), "metrics of step " + (i + 1));
    }

    @Test
    void badArgumentsAreUserErrors() throws Exception {
        Path model = Fixtures.tinyModel(tmp, 274, 8);
        Files.copy(Fixtures.tokenizer(tmp, 274).source(), model.resolve("tokenizer.json"));
        Fixtures.Run r = Fixtures.run(grpo(model, tmp.resolve("o"), 1, "--reward", "exact,bogus=2"));
        assertEquals(2, r.code());
        assertEquals("jseek: --reward: reward 'bogus': unknown (use exact, format, logprob:DIR or judge:DIR)", r.err().strip());
        r = Fixtures.run(grpo(model, tmp.resolve("o"), 1, "--task", "algebra"));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("task 'algebra': unknown"), r.err());
        Path prompts = tmp.resolve("p.jsonl");
        Files.writeString(prompts, "{\"prompt\": \"What is 1+1?\"}\n");
        r = Fixtures.run(grpo(model, tmp.resolve("o"), 1, "--task", "jsonl:" + prompts, "--reward", "exact"));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("the exact reward needs answers"), r.err());
        r = Fixtures.run(grpo(model, tmp.resolve("o"), 1, "--max-seq-len", "12"));
        assertEquals(2, r.code());
        assertTrue(r.err().contains(": prompt 0 has ") && r.err().contains("exceeds the sequence limit 13"), r.err());
        r = Fixtures.run(grpo(model, tmp.resolve("o"), 1, "--group", "1"));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("group size must be >= 2"), r.err());
    }
}
