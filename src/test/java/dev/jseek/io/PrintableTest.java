package dev.jseek.io;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.cli.Jseek;
import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Messages that hide or inject (issue 10 §10): {@link Printable#escape} against hand-written expectations; a CLI
 * error echoing a terminal escape sequence from a file prints it escaped; the launcher's stderr filter passes lines
 * holding NUL bytes, escapes and invalid UTF-8 byte for byte (before, grep called such input binary and printed only
 * "binary file matches") and drops only the JVM's incubator warning.
 */
class PrintableTest {
    @TempDir Path tmp;

    @Test void controlBytesBidiAndLoneSurrogatesAreEscaped() {
        assertEquals("plain: café, 日本, 😀, tab\there", Printable.escape("plain: café, 日本, 😀, tab\there"));
        assertEquals("\\x1b[31mred\\x1b[0m", Printable.escape("\u001b[31mred\u001b[0m"));
        assertEquals("a\\x00b\\x0ac\\x0dd\\x7fe\\x9bf", Printable.escape("a\u0000b\nc\rd\u007fe\u009bf"));
        assertEquals("x\\u202ey\\u2066z", Printable.escape("x\u202ey\u2066z"));
        assertEquals("lone \\ud800 and \\udc00", Printable.escape("lone \ud800 and \udc00"));
        assertEquals("back\\slash", Printable.escape("back\\slash"));
        assertEquals("null", Printable.escape(null));
    }

    @Test void cliErrorsEchoNoRawEscapes() throws Exception {
        Path cfg = tmp.resolve("config.json");
        String json = Files.readString(Path.of(PrintableTest.class.getResource("/parity/no_qlora/config.json").toURI()))
                .replaceFirst("\"scoring_func\": \"sigmoid\"", "\"scoring_func\": \"\\\\u001b]0;pwned\\\\u0007\\\\u001b[31msoftmax\"");
        assertTrue(json.contains("pwned"), "fixture edit");
        Files.writeString(cfg, json);
        StringWriter err = new StringWriter();
        var cl = Jseek.commandLine();
        cl.setErr(new PrintWriter(err));
        cl.setOut(new PrintWriter(new StringWriter()));
        assertEquals(2, cl.execute("inspect", "--config", cfg.toString()));
        String e = err.toString();
        assertTrue(e.contains("\\x1b]0;pwned\\x07\\x1b[31msoftmax"), e);
        assertTrue(e.chars().noneMatch(c -> c < 0x20 && c != '\n'), e);
        assertEquals(1, e.strip().lines().count(), e);
    }

    @Test void theLauncherFilterKeepsEveryLine() throws Exception {
        Path root = Path.of("").toAbsolutePath();
        String launcher = Files.readString(root.resolve("jseek"));
        assertTrue(launcher.contains(". \"$root/tools/stderr-filter.sh\"") && launcher.contains("2> >(jseek_stderr_filter)"), launcher);
        ByteArrayOutputStream in = new ByteArrayOutputStream();
        byte[][] lines = {"jseek: bad \u0000 byte in name".getBytes(StandardCharsets.UTF_8),
                "WARNING: Using incubator modules: jdk.incubator.vector".getBytes(StandardCharsets.UTF_8),
                {'x', (byte) 0xff, (byte) 0xfe, 'y'}, "\u001b[31mcoloured".getBytes(StandardCharsets.UTF_8),
                "x".repeat(100_000).getBytes(StandardCharsets.UTF_8), "last".getBytes(StandardCharsets.UTF_8)};
        ByteArrayOutputStream want = new ByteArrayOutputStream();
        for (int i = 0; i < lines.length; i++) {
            in.write(lines[i]);
            in.write('\n');
            if (i != 1) {
                want.write(lines[i]);
                want.write('\n');
            }
        }
        Process p = new ProcessBuilder("bash", "-c", ". tools/stderr-filter.sh; jseek_stderr_filter").directory(root.toFile())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        Thread feed = Thread.ofVirtual().start(() -> {
            try (var os = p.getOutputStream()) {
                os.write(in.toByteArray());
            } catch (Exception ignored) {
                // the test fails below
            }
        });
        byte[] got = p.getErrorStream().readAllBytes();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        feed.join();
        assertArrayEquals(want.toByteArray(), got, new String(got, StandardCharsets.ISO_8859_1).substring(0, Math.min(200, got.length)));
    }
}
