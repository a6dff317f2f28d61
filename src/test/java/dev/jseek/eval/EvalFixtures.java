package dev.jseek.eval;

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

/** Test fixtures: a small BPE tokenizer (DeepSeek-V3 specials incl. FIM), tiny model directories, a CLI runner. */
final class EvalFixtures {
    private EvalFixtures() {}

    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        CommandLine cl = Jseek.commandLine();
        StringWriter err = new StringWriter(), out = new StringWriter();
        cl.setErr(new PrintWriter(err));
        cl.setOut(new PrintWriter(out));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    /** A tokenizer trained on English and Java-like text; ids 0..17 are DeepSeek-V3's special tokens. */
    static Path tokenizerFile(Path dir, int vocab) throws IOException {
        Path corpus = dir.resolve("corpus.txt");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 100; i++)
            sb.append("The grass is green. The sky is blue. The pass key is ").append(10_000 + 37 * i).append(". What is ")
                    .append(i % 13).append('+').append(i % 7).append("?\n    public int size() { return count + ").append(i).append("; }\n");
        Files.writeString(corpus, sb.toString());
        Path out = dir.resolve("tokenizer-" + vocab + ".json");
        BpeTrainer.train(new TrainingCorpus(corpus, null, Long.MAX_VALUE), new BpeTrainer.Options(vocab, 2, 1, null), out);
        return out;
    }

    static Tokenizer tokenizer(Path dir, int vocab) throws IOException { return Tokenizer.load(tokenizerFile(dir, vocab)); }

    /** A tiny-preset F32 model directory with the given vocabulary and matrix init std (0 = every matrix zero). */
    static Path tinyModel(Path dir, int vocab, long seed, double std) {
        Path m = dir.resolve("model-" + vocab + "-" + seed + "-" + std);
        Run r = run("init", "--preset", "tiny", "--out", m.toString(), "--seed", Long.toString(seed), "--dtype", "f32",
                "--vocab-size", Integer.toString(vocab), "--init-std", Double.toString(std));
        assertEquals(0, r.code(), r.err());
        return m;
    }
}
