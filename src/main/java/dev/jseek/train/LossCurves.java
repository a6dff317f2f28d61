package dev.jseek.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jseek.io.AtomicFiles;
import dev.jseek.io.FormatException;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * Loss curves of a training run, drawn from its {@code metrics.jsonl} ({@link MetricsLog}): a panel of cross-entropies
 * (train main CE per step, light, with its exponential moving average; MTP CE; validation CE at the evaluated steps),
 * a panel of the learning rate, and for MoE models a panel of MaxVio per step (mean and max over the MoE layers,
 * report §4.5.2). Rendered two ways from the same layout code: a PNG (java.awt, headless) and a self-contained HTML page
 * (inline SVG, the plotted data embedded as JSON, a table of the final values; no scripts or network).
 */
public final class LossCurves {
    static {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    public static final String PNG = "loss-curves.png", HTML = "loss-curves.html";

    /** One plotted series: {@code y} at {@code x}; NaN breaks the line. {@code points}: markers at each value. */
    public record Series(String name, Color color, double[] x, double[] y, boolean points, float width) {}

    /** One panel: a title, series sharing the x (step) axis, and y on a linear scale. */
    public record Panel(String title, List<Series> series) {}

    /** What to draw: a title, panels top to bottom (with relative heights) and summary rows (label, value). */
    public record Chart(String title, List<Panel> panels, double[] heights, Map<String, String> summary) {}

    /** The files written by {@link #write}. */
    public record Written(Path png, Path html) {}

    private LossCurves() {}

    // ---- reading metrics ----

    /** Reads {@code metrics.jsonl} (lines that fail to parse, e.g. a torn last line, are skipped). */
    public static List<JsonNode> readMetrics(Path metrics) {
        List<String> lines;
        try {
            lines = Files.readAllLines(metrics, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new FormatException(metrics + ": cannot read metrics: " + e, e);
        }
        List<JsonNode> out = new ArrayList<>();
        for (String l : lines) {
            if (l.isBlank()) continue;
            try {
                JsonNode n = JSON.readTree(l);
                if (n != null && n.has("step")) out.add(n);
            } catch (IOException e) {
                // torn line from a crash: skipped
            }
        }
        return out;
    }

    private static double num(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || !v.isNumber() ? Double.NaN : v.asDouble();
    }

    /** Mean and max of the per-layer MaxVio of one step (NaN when the step has none). */
    static double[] maxVio(JsonNode n) {
        JsonNode a = n.get("max_vio");
        if (a == null || !a.isArray() || a.isEmpty()) return new double[] {Double.NaN, Double.NaN};
        double sum = 0, max = Double.NEGATIVE_INFINITY;
        int k = 0;
        for (JsonNode v : a)
            if (v.isNumber()) {
                sum += v.asDouble();
                max = Math.max(max, v.asDouble());
                k++;
            }
        return k == 0 ? new double[] {Double.NaN, Double.NaN} : new double[] {sum / k, max};
    }

    /** The chart of a run's metrics; {@code title} names the run. Throws when there are no steps. */
    public static Chart chart(List<JsonNode> steps, String title) {
        if (steps.isEmpty()) throw new FormatException("metrics of " + title + " have no steps to plot");
        int n = steps.size();
        double[] x = new double[n], main = new double[n], mtp = new double[n], lr = new double[n], vioMean = new double[n], vioMax = new double[n];
        List<double[]> val = new ArrayList<>();
        boolean hasMtp = false, hasVio = false;
        for (int i = 0; i < n; i++) {
            JsonNode s = steps.get(i);
            x[i] = s.get("step").asDouble();
            main[i] = num(s, "main_loss");
            mtp[i] = num(s, "mtp_loss");
            hasMtp |= mtp[i] > 0;
            lr[i] = num(s, "lr");
            double[] v = maxVio(s);
            vioMean[i] = v[0];
            vioMax[i] = v[1];
            hasVio |= !Double.isNaN(v[0]);
            if (s.has("val_loss")) val.add(new double[] {x[i], num(s, "val_loss"), num(s, "val_bpb")});
        }
        List<Series> losses = new ArrayList<>();
        losses.add(new Series("train CE (per step)", new Color(0x9ecae1), x, main, false, 1f));
        losses.add(new Series("train CE (EMA)", new Color(0x08519c), x, ema(main, smoothing(n)), false, 2f));
        if (hasMtp) losses.add(new Series("MTP CE", new Color(0xfd8d3c), x, mtp, false, 1.2f));
        if (!val.isEmpty()) {
            double[] vx = new double[val.size()], vy = new double[val.size()];
            for (int i = 0; i < vx.length; i++) {
                vx[i] = val.get(i)[0];
                vy[i] = val.get(i)[1];
            }
            losses.add(new Series("validation CE", new Color(0xcb181d), vx, vy, true, 2f));
        }
        List<Panel> panels = new ArrayList<>();
        panels.add(new Panel("cross-entropy (nats/token) vs step", losses));
        panels.add(new Panel("learning rate vs step", List.of(new Series("lr", new Color(0x31a354), x, lr, false, 1.5f))));
        if (hasVio)
            panels.add(new Panel("MaxVio (batch) vs step", List.of(new Series("mean over MoE layers", new Color(0x6a51a3), x, vioMean, false, 1.5f),
                    new Series("max over MoE layers", new Color(0xbcbddc), x, vioMax, false, 1f))));
        double[] heights = hasVio ? new double[] {0.5, 0.2, 0.3} : new double[] {0.65, 0.35};

        Map<String, String> sum = new LinkedHashMap<>();
        JsonNode last = steps.getLast();
        sum.put("steps", String.format(Locale.ROOT, "%d..%d", (long) x[0], (long) x[n - 1]));
        sum.put("tokens", String.format(Locale.ROOT, "%,d", last.path("tokens").asLong()));
        sum.put("final train loss (objective)", fmt(num(last, "loss")));
        sum.put("final train CE", fmt(main[n - 1]));
        if (hasMtp) sum.put("final MTP CE", fmt(mtp[n - 1]));
        if (!val.isEmpty()) {
            double[] v = val.getLast();
            sum.put("last validation CE", fmt(v[1]) + " (step " + (long) v[0] + ")");
            if (!Double.isNaN(v[2])) sum.put("last validation bits/byte", fmt(v[2]));
        }
        if (hasVio) sum.put("final MaxVio (mean / max over layers)", fmt(vioMean[n - 1]) + " / " + fmt(vioMax[n - 1]));
        double sec = 0, tok = 0;
        for (JsonNode st : steps) {
            double t = num(st, "step_seconds"), r = num(st, "tokens_per_s");
            if (t > 0 && r > 0) {
                sec += t;
                tok += t * r;
            }
        }
        if (sec > 0) sum.put("training tokens/s", String.format(Locale.ROOT, "%,.0f", tok / sec));
        return new Chart(title, panels, heights, sum);
    }

    private static String fmt(double v) {
        if (Double.isNaN(v)) return "-";
        return String.format(Locale.ROOT, Math.abs(v) >= 1e-3 || v == 0 ? "%.4f" : "%.3e", v);
    }

    private static int smoothing(int n) { return Math.max(1, n / 40); }

    /** Exponential moving average with span {@code span} (alpha = 2 / (span + 1)), NaN-skipping, bias-corrected. */
    static double[] ema(double[] y, int span) {
        double a = 2.0 / (span + 1), m = 0, w = 0;
        double[] out = new double[y.length];
        for (int i = 0; i < y.length; i++) {
            if (!Double.isNaN(y[i])) {
                m = (1 - a) * m + a * y[i];
                w = (1 - a) * w + a;
            }
            out[i] = w == 0 ? Double.NaN : m / w;
        }
        return out;
    }

    // ---- writing ----

    /** Reads {@code metrics} and writes {@code dir/loss-curves.png} and {@code dir/loss-curves.html} (atomically). */
    public static Written write(Path metrics, Path dir, String title, int width, int height) {
        if (width < 320 || height < 240 || width > 8000 || height > 8000)
            throw new IllegalArgumentException("plot size " + width + "x" + height + " must be within 320x240 .. 8000x8000");
        Chart c = chart(readMetrics(metrics), title);
        Path png = dir.resolve(PNG), html = dir.resolve(HTML);
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            ImageIO.write(png(c, width, height), "png", bytes);
            AtomicFiles.write(png, bytes.toByteArray());
            AtomicFiles.write(html, html(c, width, height).getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new FormatException(dir + ": cannot write loss curves: " + e, e);
        }
        return new Written(png, html);
    }

    /** The chart as an RGB image of {@code width x height}. */
    public static BufferedImage png(Chart c, int width, int height) {
        BufferedImage im = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = im.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            draw(c, new AwtPen(g), width, height);
        } finally {
            g.dispose();
        }
        return im;
    }

    /** The chart as an SVG document of {@code width x height}. */
    public static String svg(Chart c, int width, int height) {
        SvgPen p = new SvgPen();
        p.sb.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                + "font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", width, height, width, height));
        draw(c, p, width, height);
        p.sb.append("</svg>\n");
        return p.sb.toString();
    }

    /** A self-contained HTML page: the SVG chart, a summary table, and the plotted series as JSON. */
    public static String html(Chart c, int width, int height) {
        StringBuilder sb = new StringBuilder();
        sb.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>").append(esc(c.title()))
                .append("</title>\n<style>body{font-family:sans-serif;margin:16px;color:#222}table{border-collapse:collapse;margin-top:12px}"
                        + "td{padding:3px 10px;border-bottom:1px solid #ddd}td:first-child{color:#555}</style>\n</head>\n<body>\n");
        sb.append(svg(c, width, height));
        sb.append("<table>\n");
        for (var e : c.summary().entrySet())
            sb.append("<tr><td>").append(esc(e.getKey())).append("</td><td>").append(esc(e.getValue())).append("</td></tr>\n");
        sb.append("</table>\n<script type=\"application/json\" id=\"series\">\n");
        ObjectNode data = JSON.createObjectNode();
        for (Panel p : c.panels()) {
            ObjectNode pn = data.putObject(p.title());
            for (Series s : p.series()) {
                ObjectNode sn = pn.putObject(s.name());
                ArrayNode xs = sn.putArray("x"), ys = sn.putArray("y");
                for (int i = 0; i < s.x().length; i++) {
                    xs.add(s.x()[i]);
                    if (Double.isFinite(s.y()[i])) ys.add(s.y()[i]);
                    else ys.addNull();
                }
            }
        }
        try {
            sb.append(JSON.writeValueAsString(data).replace("</", "<\\/"));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        sb.append("\n</script>\n</body>\n</html>\n");
        return sb.toString();
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    // ---- layout (shared by both renderers) ----

    /** Drawing primitives in pixel coordinates (y down). */
    interface Pen {
        void line(double x1, double y1, double x2, double y2, Color c, float width, boolean dashed);
        void polyline(double[] xs, double[] ys, int n, Color c, float width);
        void dot(double x, double y, double r, Color c);
        void rect(double x, double y, double w, double h, Color c);
        /** anchor: -1 left, 0 center, 1 right; y is the baseline. */
        void text(double x, double y, String s, int size, boolean bold, Color c, int anchor);
    }

    private static final Color AXIS = new Color(0x444444), GRID = new Color(0xe5e5e5), TEXT = new Color(0x222222);

    static void draw(Chart c, Pen p, int width, int height) {
        p.text(width / 2.0, 26, c.title(), 18, true, TEXT, 0);
        double top = 44, bottom = height - 4, left = 82, right = width - 20;
        double avail = bottom - top, y0 = top;
        double xmin = Double.POSITIVE_INFINITY, xmax = Double.NEGATIVE_INFINITY;
        for (Panel pn : c.panels())
            for (Series s : pn.series())
                for (double v : s.x()) {
                    xmin = Math.min(xmin, v);
                    xmax = Math.max(xmax, v);
                }
        if (xmax <= xmin) {
            xmin -= 1;
            xmax += 1;
        }
        for (int i = 0; i < c.panels().size(); i++) {
            double h = avail * c.heights()[i];
            panel(c.panels().get(i), p, left, y0 + 22, right, y0 + h - 34, xmin, xmax);
            y0 += h;
        }
        p.text((left + right) / 2, bottom - 2, "step", 12, false, TEXT, 0);
    }

    private static void panel(Panel pn, Pen p, double l, double t, double r, double b, double xmin, double xmax) {
        p.text(l, t - 8, pn.title(), 14, true, TEXT, -1);
        double ymin = Double.POSITIVE_INFINITY, ymax = Double.NEGATIVE_INFINITY;
        for (Series s : pn.series())
            for (double v : s.y())
                if (Double.isFinite(v)) {
                    ymin = Math.min(ymin, v);
                    ymax = Math.max(ymax, v);
                }
        if (ymin > ymax) {
            ymin = 0;
            ymax = 1;
        }
        if (ymax - ymin < 1e-12 * Math.max(1, Math.abs(ymax))) {
            double d = ymax == 0 ? 1 : Math.abs(ymax) * 0.1;
            ymin -= d;
            ymax += d;
        }
        double pad = (ymax - ymin) * 0.05;
        ymin -= pad;
        ymax += pad;
        double[] yt = ticks(ymin, ymax, 5), xt = ticks(xmin, xmax, 8);
        final double fymin = ymin, fymax = ymax;
        java.util.function.DoubleUnaryOperator X = v -> l + (v - xmin) / (xmax - xmin) * (r - l);
        java.util.function.DoubleUnaryOperator Y = v -> b - (v - fymin) / (fymax - fymin) * (b - t);
        for (double v : yt) {
            double y = Y.applyAsDouble(v);
            p.line(l, y, r, y, GRID, 1, false);
            p.text(l - 6, y + 4, label(v, yt), 11, false, TEXT, 1);
        }
        for (double v : xt) {
            double x = X.applyAsDouble(v);
            p.line(x, t, x, b, GRID, 1, false);
            p.text(x, b + 15, label(v, xt), 11, false, TEXT, 0);
        }
        p.line(l, b, r, b, AXIS, 1, false);
        p.line(l, t, l, b, AXIS, 1, false);
        for (Series s : pn.series()) {
            double[] xs = new double[s.x().length], ys = new double[s.x().length];
            int k = 0;
            for (int i = 0; i <= s.x().length; i++) {
                boolean ok = i < s.x().length && Double.isFinite(s.y()[i]);
                if (ok) {
                    xs[k] = X.applyAsDouble(s.x()[i]);
                    ys[k] = Y.applyAsDouble(s.y()[i]);
                    k++;
                } else {
                    if (k > 1) p.polyline(xs, ys, k, s.color(), s.width());
                    else if (k == 1 && !s.points()) p.dot(xs[0], ys[0], s.width(), s.color());
                    k = 0;
                }
            }
            if (s.points())
                for (int i = 0; i < s.x().length; i++)
                    if (Double.isFinite(s.y()[i])) p.dot(X.applyAsDouble(s.x()[i]), Y.applyAsDouble(s.y()[i]), 3.5, s.color());
        }
        // legend, top right, on a white box
        int chars = 0;
        for (Series s : pn.series()) chars = Math.max(chars, s.name().length());
        double boxW = 40 + chars * 6.5, lx = r - boxW - 4, ly = t + 16;
        p.rect(lx - 6, t + 4, boxW + 6, pn.series().size() * 15 + 6, new Color(255, 255, 255));
        p.line(lx - 6, t + 4, lx + boxW, t + 4, GRID, 1, false);
        p.line(lx - 6, t + 10 + pn.series().size() * 15, lx + boxW, t + 10 + pn.series().size() * 15, GRID, 1, false);
        for (Series s : pn.series()) {
            p.line(lx, ly - 4, lx + 22, ly - 4, s.color(), Math.max(2, s.width()), false);
            if (s.points()) p.dot(lx + 11, ly - 4, 3.5, s.color());
            p.text(lx + 28, ly, s.name(), 11, false, TEXT, -1);
            ly += 15;
        }
    }

    /** About {@code n} round tick values covering [lo, hi]. */
    static double[] ticks(double lo, double hi, int n) {
        double span = hi - lo, raw = span / n, mag = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / mag;
        double step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
        List<Double> out = new ArrayList<>();
        for (double v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.add(Math.abs(v) < step * 1e-9 ? 0 : v);
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }

    private static String label(double v, double[] ticks) {
        double step = ticks.length > 1 ? ticks[1] - ticks[0] : Math.abs(v);
        double max = 0;
        for (double t : ticks) max = Math.max(max, Math.abs(t));
        if (max >= 1e5 || (max > 0 && max < 1e-3)) return String.format(Locale.ROOT, "%.2e", v).replace("e-0", "e-").replace("e+0", "e");
        int dec = step >= 1 ? 0 : (int) Math.ceil(-Math.log10(step) - 1e-9);
        return String.format(Locale.ROOT, "%." + Math.min(dec, 6) + "f", v);
    }

    // ---- renderers ----

    private static final class AwtPen implements Pen {
        private final Graphics2D g;

        AwtPen(Graphics2D g) { this.g = g; }

        @Override public void line(double x1, double y1, double x2, double y2, Color c, float width, boolean dashed) {
            g.setColor(c);
            g.setStroke(dashed ? new BasicStroke(width, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10, new float[] {4, 4}, 0) : new BasicStroke(width));
            g.draw(new java.awt.geom.Line2D.Double(x1, y1, x2, y2));
        }

        @Override public void polyline(double[] xs, double[] ys, int n, Color c, float width) {
            Path2D.Double path = new Path2D.Double();
            path.moveTo(xs[0], ys[0]);
            for (int i = 1; i < n; i++) path.lineTo(xs[i], ys[i]);
            g.setColor(c);
            g.setStroke(new BasicStroke(width, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
            g.draw(path);
        }

        @Override public void dot(double x, double y, double r, Color c) {
            g.setColor(c);
            g.fill(new Ellipse2D.Double(x - r, y - r, 2 * r, 2 * r));
        }

        @Override public void rect(double x, double y, double w, double h, Color c) {
            g.setColor(c);
            g.fill(new java.awt.geom.Rectangle2D.Double(x, y, w, h));
        }

        @Override public void text(double x, double y, String s, int size, boolean bold, Color c, int anchor) {
            g.setFont(new Font(Font.SANS_SERIF, bold ? Font.BOLD : Font.PLAIN, size));
            FontMetrics fm = g.getFontMetrics();
            int w = fm.stringWidth(s);
            double x0 = anchor < 0 ? x : anchor == 0 ? x - w / 2.0 : x - w;
            g.setColor(c);
            g.drawString(s, (float) x0, (float) y);
        }
    }

    private static final class SvgPen implements Pen {
        final StringBuilder sb = new StringBuilder();

        private static String rgb(Color c) { return String.format("#%06x", c.getRGB() & 0xFFFFFF); }

        @Override public void line(double x1, double y1, double x2, double y2, Color c, float width, boolean dashed) {
            sb.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"%.1f\"%s/>\n",
                    x1, y1, x2, y2, rgb(c), width, dashed ? " stroke-dasharray=\"4 4\"" : ""));
        }

        @Override public void polyline(double[] xs, double[] ys, int n, Color c, float width) {
            sb.append("<polyline fill=\"none\" stroke=\"").append(rgb(c)).append(String.format(Locale.ROOT, "\" stroke-width=\"%.1f\" "
                    + "stroke-linejoin=\"round\" points=\"", width));
            for (int i = 0; i < n; i++) sb.append(String.format(Locale.ROOT, "%.1f,%.1f ", xs[i], ys[i]));
            sb.append("\"/>\n");
        }

        @Override public void dot(double x, double y, double r, Color c) {
            sb.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\"/>\n", x, y, r, rgb(c)));
        }

        @Override public void rect(double x, double y, double w, double h, Color c) {
            sb.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n", x, y, w, h, rgb(c)));
        }

        @Override public void text(double x, double y, String s, int size, boolean bold, Color c, int anchor) {
            String a = anchor < 0 ? "start" : anchor == 0 ? "middle" : "end";
            sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\"%s fill=\"%s\" text-anchor=\"%s\">%s</text>\n",
                    x, y, size, bold ? " font-weight=\"bold\"" : "", rgb(c), a, esc(s)));
        }
    }
}
