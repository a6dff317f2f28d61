package dev.jseek.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code jseek bench fp8-gemm} on small shapes: the table rows, the error ordering it shows, and user errors. */
class BenchFp8GemmCommandTest {
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

    @Test
    void printsErrorsPerKWithPromotionFarMoreAccurate() {
        Run r = run("bench", "fp8-gemm", "--m", "16", "--n", "16", "--k", "256,2048", "--reps", "1");
        assertEquals(0, r.rc(), r.err());
        String[] lines = r.out().split("\n");
        int found = 0;
        for (String line : lines) {
            String[] f = line.trim().split("[ /]+");
            if (f.length == 7 && (f[0].equals("256") || f[0].equals("2048"))) {
                double promotedMax = Double.parseDouble(f[1]), unpromotedMax = Double.parseDouble(f[5]);
                assertTrue(unpromotedMax > 10 * promotedMax, line);
                found++;
            }
            if (f.length == 3 && f[0].equals("2048")) {
                assertTrue(Double.parseDouble(f[1]) > 0 && Double.parseDouble(f[2]) > 0, line);
                found++;
            }
        }
        assertEquals(3, found, r.out());
    }

    @Test
    void fp8TrainingBenchPrintsBothLossCurvesWhichStartTogether() {
        Run r = run("bench", "fp8", "--steps", "3", "--batch", "1", "--seq", "8", "--every", "1");
        assertEquals(0, r.rc(), r.err());
        int rows = 0;
        for (String line : r.out().split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 4 && f[0].matches("[123]")) {
                double a = Double.parseDouble(f[1]), b = Double.parseDouble(f[2]);
                assertTrue(Double.isFinite(a) && Double.isFinite(b) && a > 0, line);
                if (f[0].equals("1")) assertEquals(a, b, 0.02 * a, "the first step differs only by FP8 rounding: " + line);
                rows++;
            }
        }
        assertEquals(3, rows, r.out());
        assertTrue(r.out().contains("mean main CE of the last 3 steps"), r.out());
        Run bad = run("bench", "fp8", "--preset", "nope");
        assertEquals(2, bad.rc());
        assertTrue(bad.err().contains("nope"), bad.err());
    }

    @Test
    void badOptionsAreOneLineUserErrors() {
        Run r = run("bench", "fp8-gemm", "--acc-chunk", "3", "--no-speed");
        assertEquals(2, r.rc());
        assertTrue(r.err().contains("--acc-bits/--acc-chunk") && r.err().contains("3"), r.err());
        r = run("bench", "fp8-gemm", "--k", "0");
        assertEquals(2, r.rc());
        assertTrue(r.err().contains("--k"), r.err());
    }
}
