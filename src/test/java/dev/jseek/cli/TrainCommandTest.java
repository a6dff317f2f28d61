package dev.jseek.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jseek.io.Checkpoint;
import dev.jseek.model.ModelConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** jseek data prepare + jseek train end to end: checkpoints, metrics, and --resume equal to a straight run byte for byte. */
class TrainCommandTest {
    @TempDir Path tmp;

    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        CommandLine cl = Jseek.commandLine();
        StringWriter err = new StringWriter(), out = new StringWriter();
        cl.setErr(new PrintWriter(err));
        cl.setOut(new PrintWriter(out));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    Path prepare() throws IOException {
        Path corpus = Files.createDirectories(tmp.resolve("corpus"));
        for (int i = 0; i < 30; i++) Files.writeString(corpus.resolve("f" + i + ".txt"), ("the quick brown fox " + i + " jumps over the lazy dog. ").repeat(1 + i % 3));
        Path data = tmp.resolve("data");
        Run r = run("data", "prepare", "--corpus", "dir:" + corpus + "#txt", "--tokenizer", "bytes", "--out", data.toString(),
                "--val-fraction", "0", "--fim-rate", "0.1", "--shard-tokens", "500", "--threads", "1", "--no-progress");
        assertEquals(0, r.code(), r.err());
        return data;
    }

    static String[] train(Path data, Path out, int steps, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--data", data.toString(), "--out", out.toString(), "--preset", "tiny",
                "--steps", Integer.toString(steps), "--seq-len", "8", "--micro-batch", "2", "--batch", "4", "--batch-start", "2",
                "--batch-ramp-tokens", "32", "--lr", "3e-3", "--warmup-steps", "2", "--ema-decay", "0.9", "--bf16-moments",
                "--checkpoint-every", "2", "--keep", "5", "--seed", "7", "--no-progress"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    @Test
    void trainsCheckpointsAndResumesIdentically() throws Exception {
        Path data = prepare();
        Path a = tmp.resolve("a"), b = tmp.resolve("b");
        Run ra = run(train(data, a, 5));
        assertEquals(0, ra.code(), ra.err());
        assertTrue(ra.out().contains("trained steps 1..5"), ra.out());
        try (var s = Files.list(a)) {
            assertEquals(List.of("metrics.jsonl", "step-2", "step-4", "step-5"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
        List<String> lines = Files.readAllLines(a.resolve("metrics.jsonl"));
        assertEquals(5, lines.size());
        var first = new ObjectMapper().readTree(lines.get(0));
        assertEquals(2, first.get("sequences").asInt());
        assertEquals(16, first.get("tokens").asLong());
        assertEquals(4, new ObjectMapper().readTree(lines.get(4)).get("sequences").asInt());
        assertTrue(first.get("max_vio").isArray() && first.get("mtp_loss").asDouble() > 0, lines.get(0));
        // the checkpoint is a model directory that inference reads
        ModelConfig c = ModelConfig.load(a.resolve("step-5/config.json"));
        try (Checkpoint ck = Checkpoint.open(a.resolve("step-5"))) {
            assertTrue(ck.has("model.layers.1.mlp.gate.e_score_correction_bias"));
            assertEquals(c.vocabSize(), ck.info("model.embed_tokens.weight").dim(0));
        }
        // b: 3 steps, then --resume (newest checkpoint in --out) to 5: same files as a straight run
        assertEquals(0, run(train(data, b, 3)).code());
        Run rb = run(train(data, b, 5, "--resume"));
        assertEquals(0, rb.code(), rb.err());
        assertTrue(rb.out().contains("trained steps 4..5"), rb.out());
        for (String f : List.of("model.safetensors", "optimizer.safetensors", "ema.safetensors", "trainer_state.json"))
            assertArrayEquals(Files.readAllBytes(a.resolve("step-5").resolve(f)), Files.readAllBytes(b.resolve("step-5").resolve(f)), f);
        assertEquals(5, Files.readAllLines(b.resolve("metrics.jsonl")).size());
    }

    @Test
    void badOptionsAreUserErrors() throws Exception {
        Run r = run("train", "--data", tmp.resolve("nope").toString(), "--out", tmp.resolve("o").toString(), "--preset", "tiny", "--steps", "2", "--no-progress");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("nope") && r.err().contains("prepared token directory"), r.err());
        Path data = prepare();
        r = run("train", "--data", data.toString(), "--out", tmp.resolve("o").toString(), "--preset", "tiny", "--steps", "2",
                "--micro-batch", "2", "--batch", "5", "--no-progress");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--batch 5 must be a positive multiple of --micro-batch 2"), r.err());
        r = run(train(data, tmp.resolve("o"), 2, "--lr-schedule", "0; linear 10x 1"));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--lr-schedule") && r.err().contains("'10x'"), r.err());
        r = run(train(data, tmp.resolve("o"), 2, "--precision", "fp4"));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--precision: unknown value 'fp4'"), r.err());
        r = run(train(data, tmp.resolve("o"), 2, "--resume"));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("no valid checkpoint"), r.err());
    }
}
