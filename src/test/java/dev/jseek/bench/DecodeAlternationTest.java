package dev.jseek.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jseek.kernels.DecodeOrder;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code bench infer --alternate}'s checks: an unknown knob or a bad value is refused with one line, before anything loads. */
class DecodeAlternationTest {
    @Test
    void refusesUnknownKnobsAndBadValuesAndLeavesTheKnobAlone() {
        String was = DecodeOrder.get("jseek.manyRows");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new DecodeAlternation(List.of(), "jseek.threads", List.of("1", "2"), 4, 1, 1, 0, System.err));
        assertTrue(e.getMessage().contains("jseek.threads") && e.getMessage().contains("jseek.seqRows"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new DecodeAlternation(List.of(), "jseek.manyRows", List.of("128", "30"), 4, 1, 1, 0, System.err));
        assertTrue(e.getMessage().contains("multiple of 4") && e.getMessage().contains("30"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new DecodeAlternation(List.of(), "jseek.seqRows", List.of("true", "yes"), 4, 1, 1, 0, System.err));
        assertTrue(e.getMessage().contains("'yes'"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> new DecodeAlternation(List.of(), "jseek.seqRows", List.of("true"), 4, 1, 1, 0, System.err));
        assertEquals(was, DecodeOrder.get("jseek.manyRows"));
    }

    /** End to end on a small F32 GGUF: warm-up rounds until the given seconds, every value timed, the knob restored. */
    @Test
    void alternatesAfterTheWarmUpAndRestoresTheKnob(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        java.nio.file.Path gguf = tmp.resolve("m.gguf");
        dev.jseek.gguf.GgufExporter.export(java.nio.file.Path.of(DecodeAlternationTest.class.getResource("/parity/yarn_qlora").toURI()), gguf, dev.jseek.gguf.QuantMix.F32, false, null);
        String was = DecodeOrder.get("jseek.contiguousTasks");
        java.io.ByteArrayOutputStream log = new java.io.ByteArrayOutputStream(), out = new java.io.ByteArrayOutputStream();
        new DecodeAlternation(List.of(gguf), "jseek.contiguousTasks", List.of("true", "false"), 3, 2, 1, 0.3,
                new java.io.PrintStream(log, true, java.nio.charset.StandardCharsets.UTF_8))
                .run(new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8));
        String o = out.toString(java.nio.charset.StandardCharsets.UTF_8), l = log.toString(java.nio.charset.StandardCharsets.UTF_8);
        java.util.regex.Matcher w = java.util.regex.Pattern.compile("warm-up: (\\d+) rounds in ([0-9.]+) s").matcher(l);
        assertTrue(w.find(), l);
        assertTrue(Integer.parseInt(w.group(1)) >= 2 && Double.parseDouble(w.group(2)) >= 0.3, l);
        assertTrue(o.matches("(?s).*\\ntrue\\s+[0-9.]+\\s+[0-9.]+\\s+[0-9.]+\\s+[0-9.]+\\s+1\\.000x\\n.*"), o);
        assertTrue(o.matches("(?s).*\\nfalse\\s+[0-9.]+\\s+[0-9.]+\\s+[0-9.]+\\s+[0-9.]+\\s+[0-9.]+x\\n.*"), o);
        assertEquals(was, DecodeOrder.get("jseek.contiguousTasks"));
    }
}
