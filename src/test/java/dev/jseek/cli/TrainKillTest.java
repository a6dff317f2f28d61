package dev.jseek.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jseek.train.FaultPoint;
import dev.jseek.train.TrainCheckpoint;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash safety of {@code jseek train}: a training child JVM (the real CLI main class) is killed with SIGKILL
 * ({@link Process#destroyForcibly}) (a) in the middle of a step, with metrics of steps after the last checkpoint already
 * written, and (b) while it writes a checkpoint (model and optimizer files of {@code step-N.tmp/} written, no state, no
 * manifest); both kill points are made deterministic by {@link FaultPoint}. The first kill is followed by
 * {@code --resume} in a fresh JVM (killed again during the checkpoint write), the second by {@code --resume} in the test
 * JVM (the uninterrupted reference also runs there). The metrics.jsonl must equal the uninterrupted run of the same
 * length line by line (every loss, norm, schedule value, expert load, validation loss bit for bit; only the timings
 * differ), both what the fresh JVM wrote before its kill and the final file, and so must the final checkpoint's files.
 */
class TrainKillTest {
    @TempDir Path tmp;
    static final int STEPS = 12;

    static String[] args(Path data, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--data", data.toString(), "--out", out.toString(), "--preset", "tiny",
                "--steps", Integer.toString(STEPS), "--seq-len", "8", "--micro-batch", "2", "--batch", "4", "--batch-start", "2",
                "--batch-ramp-tokens", "32", "--lr", "3e-3", "--warmup-steps", "2", "--ema-decay", "0.9", "--bf16-moments",
                "--checkpoint-every", "3", "--keep", "5", "--seed", "7", "--eval-every", "4", "--eval-batches", "2", "--no-progress", "--no-plot"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    /** Starts the CLI in a child JVM with the test class path; stdout/stderr go to files in {@code log}. */
    static Process child(Path log, String pause, Path marker, String... cliArgs) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xss8m", "-XX:+UseSerialGC",
                "-Djava.awt.headless=true", "-cp", System.getProperty("java.class.path")));
        if (pause != null) {
            cmd.add("-D" + FaultPoint.PROPERTY + "=" + pause);
            cmd.add("-D" + FaultPoint.MARKER_PROPERTY + "=" + marker);
        }
        cmd.add(Jseek.class.getName());
        cmd.addAll(List.of(cliArgs));
        return new ProcessBuilder(cmd).redirectOutput(log.resolveSibling(log.getFileName() + ".out").toFile())
                .redirectError(log.resolveSibling(log.getFileName() + ".err").toFile()).start();
    }

    static String logs(Path log) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String ext : List.of(".out", ".err")) {
            Path f = log.resolveSibling(log.getFileName() + ext);
            if (Files.exists(f)) sb.append(ext).append(":\n").append(Files.readString(f)).append('\n');
        }
        return sb.toString();
    }

    /** Runs a child until it reaches {@code pause} (its marker file appears), then kills it with SIGKILL. */
    static void runAndKill(Path log, String pause, String... cliArgs) throws Exception {
        Path marker = log.resolveSibling(log.getFileName() + ".paused");
        Process p = child(log, pause, marker, cliArgs);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        try {
            while (!Files.exists(marker)) {
                if (!p.isAlive()) fail("child exited with " + p.exitValue() + " before reaching " + pause + "\n" + logs(log));
                if (System.nanoTime() > deadline) fail("child did not reach " + pause + " in time\n" + logs(log));
                Thread.sleep(20);
            }
            assertEquals(pause, Files.readAllLines(marker).get(0));
        } finally {
            p.destroyForcibly(); // SIGKILL on Unix
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "child did not die");
        }
        assertEquals(137, p.exitValue(), "killed by SIGKILL (128 + 9)");
    }

    /** metrics.jsonl lines without the wall-clock fields. */
    static List<JsonNode> metrics(Path run) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            ObjectNode n = (ObjectNode) json.readTree(l);
            n.remove("step_seconds");
            n.remove("tokens_per_s");
            out.add(n);
        }
        return out;
    }

    static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void killedMidStepAndDuringCheckpointWriteResumesBitIdentically() throws Exception {
        Path corpus = Files.createDirectories(tmp.resolve("corpus"));
        List<String> texts = TrainCommandTest.texts();
        for (int i = 0; i < texts.size(); i++) Files.writeString(corpus.resolve("f" + i + ".txt"), texts.get(i));
        Path data = tmp.resolve("data");
        TrainCommandTest.Run prep = TrainCommandTest.run("data", "prepare", "--corpus", "dir:" + corpus + "#txt", "--tokenizer", "bytes",
                "--out", data.toString(), "--val-fraction", "0.3", "--seed", "3", "--fim-rate", "0.1", "--shard-tokens", "500", "--threads", "1", "--no-progress");
        assertEquals(0, prep.code(), prep.err());

        // reference: uninterrupted, in this JVM
        Path ref = tmp.resolve("ref");
        TrainCommandTest.Run r = TrainCommandTest.run(args(data, ref));
        assertEquals(0, r.code(), r.err());

        Path run = tmp.resolve("run"), logs = Files.createDirectories(tmp.resolve("logs"));
        // (a) SIGKILL in the middle of step 8: checkpoints 3 and 6 exist, metrics of steps 7 (after the checkpoint) written
        runAndKill(logs.resolve("a"), "mid-step@8", args(data, run));
        assertEquals(List.of("metrics.jsonl", "step-3", "step-6"), names(run));
        assertEquals(7, Files.readAllLines(run.resolve("metrics.jsonl")).size());

        // (b) resume (step-6), SIGKILL while writing checkpoint 9: step-9.tmp has model + optimizer, no state, no manifest
        runAndKill(logs.resolve("b"), "checkpoint-write@9", args(data, run, "--resume"));
        assertTrue(logs(logs.resolve("b")).contains("resuming " + run.resolve("step-6")), logs(logs.resolve("b")));
        assertEquals(List.of("metrics.jsonl", "step-3", "step-6", "step-9.tmp"), names(run));
        List<String> tmpFiles = names(run.resolve("step-9.tmp"));
        assertTrue(tmpFiles.contains("optimizer.safetensors") && tmpFiles.contains("model.safetensors"), tmpFiles.toString());
        assertFalse(tmpFiles.contains(TrainCheckpoint.MANIFEST) || tmpFiles.contains(TrainCheckpoint.STATE), tmpFiles.toString());
        assertEquals(9, Files.readAllLines(run.resolve("metrics.jsonl")).size());

        // the fresh JVM resumed from step-6 reproduced steps 7..9 exactly (line 9 was written before the checkpoint)
        List<JsonNode> want = metrics(ref), partial = metrics(run);
        for (int i = 0; i < 9; i++) assertEquals(want.get(i), partial.get(i), "metrics of step " + (i + 1) + " before the second kill");

        // resume again (newest valid: step-6, step-9.tmp is left over) and finish, in this JVM
        TrainCommandTest.Run c = TrainCommandTest.run(args(data, run, "--resume"));
        assertEquals(0, c.code(), c.err());
        assertTrue(c.out().contains("resuming " + run.resolve("step-6")), c.out());

        List<JsonNode> got = metrics(run);
        assertEquals(STEPS, want.size());
        assertTrue(want.get(3).has("val_loss") && want.get(11).has("val_loss"), "validation at steps 4, 8, 12");
        for (int i = 0; i < STEPS; i++) assertEquals(want.get(i), got.get(i), "metrics of step " + (i + 1));
        assertEquals(names(ref), names(run), "same checkpoints, no leftover step-9.tmp");
        for (String f : names(ref.resolve("step-12")))
            assertArrayEquals(Files.readAllBytes(ref.resolve("step-12").resolve(f)), Files.readAllBytes(run.resolve("step-12").resolve(f)), "step-12/" + f);
        assertTrue(new File(run.toFile(), "step-9").isDirectory(), "step 9 rewritten after the resume");
    }
}
