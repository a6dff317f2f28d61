package dev.jseek.posttrain;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jseek.cli.Jseek;
import dev.jseek.tokenizer.BpeTrainer;
import dev.jseek.tokenizer.Tokenizer;
import dev.jseek.tokenizer.TrainingCorpus;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine;

/** Test fixtures: tokenizers trained with jseek's BPE trainer, tiny model directories, a CLI runner. */
final class Fixtures {
    private Fixtures() {}

    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        CommandLine cl = Jseek.commandLine();
        StringWriter err = new StringWriter(), out = new StringWriter();
        cl.setErr(new PrintWriter(err));
        cl.setOut(new PrintWriter(out));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    /**
     * A tokenizer with the DeepSeek-V3 special tokens (ids 0..17) trained on a little English and arithmetic text;
     * vocab 274 = the 18 specials + 256 bytes (byte level), larger = with merges.
     */
    static Tokenizer tokenizer(Path dir, int vocab) throws IOException {
        Path corpus = dir.resolve("corpus.txt");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 200; i++)
            sb.append("What is ").append(i % 17).append('+').append(i % 11).append("? The answer is ").append(i % 17 + i % 11)
                    .append(". Hello there, how are you today?\nFine, thanks!\n");
        Files.writeString(corpus, sb.toString());
        Path out = dir.resolve("tokenizer-" + vocab + ".json");
        BpeTrainer.train(new TrainingCorpus(corpus, null, Long.MAX_VALUE), new BpeTrainer.Options(vocab, 2, 1, null), out);
        return Tokenizer.load(out);
    }

    /** A random tiny-preset model directory (F32, init std 0.02) with the given vocabulary and a byte-level tokenizer beside it. */
    static Path tinyModel(Path dir, int vocab, long seed) throws IOException {
        Path m = dir.resolve("model-" + vocab + "-" + seed);
        Run r = run("init", "--preset", "tiny", "--out", m.toString(), "--seed", Long.toString(seed), "--dtype", "f32",
                "--vocab-size", Integer.toString(vocab), "--init-std", "0.02");
        assertEquals(0, r.code(), r.err());
        return m;
    }
}
