package dev.jseek.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.data.Manifest;
import dev.jseek.data.TokenDataset;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class DataCommandTest {
    @TempDir Path tmp;

    record Run(int code, String err) {}

    static Run run(String... args) {
        CommandLine cl = Jseek.commandLine();
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Run(code, err.toString());
    }

    @Test void prepareAndInfoOnADirectory() throws IOException {
        Path corpus = Files.createDirectories(tmp.resolve("corpus/sub"));
        for (int i = 0; i < 40; i++) Files.writeString(corpus.resolve("f" + i + ".txt"), "document number " + i + " ".repeat(i));
        Files.writeString(corpus.resolve("skip.bin"), "not text");
        Path out = tmp.resolve("out");
        Run r = run("data", "prepare", "--corpus", "dir:" + tmp.resolve("corpus") + "#txt", "--tokenizer", "bytes", "--out", out.toString(),
                "--val-fraction", "0.1", "--fim-rate", "0.5", "--seed", "3", "--shard-tokens", "300", "--threads", "2", "--no-progress");
        assertEquals(0, r.code(), r.err());
        Manifest m = Manifest.read(out);
        assertEquals(40, m.corpusDocuments());
        assertEquals(40, m.train().documents() + m.val().documents());
        assertEquals(3, m.seed());
        assertEquals(0.5, m.fimRate());
        assertEquals("bytes", m.tokenizer().name());
        assertTrue(m.train().shards().size() > 1);
        try (TokenDataset ds = TokenDataset.open(out)) {
            assertEquals(m.train().tokens(), ds.train().size());
        }
        assertEquals(0, run("data", "info", out.toString()).code());
        // rerun: complete, nothing to do
        assertEquals(0, run("data", "prepare", "--corpus", "dir:" + tmp.resolve("corpus") + "#txt", "--tokenizer", "bytes", "--out", out.toString(),
                "--val-fraction", "0.1", "--fim-rate", "0.5", "--seed", "3", "--shard-tokens", "300", "--no-progress").code());
    }

    @Test void userMistakesAreOneLineErrors() throws IOException {
        Run r = run("data", "prepare", "--corpus", "nope:x", "--tokenizer", "bytes", "--out", tmp.resolve("o").toString(), "--no-progress");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unknown corpus kind 'nope'") && !r.err().contains("\tat "), r.err());
        r = run("data", "prepare", "--corpus", "jdk", "--tokenizer", tmp.resolve("missing.json").toString(), "--out", tmp.resolve("o").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("missing.json"), r.err());
        r = run("data", "prepare", "--corpus", "jdk", "--tokenizer", "bytes", "--out", tmp.resolve("o").toString(), "--val-fraction", "1.5");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--val-fraction 1.5"), r.err());
        Files.createDirectories(tmp.resolve("empty"));
        r = run("data", "info", tmp.resolve("empty").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("no manifest.json"), r.err());
    }
}
