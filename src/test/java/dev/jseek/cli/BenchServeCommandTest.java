package dev.jseek.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.model.ConfigEdits;
import dev.jseek.model.Presets;
import dev.jseek.model.RandomInit;
import dev.jseek.tensor.DType;
import dev.jseek.tokenizer.BpeTrainer;
import dev.jseek.tokenizer.Tokenizer;
import dev.jseek.tokenizer.TrainingCorpus;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code jseek bench serve} on a tiny random model: every level answers all its requests without error, and the
 * token count is clients x requests x max_tokens (EOS is never the greedy choice of this model in 4 tokens: the
 * oracle is the count the requests asked for). Bad flags give one line.
 */
@Timeout(120)
class BenchServeCommandTest {
    @TempDir Path dir;

    private static String[] run(String... args) {
        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int rc;
        try {
            System.setOut(new PrintStream(out, true));
            CommandLine cl = Jseek.commandLine();
            cl.setErr(new java.io.PrintWriter(err, true));
            rc = cl.execute(args);
        } finally {
            System.setOut(old);
        }
        return new String[] {Integer.toString(rc), out.toString(), err.toString()};
    }

    /** A tiny random model at dir/m with a tokenizer trained beside it (dir/tokenizer.json). */
    private Path model() throws Exception {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 2000; i++) sb.append(i % 7 == 0 ? "model " : "token ").append(i % 13 == 0 ? "\n" : "");
        Files.writeString(dir.resolve("c.txt"), sb);
        BpeTrainer.train(new TrainingCorpus(dir.resolve("c.txt"), null, Long.MAX_VALUE), new BpeTrainer.Options(280, 2, 1, null),
                dir.resolve("tokenizer.json"));
        int vocab = Tokenizer.load(dir.resolve("tokenizer.json")).vocabSize();
        Path m = dir.resolve("m");
        RandomInit.write(ConfigEdits.edit(Presets.get("tiny"), o -> o.put("vocab_size", vocab).put("max_position_embeddings", 64)),
                m, 5, 0.3, DType.F32);
        return m;
    }

    @Test void levelsAnswerEveryRequest() throws Exception {
        Path m = model();
        String[] r = run("bench", "serve", "--model", m.toString(), "--tokenizer", dir.resolve("tokenizer.json").toString(),
                "--clients", "1,3", "--requests", "2", "--prompt-len", "8", "--max-tokens", "4", "--warmup-seconds", "0.5");
        assertEquals("0", r[0], r[2]);
        Matcher x = Pattern.compile("(?m)^\\s+(\\d+)\\s+(\\d+)\\s+[0-9.]+\\s+(\\d+)\\s+\\d+ms\\s+\\d+ms\\s+[0-9.]+ms\\s+[0-9.]+ms\\s+(\\d+)$").matcher(r[1]);
        int levels = 0;
        while (x.find()) {
            int clients = Integer.parseInt(x.group(1));
            assertEquals(clients * 2, Integer.parseInt(x.group(2)), r[1]);
            assertEquals(clients * 2 * 4, Integer.parseInt(x.group(3)), r[1]);
            assertEquals(0, Integer.parseInt(x.group(4)), r[1]);
            levels++;
        }
        assertEquals(2, levels, r[1]);
        assertTrue(r[1].contains("peak RSS"), r[1]);

        String[] bad = run("bench", "serve", "--model", m.toString(), "--url", "http://127.0.0.1:1");
        assertNotEquals("0", bad[0]);
        assertTrue(bad[2].contains("give --model (serve it here) or --url"), bad[2]);
        bad = run("bench", "serve", "--model", m.toString(), "--warmup", "-1");
        assertNotEquals("0", bad[0]);
        assertTrue(bad[2].contains("--warmup must be >= 0, got -1"), bad[2]);
        bad = run("bench", "serve", "--model", m.toString(), "--warmup-seconds", "-2");
        assertNotEquals("0", bad[0]);
        assertTrue(bad[2].contains("--warmup-seconds: in 0..3600, got -2"), bad[2]);
        bad = run("bench", "serve", "--model", m.toString(), "--rounds", "0");
        assertNotEquals("0", bad[0]);
        assertTrue(bad[2].contains("--rounds: in 1..100, got 0"), bad[2]);
    }

    /**
     * {@code --rounds 3} with a stand-in llama-batched-bench (a script printing its jsonl lines, each call slower than
     * the one before): the peer runs once per round, and the table gives its medians and, as decode x, the median of
     * the rounds' own ratios (read back from the per-round lines).
     */
    @Test void roundsAlternateWithThePeerAndReportMedians() throws Exception {
        Path m = model(), gguf = dir.resolve("m.gguf");
        dev.jseek.gguf.GgufExporter.export(m, gguf, dev.jseek.gguf.QuantMix.F32, false, null);
        Path calls = dir.resolve("calls"), fake = dir.resolve("llama-batched-bench");
        String line = "{\"pp\": 8, \"tg\": 4, \"pl\": %s, \"t_pp\": 0.1, \"speed_pp\": 80.0, \"t_tg\": 0.2, \"speed_tg\": %s, \"t\": 0.3, \"speed\": 50.0}";
        Files.writeString(fake, "#!/bin/sh\nn=$(cat " + calls + " 2>/dev/null || echo 0); n=$((n + 1)); echo $n > " + calls + "\n"
                + "echo 'llama_context: a log line'\n"
                + "echo '" + line.formatted("1", "'$((100 * n))'") + "'\n"
                + "echo '" + line.formatted("2", "'$((200 * n))'") + "'\n");
        Files.setPosixFilePermissions(fake, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        PrintStream oldErr = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        String[] r;
        try {
            System.setErr(new PrintStream(log, true));
            r = run("bench", "serve", "--model", gguf.toString(), "--tokenizer", dir.resolve("tokenizer.json").toString(),
                    "--clients", "1,2", "--requests", "1", "--prompt-len", "8", "--max-tokens", "4", "--warmup-seconds", "0",
                    "--rounds", "3", "--llama-batched-bench", fake.toString());
        } finally {
            System.setErr(oldErr);
        }
        assertEquals("0", r[0], r[2]);
        assertEquals("3", Files.readString(calls).strip());
        String err = log.toString();
        Matcher round = Pattern.compile("round \\d of 3: jseek decode t/s [0-9.]+ [0-9.]+; llama S_TG ([0-9.]+) ([0-9.]+); decode x ([0-9.]+) ([0-9.]+)").matcher(err);
        java.util.List<Double> x1 = new java.util.ArrayList<>(), x2 = new java.util.ArrayList<>();
        while (round.find()) {
            x1.add(Double.parseDouble(round.group(3)));
            x2.add(Double.parseDouble(round.group(4)));
        }
        assertEquals(3, x1.size(), err);
        java.util.Collections.sort(x1);
        java.util.Collections.sort(x2);
        assertTrue(r[1].contains("medians of 3 rounds"), r[1]);
        Matcher row = Pattern.compile("(?m)^\\s+(\\d+)\\s+[0-9.]+\\s+[0-9.]+\\s+[0-9.]+\\s+0\\.300\\s+0\\.100\\s+([0-9.]+)\\s+([0-9.]+)$").matcher(r[1]);
        assertTrue(row.find(), r[1]);
        assertEquals("1", row.group(1));
        assertEquals(200.0, Double.parseDouble(row.group(2)), 1e-9, r[1]); // the median of 100, 200, 300
        assertEquals(x1.get(1), Double.parseDouble(row.group(3)), 0.0051, r[1] + err);
        assertTrue(row.find(), r[1]);
        assertEquals(400.0, Double.parseDouble(row.group(2)), 1e-9, r[1]);
        assertEquals(x2.get(1), Double.parseDouble(row.group(3)), 0.0051, r[1] + err);
    }
}
