package dev.jseek.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code jseek bench pipeline}: a tiny end-to-end run (table, chart files) and its flag errors. */
class BenchPipelineCommandTest {
    @TempDir Path tmp;

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
    void tinyRunPrintsTheTablesAndWritesTheChart() throws Exception {
        String[] r = run("bench", "pipeline", "--preset", "tiny", "--seq-len", "8", "--pp", "2", "--micro-batches", "4", "--reps", "1", "--out", tmp.toString());
        assertEquals("0", r[0], r[2] + r[1]);
        // 1F1B's simulated bubble is the report's (PP-1)(F+B) for any measured costs
        Matcher m = Pattern.compile("1f1b\\s+4\\s+8\\s+([0-9.]+)\\s+([0-9.]+)").matcher(r[1]);
        assertTrue(m.find(), r[1]);
        assertEquals(m.group(2), m.group(1), r[1]);
        for (String s : new String[]{"1f1b", "zb1p", "dualpipe", "dualpipev"})
            assertTrue(Pattern.compile("(?m)^" + s + "\\s+\\d+(\\s+[0-9.]+){3}\\s+[0-9.]+% /\\s*[0-9.]+%\\s+[0-9.]+%\\s+[0-9.]+%").matcher(r[1]).find(),
                    s + " measured row:\n" + r[1]);
        // the per-rank memory table, measured from the ranks' arenas: one row per rank of every schedule (2 + 2 + 2 + 1);
        // parameter and gradient arenas of the same size, DualPipe's ranks holding 2 stages (more than the 1F1B rank's 1),
        // and every schedule's owners' AdamW moments (FP32: 8 bytes a float) adding up to the whole model's
        Matcher mem = Pattern.compile("(?m)^(1f1b|zb1p|dualpipe|dualpipev)\\s+(\\d) \\[([0-9,]+)\\]\\s+([0-9,]+)\\s+[0-9.]+\\s+([0-9,]+)\\s+([0-9,]+)\\s+([0-9,]+)\\s+[0-9.]+\\s+(\\d+) / (\\d+)").matcher(r[1]);
        Matcher wholeM = Pattern.compile("whole model: ([0-9,]+) parameter bytes").matcher(r[1]);
        assertTrue(wholeM.find(), r[1]);
        long model = Long.parseLong(wholeM.group(1).replace(",", ""));
        int rows = 0;
        java.util.Map<String, Long> optimizer = new java.util.TreeMap<>();
        java.util.Map<Integer, Long> oneStage = new java.util.HashMap<>();
        while (mem.find()) {
            rows++;
            long params = Long.parseLong(mem.group(4).replace(",", "")), grads = Long.parseLong(mem.group(5).replace(",", ""));
            long opt = Long.parseLong(mem.group(6).replace(",", "")), acts = Long.parseLong(mem.group(7).replace(",", ""));
            optimizer.merge(mem.group(1), opt, Long::sum);
            assertEquals(params, grads, "gradient arena = parameter arena: " + mem.group());
            assertTrue(params <= model && acts > 0, mem.group());
            int rank = Integer.parseInt(mem.group(2));
            if (mem.group(1).equals("1f1b")) {
                assertEquals(mem.group(8), mem.group(9), "1F1B: simulated and measured activation peaks: " + mem.group());
                oneStage.put(rank, params);
            }
            if (mem.group(1).equals("dualpipe")) {
                assertEquals(2, mem.group(3).split(",").length, mem.group());
                assertTrue(params > oneStage.get(rank), "a DualPipe rank holds more than the 1F1B rank's one stage: " + mem.group());
            }
        }
        for (var e : optimizer.entrySet()) assertEquals(2 * model, (long) e.getValue(), e.getKey() + ": the owners' moments cover the model once\n" + r[1]);
        assertEquals(4, optimizer.size(), r[1]);
        assertEquals(7, rows, r[1]);
        // the F&B overlap with expert parallel on 4 ranks: every rank ran F&B pairs with expert all-to-alls, and the
        // overlapped steps' times are consistent whatever the load (0 <= exposed <= comm, hidden = comm - exposed)
        String fb = r[1].substring(r[1].indexOf("F&B overlap (report Figure 4)"));
        Matcher row = Pattern.compile("(?m)^ +(\\d) +(\\d+) +([0-9.]+) +([0-9.]+) +([0-9.]+) +(-?[0-9.]+) +(-?[0-9.]+)% +[0-9.]+ +[0-9.]+$").matcher(fb);
        int ranks = 0;
        while (row.find()) {
            ranks++;
            double comm = Double.parseDouble(row.group(4)), exposed = Double.parseDouble(row.group(5)), hidden = Double.parseDouble(row.group(6));
            double share = Double.parseDouble(row.group(7));
            assertTrue(Integer.parseInt(row.group(2)) > 0 && comm > 0, "F&B pairs with all-to-all time: " + row.group());
            assertTrue(exposed <= comm && hidden >= 0 && Math.abs(comm - exposed - hidden) <= 0.011, "0 <= exposed <= comm, hidden = comm - exposed: " + row.group());
            assertTrue(share >= 0 && share <= 100, "hidden/comm in [0, 100]%: " + row.group());
        }
        assertEquals(4, ranks, fb);
        Matcher all = Pattern.compile("all ranks: ([0-9.]+)% of the F&B pairs' expert all-to-all time hidden .* = \\(([0-9.]+) - ([0-9.]+)\\) / ([0-9.]+) ms").matcher(fb);
        assertTrue(all.find(), fb);
        assertTrue(Double.parseDouble(all.group(1)) <= 100 && Double.parseDouble(all.group(3)) <= Double.parseDouble(all.group(2)), all.group());
        var img = ImageIO.read(tmp.resolve("pipeline.png").toFile());
        assertTrue(img.getWidth() > 1000 && img.getHeight() > 100);
        String html = Files.readString(tmp.resolve("pipeline.html"));
        assertEquals(8, html.split("<svg ", -1).length - 1, "two timelines per schedule (replayed, free-running)");
    }

    @Test
    void badFlagsSayWhich() {
        String[] r = run("bench", "pipeline", "--pp", "3", "--out", tmp.toString());
        assertTrue(r[2].contains("--pp must be even"), r[2]);
        r = run("bench", "pipeline", "--pp", "4", "--micro-batches", "6", "--out", tmp.toString());
        assertTrue(r[2].contains("--micro-batches must be even and >= 2 pp = 8"), r[2]);
        r = run("bench", "pipeline", "--preset", "nope", "--out", tmp.toString());
        assertTrue(r[2].contains("unknown preset 'nope'"), r[2]);
    }
}
