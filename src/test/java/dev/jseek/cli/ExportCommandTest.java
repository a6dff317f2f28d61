package dev.jseek.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.io.Npy;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code jseek export}, then {@code inspect}, {@code forward} and {@code generate} on the .gguf; user errors. */
class ExportCommandTest {
    record Run(int rc, String out, String err) {}

    static synchronized Run run(String... args) {
        CommandLine cl = Jseek.commandLine();
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err));
        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            int rc = cl.execute(args);
            return new Run(rc, out.toString(StandardCharsets.UTF_8), err.toString());
        } finally {
            System.setOut(old);
        }
    }

    @Test
    void exportThenInspectForwardAndGenerateOnTheGguf(@TempDir Path tmp) throws Exception {
        Path hf = ForwardCommandTest.fixture(), gguf = tmp.resolve("m.gguf");
        Run e = run("export", "--model", hf.toString(), "--out", gguf.toString(), "--type", "f32", "--mtp");
        assertEquals(0, e.rc, e.err);
        assertTrue(e.out.contains("1 MTP layer(s), no tokenizer"), e.out);
        Run again = run("export", "--model", hf.toString(), "--out", gguf.toString());
        assertEquals(2, again.rc);
        assertEquals("jseek: --out: " + gguf + " exists; pass --force to overwrite\n", again.err);

        Run i = run("inspect", "--model", gguf.toString());
        assertEquals(0, i.rc, i.err);
        assertTrue(i.out.startsWith("GGUF v3, "), i.out);
        assertTrue(i.out.contains("deepseek2.block_count"), i.out);
        assertTrue(i.out.contains("blk.1.ffn_gate_exps.weight"), i.out);
        assertTrue(i.out.contains("[16, 12, 32]"), "row-major shape of the stacked experts\n" + i.out);
        assertTrue(i.out.contains("model: layers 3 + 1 MTP, hidden 32, heads 4, experts 16 routed (top-3) + 1 shared, vocab 128"), i.out);
        assertTrue(i.out.contains("tokenizer: none in the file (give --tokenizer to commands that need one)"), i.out);

        String toks = "48,105,23,15,89";
        Path a = tmp.resolve("a.npy"), b = tmp.resolve("b.npy");
        assertEquals(0, run("forward", "--model", hf.toString(), "--tokens", toks, "--mtp", "--out", a.toString()).rc);
        Run f = run("forward", "--model", gguf.toString(), "--tokens", toks, "--mtp", "--out", b.toString());
        assertEquals(0, f.rc, f.err);
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b), "same logits, bit for bit");
        assertArrayEquals(Files.readAllBytes(tmp.resolve("a.mtp.npy")), Files.readAllBytes(tmp.resolve("b.mtp.npy")));
        float[] want = Npy.readFloats(hf.resolve("logits.npy"));
        float[] got = Npy.readFloats(b, 5, 128);
        for (int k = 0; k < got.length; k++) assertEquals(want[k], got[k], 1e-4);

        Run g1 = run("generate", "--model", hf.toString(), "--prompt-tokens", toks, "-n", "6", "--no-stop");
        Run g2 = run("generate", "--model", gguf.toString(), "--prompt-tokens", toks, "-n", "6", "--no-stop", "--speculative");
        assertEquals(0, g2.rc, g2.err);
        assertTrue(g1.out.startsWith("generated:"), g1.out);
        assertEquals(g1.out, g2.out);
    }

    @Test
    void userErrors(@TempDir Path tmp) throws Exception {
        Path hf = ForwardCommandTest.fixture(), gguf = tmp.resolve("m.gguf");
        assertEquals("jseek: --type: unknown value 'q4_k' (use f32, f16, bf16, q8_0, q6_k or q4_k_m)\n",
                run("export", "--model", hf.toString(), "--out", gguf.toString(), "--type", "q4_k").err);
        assertEquals("jseek: --model: " + tmp + " is not a model directory\n".replace(" is not", "/none is not"),
                run("export", "--model", tmp.resolve("none").toString(), "--out", gguf.toString()).err);
        Files.write(gguf, new byte[] {'G', 'G', 'U', 'F', 3, 0, 0, 0, 1});
        assertEquals("jseek: " + gguf + ": not a GGUF file: 9 bytes, fewer than the 24-byte header\n",
                run("inspect", "--model", gguf.toString()).err);
        assertEquals("jseek: " + gguf + ": not a GGUF file: 9 bytes, fewer than the 24-byte header\n",
                run("generate", "--model", gguf.toString(), "--prompt-tokens", "1").err);
    }
}
