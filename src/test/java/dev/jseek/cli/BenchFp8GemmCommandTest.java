package dev.jseek.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code jseek bench fp8-gemm} on small shapes: the table rows, the error ordering it shows, and user errors; and a short
 * {@code jseek bench fp8} training comparison (FP8 vs BF16, FP32 as a third column).
 */
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

    /**
     * {@code jseek bench fp8}: FP32, BF16 and FP8 loss columns; the two relative-difference columns are recomputed
     * here from the printed losses; the first step differs only by rounding; summary and time per step of each.
     */
    @Test
    void fp8TrainingBenchComparesFp8WithBf16() {
        Run r = run("bench", "fp8", "--steps", "3", "--batch", "1", "--seq", "8", "--every", "1");
        assertEquals(0, r.rc(), r.err() + r.out());
        assertTrue(r.out().contains("CE FP32") && r.out().contains("CE BF16") && r.out().contains("CE FP8") && r.out().contains("FP8 vs BF16"), r.out());
        int rows = 0;
        boolean anyDiff = false;
        for (String line : r.out().split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length != 6 || !f[0].matches("[123]")) continue;
            double f32 = Double.parseDouble(f[1]), b16 = Double.parseDouble(f[2]), f8 = Double.parseDouble(f[3]);
            double rel = Double.parseDouble(f[4].replace("%", "")), rel16 = Double.parseDouble(f[5].replace("%", ""));
            assertTrue(Double.isFinite(f32) && Double.isFinite(b16) && Double.isFinite(f8) && f32 > 0 && b16 > 0, line);
            // the losses are printed to 5 decimals, so a recomputed percentage carries about 1e-3 points of error
            assertEquals(100 * (f8 - b16) / b16, rel, 0.002, line);
            assertEquals(100 * (b16 - f32) / f32, rel16, 0.002, line);
            if (f[0].equals("1")) {
                assertEquals(b16, f8, 0.02 * b16, "the first step differs only by FP8 vs BF16 rounding: " + line);
                assertEquals(f32, b16, 0.01 * f32, "the first step differs only by BF16 rounding: " + line);
            }
            anyDiff |= f8 != b16;
            rows++;
        }
        assertEquals(3, rows, r.out());
        assertTrue(anyDiff, "FP8 and BF16 runs should differ: " + r.out());
        assertTrue(r.out().contains("mean main CE of the last 3 steps") && r.out().contains("(report: below 0.25%)"), r.out());
        assertTrue(r.out().matches("(?s).*time per step \\(median[^)]*\\): FP32 [0-9.]+ s, BF16 [0-9.]+ s, FP8 [0-9.]+ s.*"), r.out());
        Run bad = run("bench", "fp8", "--preset", "nope");
        assertEquals(2, bad.rc());
        assertTrue(bad.err().contains("nope"), bad.err());
        bad = run("bench", "fp8", "--steps", "0");
        assertEquals(2, bad.rc());
        assertTrue(bad.err().contains("--steps, --batch, --every must be >= 1"), bad.err());
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
