package dev.jseek.bench;

import dev.jseek.io.AtomicFiles;
import dev.jseek.pipeline.Op;
import dev.jseek.pipeline.PipelineRunner;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * Measured pipeline timelines drawn per schedule, one row per rank, one box per compute op (F blue, B green, W
 * orange, F&amp;B purple, labelled with the micro-batch), as a PNG (java.awt, headless) and as an HTML page with
 * the same boxes in SVG.
 */
public final class TimelineChart {
    private TimelineChart() {}

    /** One schedule's measured timeline: its ops on every rank and the bubble fraction. */
    public record Panel(String title, int ranks, List<PipelineRunner.Timed> ops, double bubbleFraction) {}

    private static final int W = 1400, ROW = 22, HEAD = 22, GAP = 14, LEFT = 60;

    static Color color(Op.Kind k) {
        return switch (k) {
            case F -> new Color(0x4C78A8);
            case B -> new Color(0x54A24B);
            case W -> new Color(0xF58518);
            case FB -> new Color(0x8E6BB8);
            default -> Color.GRAY;
        };
    }

    static String label(Op op) { return op.kind() == Op.Kind.FB ? op.mb() + "&" + op.mb2() : Integer.toString(op.mb()); }

    private static long span(Panel p) {
        long end = 1;
        for (PipelineRunner.Timed t : p.ops()) end = Math.max(end, t.endNs());
        return end;
    }

    public static void writePng(Path file, List<Panel> panels) throws IOException {
        int h = 10;
        for (Panel p : panels) h += HEAD + p.ranks() * ROW + GAP;
        BufferedImage img = new BufferedImage(W, h + 20, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, img.getWidth(), img.getHeight());
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        int y = 10;
        for (Panel p : panels) {
            long total = span(p);
            g.setColor(Color.BLACK);
            g.drawString(String.format(Locale.ROOT, "%s   (%.1f ms, bubble %.1f%%)", p.title(), total / 1e6, 100 * p.bubbleFraction()), LEFT, y + 15);
            y += HEAD;
            for (int r = 0; r < p.ranks(); r++) {
                g.setColor(Color.BLACK);
                g.drawString("rank " + r, 8, y + r * ROW + 15);
                g.setColor(new Color(0xEEEEEE));
                g.fillRect(LEFT, y + r * ROW + 2, W - LEFT - 10, ROW - 4);
            }
            double scale = (W - LEFT - 10) / (double) total;
            for (PipelineRunner.Timed t : p.ops()) {
                int x0 = LEFT + (int) (t.startNs() * scale), x1 = LEFT + (int) Math.max(t.startNs() * scale + 1, t.endNs() * scale);
                int yy = y + t.rank() * ROW + 2;
                g.setColor(color(t.op().kind()));
                g.fillRect(x0, yy, x1 - x0, ROW - 4);
                g.setColor(Color.WHITE);
                g.drawRect(x0, yy, x1 - x0, ROW - 4);
                String l = label(t.op());
                if (x1 - x0 > 7 * l.length()) g.drawString(l, x0 + 2, yy + 13);
            }
            y += p.ranks() * ROW + GAP;
        }
        g.setColor(Color.BLACK);
        int lx = LEFT;
        for (Op.Kind k : new Op.Kind[]{Op.Kind.F, Op.Kind.B, Op.Kind.W, Op.Kind.FB}) {
            g.setColor(color(k));
            g.fillRect(lx, y + 2, 14, 12);
            g.setColor(Color.BLACK);
            g.drawString(k == Op.Kind.B ? "B (input grad)" : k == Op.Kind.W ? "W (weight grad)" : k == Op.Kind.FB ? "F&B pair" : "F", lx + 18, y + 13);
            lx += 130;
        }
        g.dispose();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ImageIO.write(img, "png", bytes);
        AtomicFiles.write(file, bytes.toByteArray());
    }

    public static void writeHtml(Path file, List<Panel> panels, String intro) throws IOException {
        StringBuilder sb = new StringBuilder("<!doctype html><html><head><meta charset=\"utf-8\"><title>jseek bench pipeline</title></head>"
                + "<body style=\"font-family:sans-serif\"><h1>jseek bench pipeline: measured timelines</h1><pre>")
                .append(intro.replace("&", "&amp;").replace("<", "&lt;")).append("</pre>");
        for (Panel p : panels) {
            long total = span(p);
            int h = p.ranks() * ROW;
            sb.append(String.format(Locale.ROOT, "<h3>%s: %.1f ms, bubble %.1f%%</h3><svg width=\"%d\" height=\"%d\">",
                    p.title(), total / 1e6, 100 * p.bubbleFraction(), W, h));
            double scale = (W - LEFT - 10) / (double) total;
            for (int r = 0; r < p.ranks(); r++)
                sb.append(String.format(Locale.ROOT, "<text x=\"4\" y=\"%d\" font-size=\"11\">rank %d</text><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#eee\"/>",
                        r * ROW + 15, r, LEFT, r * ROW + 2, W - LEFT - 10, ROW - 4));
            for (PipelineRunner.Timed t : p.ops()) {
                Color c = color(t.op().kind());
                double x0 = LEFT + t.startNs() * scale, w = Math.max(1, (t.endNs() - t.startNs()) * scale);
                sb.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#%06x\" stroke=\"white\"><title>%s %.2f-%.2f ms</title></rect>",
                        x0, t.rank() * ROW + 2, w, ROW - 4, c.getRGB() & 0xFFFFFF, t.op(), t.startNs() / 1e6, t.endNs() / 1e6));
            }
            sb.append("</svg>");
        }
        sb.append("<p>F blue, B (input gradient) green, W (weight gradient) orange, F&amp;B pair purple; hover a box for its op and times.</p></body></html>\n");
        AtomicFiles.write(file, sb.toString().getBytes(StandardCharsets.UTF_8));
    }
}
