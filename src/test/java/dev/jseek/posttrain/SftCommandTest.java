package dev.jseek.posttrain;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jseek.io.Checkpoint;
import dev.jseek.model.ModelConfig;
import dev.jseek.tokenizer.Tokenizer;
import dev.jseek.train.TokenBatch;
import dev.jseek.train.TrainModel;
import dev.jseek.train.TrainModelTrainable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** jseek sft end to end on a tiny model: the assistant-token loss falls; --resume equals a straight run bit for bit. */
class SftCommandTest {
    @TempDir Path tmp;
    static final ObjectMapper JSON = new ObjectMapper();

    Path chats(int n) throws Exception {
        SplittableRandom r = new SplittableRandom(4);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            int a = r.nextInt(10), b = r.nextInt(10);
            sb.append("{\"messages\":[{\"role\":\"user\",\"content\":\"What is ").append(a).append('+').append(b)
                    .append("?\"},{\"role\":\"assistant\",\"content\":\"").append(a + b).append("\"}]}\n");
        }
        Path f = tmp.resolve("chats.jsonl");
        Files.writeString(f, sb.toString());
        return f;
    }

    static String[] sft(Path data, Path model, Path out, int steps, String... extra) {
        List<String> a = new ArrayList<>(List.of("sft", "--data", data.toString(), "--init-from", model.toString(), "--out", out.toString(),
                "--steps", Integer.toString(steps), "--seq-len", "24", "--micro-batch", "4", "--batch", "8", "--lr", "3e-3", "--min-lr", "3e-3", // a constant lr: the same schedule for --steps 6 and 12
               
                "--warmup-steps", "1", "--checkpoint-every", "3", "--seed", "3", "--no-progress", "--no-plot",
                "--val-data", data.toString(), "--eval-every", "6", "--eval-batches", "2"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    /** Mean assistant-token CE of a model directory over the whole data set (target-weighted). */
    static double assistantLoss(Path modelDir, List<SftExample> exs) {
        ModelConfig c = ModelConfig.load(modelDir.resolve("config.json"));
        TrainModel m = new TrainModel(c, 4, 24);
        try (Checkpoint ck = Checkpoint.open(modelDir)) { m.load(ck); }
        TrainModelTrainable t = new TrainModelTrainable(m);
        double nats = 0;
        long n = 0;
        for (TokenBatch b : SftBatchSource.inOrder(exs, 4, 2, 0, Integer.MAX_VALUE)) {
            long k = 0;
            for (int v : b.targets()) if (v >= 0) k++;
            nats += t.evalLoss(b) * k;
            n += k;
        }
        return nats / n;
    }

    static JsonNode withoutTimes(String line) throws Exception {
        ObjectNode o = (ObjectNode) JSON.readTree(line);
        o.remove("step_seconds");
        o.remove("tokens_per_s");
        return o;
    }

    @Test
    void lossFallsAndResumeIsBitExact() throws Exception {
        Path model = Fixtures.tinyModel(tmp, 274, 5);
        Tokenizer tok = Fixtures.tokenizer(tmp, 274);
        Files.copy(tok.source(), model.resolve("tokenizer.json"));
        Path data = chats(48);
        Path a = tmp.resolve("a"), b = tmp.resolve("b");
        Fixtures.Run ra = Fixtures.run(sft(data, model, a, 12));
        assertEquals(0, ra.code(), ra.err());
        assertTrue(ra.out().contains("48 conversations") && ra.out().contains("one conversation per row"), ra.out());
        assertTrue(Files.isRegularFile(a.resolve("tokenizer.json")), "the tokenizer is copied into the run directory");
        List<SftExample> exs = SftDataset.load(data, new SftEncoder(tok), 25).examples();
        double before = assistantLoss(model, exs), after = assistantLoss(a.resolve("step-12"), exs);
        System.out.printf("assistant-token CE before %.4f after 12 SFT steps %.4f%n", before, after);
        assertTrue(after < 0.6 * before, "assistant-token CE " + before + " -> " + after);

        Fixtures.Run rb = Fixtures.run(sft(data, model, b, 6));
        assertEquals(0, rb.code(), rb.err());
        rb = Fixtures.run(sft(data, model, b, 12, "--resume"));
        assertEquals(0, rb.code(), rb.err());
        assertTrue(rb.out().contains("resuming") && rb.out().contains("steps 7..12"), rb.out());
        for (String f : List.of("model.safetensors", "optimizer.safetensors", "trainer_state.json"))
            assertArrayEquals(Files.readAllBytes(a.resolve("step-12").resolve(f)), Files.readAllBytes(b.resolve("step-12").resolve(f)), f);
        List<String> la = Files.readAllLines(a.resolve("metrics.jsonl")), lb = Files.readAllLines(b.resolve("metrics.jsonl"));
        assertEquals(12, la.size());
        double val6 = JSON.readTree(la.get(5)).get("val_loss").asDouble(), val12 = JSON.readTree(la.get(11)).get("val_loss").asDouble();
        assertTrue(val12 < val6 && !JSON.readTree(la.get(4)).has("val_loss"), "validation at steps 6 and 12: " + val6 + ", " + val12);
        assertEquals(12, lb.size());
        for (int i = 0; i < 12; i++) assertEquals(withoutTimes(la.get(i)), withoutTimes(lb.get(i)), "metrics of step " + (i + 1));
    }

    @Test
    void malformedDataIsAUserError() throws Exception {
        Path model = Fixtures.tinyModel(tmp, 274, 5);
        Files.copy(Fixtures.tokenizer(tmp, 274).source(), model.resolve("tokenizer.json"));
        Path bad = tmp.resolve("bad.jsonl");
        Files.writeString(bad, "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\"}]}\n{\"messages\":[{\"role\":\"user\"}]}\n");
        Fixtures.Run r = Fixtures.run(sft(bad, model, tmp.resolve("o"), 2));
        assertEquals(2, r.code());
        assertEquals("jseek: " + bad + ":2: messages[0].content: missing (a user message needs a string content)", r.err().strip());
        r = Fixtures.run("sft", "--data", bad.toString(), "--out", tmp.resolve("o").toString(), "--steps", "2");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("needs --init-from"), r.err());
    }
}
