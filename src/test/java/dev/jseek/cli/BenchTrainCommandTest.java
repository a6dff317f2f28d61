package dev.jseek.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.model.Presets;
import dev.jseek.train.TrainFlops;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code jseek bench train}: a tiny run with the PyTorch peer (on the test class path) prints the agreement check and
 * a result row whose GFLOP/step is {@link TrainFlops#stepFlops}; bad options are user errors.
 */
class BenchTrainCommandTest {
    record Run(int rc, String out, String err) {}

    static Run run(String... args) {
        CommandLine cl = Jseek.commandLine();
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err));
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            int rc = cl.execute(args);
            return new Run(rc, buf.toString(StandardCharsets.UTF_8), err.toString());
        } finally {
            System.setOut(old);
        }
    }

    @Test void tinyRunWithPeerPrintsCheckAndTable() {
        Run r = run("bench", "train", "--presets", "tiny", "-b", "2", "-t", "8", "--warmup", "1", "--warmup-seconds", "0",
                "--steps", "2", "--peak-gflops", "10", "--peer", "require", "--profile");
        assertEquals(0, r.rc, r.err + r.out);
        assertTrue(r.out.contains("peer: PyTorch"), r.out);
        assertTrue(r.out.contains("rel. diff"), r.out);
        assertTrue(r.out.contains("mla attention core"), "profile printed: " + r.out);
        String gflop = String.format(Locale.ROOT, "%.3f", TrainFlops.stepFlops(Presets.get("tiny"), 2, 8) / 1e9);
        String row = r.out.lines().filter(l -> l.startsWith("tiny ")).findFirst().orElseThrow(() -> new AssertionError(r.out));
        assertTrue(row.contains(" 2x8 ") && row.contains(gflop) && row.contains("x "), row);
    }

    @Test void badOptionsAreUserErrors() {
        Run r = run("bench", "train", "--presets", "nope");
        assertEquals(2, r.rc);
        assertTrue(r.err.contains("unknown preset 'nope'"), r.err);
        r = run("bench", "train", "--seq", "1");
        assertEquals(2, r.rc);
        assertTrue(r.err.contains("--seq must be >= 2, got 1"), r.err);
        r = run("bench", "train", "--peer", "maybe");
        assertEquals(2, r.rc);
        assertTrue(r.err.contains("--peer: unknown value 'maybe'"), r.err);
    }
}
