package dev.jseek.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code generate --speculative} prints the tokens of plain {@code generate} (the oracle) plus the acceptance rate;
 * {@code bench decode} runs both decoders and reports identical outputs; the user errors are one line.
 */
class SpeculativeCliTest {
    /** rc, stdout, stderr (System.err and picocli's error writer). */
    private static String[] run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int rc;
        try {
            System.setOut(new PrintStream(out, true));
            System.setErr(new PrintStream(err, true));
            CommandLine cl = Jseek.commandLine();
            cl.setErr(new java.io.PrintWriter(err, true));
            rc = cl.execute(args);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        return new String[] {Integer.toString(rc), out.toString(), err.toString()};
    }

    @Test
    void generateSpeculativePrintsThePlainTokensAndTheAcceptance() throws Exception {
        String m = ForwardCommandTest.fixture().toString();
        String[] plain = run("generate", "--model", m, "--prompt-tokens", "3,17,42,5", "-n", "20", "--no-stop");
        assertEquals("0", plain[0], plain[2]);
        for (String flag : new String[] {"--speculative", "--draft=mtp"}) {
            String[] spec = run("generate", "--model", m, "--prompt-tokens", "3,17,42,5", "-n", "20", "--no-stop", flag);
            assertEquals("0", spec[0], spec[2]);
            assertTrue(plain[1].startsWith("generated:") && plain[1].split(" ").length == 21, plain[1]);
            assertEquals(plain[1], spec[1]);
            assertTrue(spec[2].matches("(?s).*speculative: \\d+ of \\d+ MTP drafts accepted \\([0-9.]+%\\), \\d+ main forwards.*"), spec[2]);
            assertFalse(plain[2].contains("speculative"), plain[2]);
        }
        for (String k : new String[] {"2", "3"}) {      // more drafts per step: the same tokens
            String[] spec = run("generate", "--model", m, "--prompt-tokens", "3,17,42,5", "-n", "20", "--no-stop", "--speculative", "--draft-tokens", k);
            assertEquals("0", spec[0], spec[2]);
            assertEquals(plain[1], spec[1], "--draft-tokens " + k);
        }
        for (String[] args : new String[][] {{"--speculative", "--draft-tokens", "0"}, {"--speculative", "--draft-tokens", "9"}, {"--draft-tokens", "2"}}) {
            String[] full = new String[args.length + 4];
            System.arraycopy(new String[] {"generate", "--model", m, "--prompt-tokens=3"}, 0, full, 0, 4);
            System.arraycopy(args, 0, full, 4, args.length);
            String[] r = run(full);
            assertEquals("2", r[0], r[2]);
            assertTrue(r[2].strip().lines().count() == 1 && (r[2].contains("--draft-tokens must be in 1..8, got " + args[args.length - 1])
                    || r[2].contains("--draft-tokens needs --speculative")), r[2]);
        }
        String[] bad = run("generate", "--model", m, "--prompt-tokens", "3", "--draft", "eagle");
        assertEquals("2", bad[0]);
        assertTrue(bad[2].contains("--draft: unknown draft model 'eagle' (use mtp)"), bad[2]);
    }

    /**
     * {@code generate --presence-penalty/--frequency-penalty}: the tokens of the single-sequence decoder with a sampler
     * of those penalties (the formula itself is checked in SamplerTest and CompletionsTest), other than without them,
     * the same with --speculative; out of [-2, 2] a one-line user error.
     */
    @Test
    void generateTakesPenalties() throws Exception {
        String m = ForwardCommandTest.fixture().toString();
        String[] plain = run("generate", "--model", m, "--prompt-tokens", "3,17,42,5", "-n", "20", "--no-stop");
        String[] pen = run("generate", "--model", m, "--prompt-tokens", "3,17,42,5", "-n", "20", "--no-stop",
                "--presence-penalty", "-1.5", "--frequency-penalty", "-0.5");
        assertEquals("0", pen[0], pen[2]);
        int[] want;
        try (dev.jseek.model.DeepSeekV3 model = dev.jseek.model.DeepSeekV3.open(java.nio.file.Path.of(m))) {
            want = new dev.jseek.infer.Generator(model, dev.jseek.model.AttnMode.ABSORB).generate(new int[] {3, 17, 42, 5}, 20,
                    new dev.jseek.infer.Sampler(0f, 0, 1f, 0L, -1.5f, -0.5f), new int[0], null).tokens();
        }
        StringBuilder sb = new StringBuilder("generated:");
        for (int t : want) sb.append(' ').append(t);
        assertTrue(pen[1].startsWith(sb.toString()), pen[1] + " vs " + sb);
        assertNotEquals(plain[1], pen[1]);
        String[] spec = run("generate", "--model", m, "--prompt-tokens", "3,17,42,5", "-n", "20", "--no-stop",
                "--presence-penalty", "-1.5", "--frequency-penalty", "-0.5", "--speculative");
        assertEquals(pen[1], spec[1]);
        String[] bad = run("generate", "--model", m, "--prompt-tokens", "3", "--frequency-penalty", "3");
        assertEquals("2", bad[0]);
        assertTrue(bad[2].contains("frequency penalty must be in [-2, 2], got 3.0") && bad[2].strip().lines().count() == 1, bad[2]);
    }

    @Test
    void aModelWithoutMtpIsAUserError(@TempDir Path tmp) throws Exception {
        Path src = ForwardCommandTest.fixture();
        Files.copy(src.resolve("model.safetensors"), tmp.resolve("model.safetensors"));
        String cfg = Files.readString(src.resolve("config.json"));
        assertTrue(cfg.contains("\"num_nextn_predict_layers\": 1"));
        Files.writeString(tmp.resolve("config.json"), cfg.replace("\"num_nextn_predict_layers\": 1", "\"num_nextn_predict_layers\": 0"));
        for (String[] args : new String[][] {{"generate", "--prompt-tokens", "3", "--speculative"}, {"bench", "decode", "--prompt-tokens", "3"}}) {
            String[] full = new String[args.length + 2];
            System.arraycopy(args, 0, full, 0, args.length);
            full[args.length] = "--model";
            full[args.length + 1] = tmp.toString();
            String[] r = run(full);
            assertEquals("2", r[0], r[2]);
            assertTrue(r[2].startsWith("jseek: ") && r[2].contains("has no MTP module to draft with (config num_nextn_predict_layers = 0")
                    && r[2].strip().lines().count() == 1, r[2]);
        }
    }

    @Test
    void benchDecodeComparesBothDecoders() throws Exception {
        String m = ForwardCommandTest.fixture().toString();
        String[] r = run("bench", "decode", "--model", m, "--prompt-tokens", "3,17,42,5", "--tokens", "24", "--runs", "1", "--warmup", "1",
                "--draft-tokens", "1,3");
        assertEquals("0", r[0], r[2]);
        assertTrue(r[1].matches("(?s).*\\nplain\\s+[0-9.]+\\s+[0-9.]+\\s+24\\s+23\\s+-\\s+-\\s+-\\s+1.00x\\s+1.00x\\n.*"), r[1]);
        for (String k : new String[] {"1", "3"})
            assertTrue(r[1].matches("(?s).*\\nspec k=" + k + "\\s+[0-9.]+\\s+[0-9.]+\\s+24\\s+\\d+\\s+\\d+\\s+\\d+\\s+[0-9.]+%\\s+[0-9.]+x\\s+[0-9.]+x\\n.*"), r[1]);
        assertTrue(r[1].contains("outputs identical to plain in all 1 runs (24 tokens each)"), r[1]);
        assertTrue(r[1].matches("(?s).*\\nspec k=3\\s+draft 1: \\d+/\\d+ \\([0-9.]+%\\), \\d+ drafted  draft 2: .*  draft 3: .*"), r[1]);
        String[] bad = run("bench", "decode", "--model", m, "--prompt-tokens", "3", "--tokens", "1");
        assertEquals("2", bad[0]);
        assertTrue(bad[2].contains("--tokens must be >= 2, got 1"), bad[2]);
    }
}
