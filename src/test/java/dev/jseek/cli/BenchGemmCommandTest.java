package dev.jseek.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.ExternalPeers;
import dev.jseek.bench.OpenBlas;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class BenchGemmCommandTest {
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

    @Test
    void missingOpenBlasPrintsJseekOnly() {
        String[] r = run("bench", "gemm", "--sizes", "48", "--no-shapes", "--reps", "1", "--warmup-seconds", "0", "--openblas", "/nonexistent/libopenblas.so");
        assertEquals("0", r[0], r[2]);
        assertTrue(r[1].contains("OpenBLAS: NOT AVAILABLE"), r[1]);
        assertTrue(r[1].matches("(?s).*square F32\\s+48\\s+48\\s+48 F32\\s+[0-9.]+\\s+-\\s+-.*"), r[1]);
        assertTrue(r[1].contains("measured peak:"), r[1]);
    }

    @Test
    void withOpenBlasPrintsBothAndTheRatio() {
        ExternalPeers.require(Files.exists(Path.of(OpenBlas.DEFAULT_PATH)), "OpenBLAS (Debian libopenblas0-openmp) at " + OpenBlas.DEFAULT_PATH);
        String[] r = run("bench", "gemm", "--sizes", "64", "--no-shapes", "--reps", "1", "--warmup-seconds", "0.2");
        assertEquals("0", r[0], r[2]);
        assertTrue(r[1].matches("(?s).*square F32\\s+64\\s+64\\s+64 F32\\s+[0-9.]+\\s+[0-9.]+\\s+[0-9.]+.*"), r[1]);
        assertFalse(r[1].contains("WARNING"), r[1]);
    }

    @Test
    void badSizesAreUserErrors() {
        String[] r = run("bench", "gemm", "--sizes", "0", "--no-shapes");
        assertEquals("2", r[0]);
        assertTrue(r[2].contains("--sizes: 0 is outside 1..16384"), r[2]);
    }
}
