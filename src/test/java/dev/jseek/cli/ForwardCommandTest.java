package dev.jseek.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.io.Npy;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code jseek forward} against the PyTorch parity fixture, and its user errors. */
class ForwardCommandTest {
    static Path fixture() throws URISyntaxException {
        return Path.of(ForwardCommandTest.class.getResource("/parity/yarn_qlora").toURI());
    }

    record Run(int rc, String err) {}

    static Run run(String... args) {
        CommandLine cl = Jseek.commandLine();
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err));
        int rc = cl.execute(args);
        return new Run(rc, err.toString());
    }

    @Test
    void writesLogitsAndMtpLogitsOfEveryPosition(@TempDir Path tmp) throws Exception {
        Path d = fixture();
        int[] toks = {48, 105, 23, 15, 89};       // the first tokens of the fixture's case.json
        float[] want = Npy.readFloats(d.resolve("logits.npy"));
        float[] wantMtp = Npy.readFloats(d.resolve("mtp_logits.npy"));
        Path out = tmp.resolve("logits.npy");
        for (String attn : new String[] {"naive", "absorb"}) {
            Run r = run("forward", "--model", d.toString(), "--tokens", "48, 105,23,15,89", "--attn", attn, "--mtp", "--out", out.toString());
            assertEquals(0, r.rc, r.err);
            float[] got = Npy.readFloats(out, toks.length, 128);
            for (int i = 0; i < got.length; i++) assertEquals(want[i], got[i], 1e-4, attn + " logit " + i);
            // MTP slots 0..3 see only tokens 0..4, so they equal the fixture's first 4 rows (causal).
            float[] gotMtp = Npy.readFloats(tmp.resolve("logits.mtp.npy"), toks.length - 1, 128);
            for (int i = 0; i < gotMtp.length; i++) assertEquals(wantMtp[i], gotMtp[i], 1e-4, attn + " MTP logit " + i);
        }
        try (var s = Files.list(tmp)) { assertEquals(2, s.count(), "only the two outputs, no temp files"); }
    }

    @Test
    void userErrorsAreOneClearLine(@TempDir Path tmp) throws Exception {
        String m = fixture().toString(), out = tmp.resolve("x.npy").toString();
        expect(run("forward", "--model", m, "--tokens", "1,128", "--out", out), "token 1 is 128, outside the vocabulary 0..127");
        expect(run("forward", "--model", m, "--tokens", "1,-3", "--out", out), "token 1 is -3");
        expect(run("forward", "--model", m, "--tokens", "1,,2", "--out", out), "item 1 '' is not an integer");
        expect(run("forward", "--model", tmp.resolve("none").toString(), "--tokens", "1", "--out", out), "none does not exist");
        expect(run("forward", "--model", m, "--tokens", "1", "--attn", "flash", "--out", out), "--attn: unknown value 'flash'");
        expect(run("forward", "--model", m, "--tokens", "1", "--mtp", "--out", out), "--mtp needs at least 2 tokens");
        Path bad = Files.createDirectory(tmp.resolve("bad"));
        Files.writeString(bad.resolve("config.json"), Files.readString(fixture().resolve("config.json")).replace("\"n_group\": 4", "\"n_group\": 3"));
        expect(run("forward", "--model", bad.toString(), "--tokens", "1", "--out", out), "field 'n_group': 3 does not divide n_routed_experts 16");
        assertFalse(Files.exists(Path.of(out)));
    }

    static void expect(Run r, String part) {
        assertEquals(2, r.rc, r.err);
        assertTrue(r.err.startsWith("jseek: ") && r.err.contains(part) && r.err.strip().lines().count() == 1, r.err);
    }
}
