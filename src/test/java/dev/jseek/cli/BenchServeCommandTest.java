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

    @Test void levelsAnswerEveryRequest() throws Exception {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 2000; i++) sb.append(i % 7 == 0 ? "model " : "token ").append(i % 13 == 0 ? "\n" : "");
        Files.writeString(dir.resolve("c.txt"), sb);
        BpeTrainer.train(new TrainingCorpus(dir.resolve("c.txt"), null, Long.MAX_VALUE), new BpeTrainer.Options(280, 2, 1, null),
                dir.resolve("tokenizer.json"));
        int vocab = Tokenizer.load(dir.resolve("tokenizer.json")).vocabSize();
        Path m = dir.resolve("m");
        RandomInit.write(ConfigEdits.edit(Presets.get("tiny"), o -> o.put("vocab_size", vocab).put("max_position_embeddings", 64)),
                m, 5, 0.3, DType.F32);
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
    }
}
