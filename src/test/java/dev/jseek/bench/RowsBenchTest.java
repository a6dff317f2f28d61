package dev.jseek.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jseek.kernels.DecodeOrder;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.source.ModelSource;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** {@code bench rows --alternate}: every value timed for every M in one process, the first value's ratios 1, the knob restored; bad requests refused. */
class RowsBenchTest {
    private static Path model() throws Exception { return Path.of(RowsBenchTest.class.getResource("/parity/yarn_qlora").toURI()); }

    @Test
    void alternatesAKnobForEveryRowCountAndRestoresIt() throws Exception {
        String was = DecodeOrder.get("jseek.contiguousBatch");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (DeepSeekV3 m = ModelSource.open(model())) {
            new RowsBench(m, "yarn_qlora", new int[] {1, 3}, 4, 3, true, true, false, 1, "jseek.contiguousBatch", List.of("false", "true"))
                    .run(new PrintStream(out, true, StandardCharsets.UTF_8));
        }
        String o = out.toString(StandardCharsets.UTF_8);
        for (String mode : new String[] {"verify", "batch"})
            assertTrue(o.contains(mode + ", jseek.contiguousBatch alternating in one process"), o);
        for (String v : new String[] {"false", "true"})
            for (int rows : new int[] {1, 3}) {
                Matcher line = Pattern.compile("(?m)^" + v + "\\s+" + rows + "\\s+([0-9.]+)\\s+([0-9.]+)\\s+([0-9.]+)\\s+([0-9.]+)x$").matcher(o);
                int found = 0;
                while (line.find()) {
                    found++;
                    double median = Double.parseDouble(line.group(1)), lo = Double.parseDouble(line.group(2)), hi = Double.parseDouble(line.group(3));
                    assertTrue(lo <= median && median <= hi && lo > 0, line.group());
                    if (v.equals("false")) assertEquals("1.000", line.group(4), line.group());    // the first value against itself
                }
                assertEquals(2, found, v + " M=" + rows + " once per mode:\n" + o);
            }
        assertEquals(was, DecodeOrder.get("jseek.contiguousBatch"));
    }

    @Test
    void refusesUnknownKnobsBadValuesAndTheProfile() throws Exception {
        try (DeepSeekV3 m = ModelSource.open(model())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new RowsBench(m, "x", new int[] {1, 2}, 4, 1, true, true, false, 1, "jseek.rolledLoops", List.of("true", "false")));
            assertTrue(e.getMessage().contains("jseek.rolledLoops") && e.getMessage().contains("jseek.contiguousBatch"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> new RowsBench(m, "x", new int[] {1, 2}, 4, 1, true, true, false, 1, "jseek.contiguousBatch", List.of("true", "maybe")));
            assertTrue(e.getMessage().contains("'maybe'"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> new RowsBench(m, "x", new int[] {1, 2}, 4, 1, true, true, true, 1, "jseek.contiguousBatch", List.of("true", "false")));
            assertTrue(e.getMessage().contains("--profile"), e.getMessage());
        }
    }
}
