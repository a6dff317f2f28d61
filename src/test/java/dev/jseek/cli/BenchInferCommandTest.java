package dev.jseek.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.bench.InferBench;
import dev.jseek.gguf.GgufExporter;
import dev.jseek.gguf.QuantMix;
import dev.jseek.model.ModelConfig;
import dev.jseek.model.TensorSchema;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jseek bench infer} end to end on a small exported GGUF: jseek alone, then beside a stand-in llama-bench
 * (a script printing llama-bench's JSON rows) whose numbers must reach the table and its ratios; the bytes a decode
 * step reads against the parameter count (F32: 4 bytes per active parameter, embedding table excluded); the
 * shipped 1.5B config; user errors.
 */
class BenchInferCommandTest {
    @Test
    void measuresJseekAndReadsLlamaBenchJson(@TempDir Path tmp) throws Exception {
        Path hf = ForwardCommandTest.fixture(), gguf = tmp.resolve("m.gguf");
        GgufExporter.export(hf, gguf, QuantMix.F32, false, null);
        ExportCommandTest.Run r = ExportCommandTest.run("bench", "infer", "--gguf", gguf.toString(), "--prompt", "8", "--gen", "3",
                "--reps", "1", "--triad-mib", "8", "--warmup-seconds", "0");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().matches("(?s).*memory triad [0-9.]+ GB/s.*\\nm\\.gguf\\s+[0-9.]+\\s+[0-9.]+ \\|\\s+[0-9.]+\\s+-\\s+- \\|\\s+[0-9.]+\\s+-\\s+- \\|.*"), r.out());

        Path fake = tmp.resolve("llama-bench");
        Files.writeString(fake, """
                #!/bin/sh
                echo '['
                echo '  {"build_commit": "abc1234", "build_number": 7000, "n_prompt": 8, "n_gen": 0, "n_depth": 0, "avg_ts": 400.5, "stddev_ts": 1.0},'
                echo '  {"build_commit": "abc1234", "build_number": 7000, "n_prompt": 0, "n_gen": 3, "n_depth": 0, "avg_ts": 50.25, "stddev_ts": 0.5}'
                echo ']'
                """);
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwx------"));
        r = ExportCommandTest.run("bench", "infer", "--gguf", gguf.toString(), "--prompt", "8", "--gen", "3", "--reps", "1",
                "--triad-mib", "8", "--warmup-seconds", "0", "--llama-bench", fake.toString());
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("llama.cpp: " + fake + ", abc1234 (build 7000)"), r.out());
        assertTrue(r.out().matches("(?s).*\\nm\\.gguf\\s+[0-9.]+\\s+[0-9.]+ \\|\\s+[0-9.]+\\s+400\\.5\\s+[0-9.]+x \\|\\s+[0-9.]+\\s+50\\.3\\s+[0-9.]+x \\|.*"), r.out());

        // 3 rounds: each jseek run is followed by one llama-bench repetition (-r 1), whose speed differs per call here;
        // the table's ratios are the medians of the rounds' own ratios
        Path calls = tmp.resolve("calls");
        Files.writeString(fake, """
                #!/bin/sh
                case "$*" in *"-r 1 "*) ;; *) echo "expected -r 1, got: $*" >&2; exit 2 ;; esac
                n=$(cat %s 2>/dev/null || echo 0); n=$((n + 1)); echo $n > %s
                echo '['
                echo '  {"build_commit": "abc1234", "build_number": 7000, "n_prompt": 8, "n_gen": 0, "n_depth": 0, "avg_ts": '$((100 * n))', "stddev_ts": 1.0},'
                echo '  {"build_commit": "abc1234", "build_number": 7000, "n_prompt": 0, "n_gen": 3, "n_depth": 0, "avg_ts": '$((10 * n))', "stddev_ts": 0.5}'
                echo ']'
                """.formatted(calls, calls));
        java.io.ByteArrayOutputStream logBytes = new java.io.ByteArrayOutputStream(), outBytes = new java.io.ByteArrayOutputStream();
        new InferBench(tmp, java.util.List.of(gguf), java.util.List.of(), 1, 8, 3, 3, 1, fake, 8, false, 0,
                new java.io.PrintStream(logBytes, true, java.nio.charset.StandardCharsets.UTF_8))
                .run(new java.io.PrintStream(outBytes, true, java.nio.charset.StandardCharsets.UTF_8));
        String log = logBytes.toString(java.nio.charset.StandardCharsets.UTF_8), out = outBytes.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertEquals("3", Files.readString(calls).strip());
        java.util.regex.Matcher rm = java.util.regex.Pattern.compile("this round's ratios: prefill ([0-9.]+)x, decode ([0-9.]+)x").matcher(log);
        java.util.List<Double> pre = new java.util.ArrayList<>(), dec = new java.util.ArrayList<>();
        while (rm.find()) { pre.add(Double.parseDouble(rm.group(1))); dec.add(Double.parseDouble(rm.group(2))); }
        assertEquals(3, dec.size(), log);
        java.util.Collections.sort(pre);
        java.util.Collections.sort(dec);
        java.util.regex.Matcher row = java.util.regex.Pattern.compile("\\nm\\.gguf\\s+[0-9.]+\\s+[0-9.]+ \\|\\s+[0-9.]+\\s+200\\.0\\s+([0-9.]+)x \\|\\s+[0-9.]+\\s+20\\.0\\s+([0-9.]+)x \\|").matcher(out);
        assertTrue(row.find(), out);
        assertEquals(pre.get(1), Double.parseDouble(row.group(1)), 0.0051, out + log);
        assertEquals(dec.get(1), Double.parseDouble(row.group(2)), 0.0051, out + log);
        assertTrue(out.contains("each run followed by one llama-bench repetition (mean of 3)"), out);

        Files.writeString(fake, "#!/bin/sh\necho 'error: unknown model architecture' >&2\nexit 1\n");
        r = ExportCommandTest.run("bench", "infer", "--gguf", gguf.toString(), "--prompt", "8", "--gen", "3", "--reps", "1",
                "--triad-mib", "8", "--warmup-seconds", "0", "--llama-bench", fake.toString());
        assertNotEquals(0, r.rc());
        assertTrue(r.err().contains("exited with 1") && r.err().contains("unknown model architecture"), r.err());
    }

    /** Untimed runs until the warm-up time has passed (several for this tiny model), then each timed run reported. */
    @Test
    void warmsUpForTheGivenSecondsAndReportsEachRun(@TempDir Path tmp) throws Exception {
        Path hf = ForwardCommandTest.fixture(), gguf = tmp.resolve("m.gguf");
        GgufExporter.export(hf, gguf, QuantMix.F32, false, null);
        java.io.ByteArrayOutputStream log = new java.io.ByteArrayOutputStream(), out = new java.io.ByteArrayOutputStream();
        new InferBench(tmp, java.util.List.of(gguf), java.util.List.of(), 1, 8, 3, 2, 1, null, 8, false, 0.3,
                new java.io.PrintStream(log, true, java.nio.charset.StandardCharsets.UTF_8))
                .run(new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8));
        String err = log.toString(java.nio.charset.StandardCharsets.UTF_8);
        java.util.regex.Matcher w = java.util.regex.Pattern.compile("warm-up: (\\d+) runs in ([0-9.]+) s").matcher(err);
        assertTrue(w.find(), err);
        assertTrue(Integer.parseInt(w.group(1)) > 1 && Double.parseDouble(w.group(2)) >= 0.3, err);
        assertTrue(err.contains("run 1 of 2: prefill ") && err.contains("run 2 of 2: prefill ") && !err.contains("run 3 of"), err);
        assertTrue(err.contains("(decode tasks run by the calling thread: "), err);
        assertTrue(out.toString(java.nio.charset.StandardCharsets.UTF_8).contains("jseek mean of 2 runs after at least 0.3 s of warm-up runs"), out.toString());
    }

    @Test
    void decodeBytesAreTheActiveWeightsWithoutTheEmbeddingTable(@TempDir Path tmp) throws Exception {
        Path hf = ForwardCommandTest.fixture(), gguf = tmp.resolve("m.gguf");
        GgufExporter.export(hf, gguf, QuantMix.F32, false, null);
        ModelConfig c = ModelConfig.load(hf.resolve("config.json"));
        long active = new TensorSchema(c).activeParameters() - (long) c.vocabSize() * c.hiddenSize();
        assertEquals(4 * active, InferBench.decodeBytes(gguf));
    }

    @Test
    void shippedConfigIsTheIssuesModel() {
        ModelConfig c = InferBench.config();
        TensorSchema s = new TensorSchema(c);
        assertEquals(1536, c.hiddenSize());
        assertEquals(64, c.nRoutedExperts());
        assertEquals(1.53e9, s.mainParameters(), 0.01e9, "total parameters");
        assertEquals(0.30e9, s.activeParameters(), 0.03e9, "active parameters");
    }

    @Test
    void userErrors(@TempDir Path tmp) throws Exception {
        ExportCommandTest.Run r = ExportCommandTest.run("bench", "infer", "--llama-bench", tmp.resolve("none").toString());
        assertEquals(2, r.rc());
        assertTrue(r.err().contains("--llama-bench: " + tmp.resolve("none") + " is not an executable file"), r.err());
        Path notGguf = Files.writeString(tmp.resolve("x.gguf"), "hello");
        r = ExportCommandTest.run("bench", "infer", "--gguf", notGguf.toString());
        assertEquals(2, r.rc());
        assertTrue(r.err().contains("is not a GGUF file"), r.err());
        r = ExportCommandTest.run("bench", "infer", "--types", "q3_k");
        assertEquals(2, r.rc());
        assertTrue(r.err().contains("--type: unknown value 'q3_k'"), r.err());
        r = ExportCommandTest.run("bench", "infer", "--warmup-seconds", "-1");
        assertEquals(2, r.rc());
        assertTrue(r.err().contains("--warmup-seconds: in 0..3600, got -1"), r.err());
    }
}
