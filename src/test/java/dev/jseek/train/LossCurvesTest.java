package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loss curves from metrics.jsonl: PNG decodes at the requested size with the series drawn; HTML is self-contained. */
class LossCurvesTest {
    @TempDir Path tmp;

    static Path metrics(Path dir, int steps) {
        Path f = dir.resolve("metrics.jsonl");
        try (MetricsLog log = MetricsLog.open(f, 0)) {
            for (int s = 1; s <= steps; s++) {
                double main = 5.0 * Math.exp(-s / 20.0) + 1;
                StepMetrics m = new StepMetrics(s, 256L * s, 8, new StepLosses(main + 0.3 * (main + 0.1), main, main + 0.1, 1e-4), 0.5,
                        1e-3 * Math.min(1, s / 10.0), 0.001, 0.3, 0.1, 2560, false, List.of(1, 2),
                        new long[][] {{10, 20, 30, 40}, {25, 25, 25, 25}}, new double[] {0.6, 0.0});
                if (s % 10 == 0) m = m.withValidation(new Validation.Result(main + 0.05, (main + 0.05) / Math.log(2), 512));
                log.write(m);
            }
        }
        try {
            Files.writeString(f, "{\"step\": 99, \"loss\": 1.", StandardOpenOption.APPEND); // a torn line from a crash
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
        return f;
    }

    @Test
    void writesPngOfRequestedSizeAndSelfContainedHtml() throws Exception {
        Path f = metrics(tmp, 40);
        LossCurves.Written w = LossCurves.write(f, tmp, "test run", 900, 700);
        BufferedImage im = ImageIO.read(w.png().toFile());
        assertNotNull(im, "PNG decodes");
        assertEquals(900, im.getWidth());
        assertEquals(700, im.getHeight());
        // the validation series colour (0xcb181d) and the lr colour (0x31a354) are drawn somewhere
        boolean red = false, green = false;
        for (int y = 0; y < im.getHeight(); y++)
            for (int x = 0; x < im.getWidth(); x++) {
                int rgb = im.getRGB(x, y) & 0xFFFFFF;
                red |= rgb == 0xcb181d;
                green |= rgb == 0x31a354;
            }
        assertTrue(red && green, "series drawn: val " + red + ", lr " + green);

        String html = Files.readString(w.html(), StandardCharsets.UTF_8);
        assertTrue(html.startsWith("<!DOCTYPE html>") && html.contains("<svg") && html.contains("</html>"));
        assertFalse(html.contains("src=") || html.contains("href=") || html.contains("@import"), "no external resources");
        assertEquals(1, html.split("http", -1).length - 1, "only the SVG namespace URI mentions http");
        assertTrue(html.contains("validation CE") && html.contains("MaxVio") && html.contains("learning rate"));
        // the embedded data: validation points at steps 10..40 with the logged values
        String json = html.substring(html.indexOf("id=\"series\">") + 12, html.indexOf("</script>"));
        JsonNode d = new ObjectMapper().readTree(json);
        JsonNode val = d.get("cross-entropy (nats/token) vs step").get("validation CE");
        assertEquals(List.of(10.0, 20.0, 30.0, 40.0), List.of(val.get("x").get(0).asDouble(), val.get("x").get(1).asDouble(),
                val.get("x").get(2).asDouble(), val.get("x").get(3).asDouble()));
        assertEquals(5.0 * Math.exp(-1) + 1.05, val.get("y").get(1).asDouble(), 1e-12);
        JsonNode vio = d.get("MaxVio (batch) vs step").get("mean over MoE layers");
        assertEquals(0.3, vio.get("y").get(0).asDouble(), 1e-12, "mean of the per-layer MaxVio");
        assertTrue(html.contains("last validation CE") && html.contains("(step 40)"));
    }

    @Test
    void denseRunWithoutValidationHasTwoPanels() {
        Path f = tmp.resolve("metrics.jsonl");
        try (MetricsLog log = MetricsLog.open(f, 0)) {
            for (int s = 1; s <= 3; s++)
                log.write(new StepMetrics(s, s * 10L, 1, StepLosses.of(3 - s * 0.5), 1, 1e-3, 0, 0, 0.1, 100, false, List.of(), new long[0][], new double[0]));
        }
        LossCurves.Chart c = LossCurves.chart(LossCurves.readMetrics(f), "dense");
        assertEquals(2, c.panels().size());
        assertEquals(List.of("train CE (per step)", "train CE (EMA)"), c.panels().get(0).series().stream().map(LossCurves.Series::name).toList());
        assertEquals("100", c.summary().get("training tokens/s"));
        assertThrows(dev.jseek.io.FormatException.class, () -> LossCurves.chart(List.of(), "empty"));
    }

    @Test
    void ticksAreRoundAndCoverTheRange() {
        assertArrayEquals(new double[] {0, 0.5, 1, 1.5, 2, 2.5}, LossCurves.ticks(-0.1, 2.6, 5), 1e-12);
        double[] t = LossCurves.ticks(1, 1000, 8);
        assertEquals(100, t[1] - t[0], 1e-9); // 999 / 8 = 125 -> the round step 100
        assertArrayEquals(new double[] {2e-4, 4e-4, 6e-4}, LossCurves.ticks(1.5e-4, 7e-4, 3), 1e-15);
    }

    @Test
    void emaIsBiasCorrectedAndSkipsNaN() {
        double[] y = {2, 2, Double.NaN, 2};
        assertArrayEquals(new double[] {2, 2, 2, 2}, LossCurves.ema(y, 5), 1e-12);
        double[] z = LossCurves.ema(new double[] {Double.NaN, 1, 3}, 1); // span 1: alpha 1, no smoothing
        assertTrue(Double.isNaN(z[0]));
        assertEquals(3, z[2], 1e-12);
    }
}
