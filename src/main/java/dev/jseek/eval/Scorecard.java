package dev.jseek.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jseek.io.AtomicFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The one table {@code jseek eval} produces: a row per metric (its value, the examples it counted, and how it was
 * measured; a metric that was not run says why in the detail and has no value), plus the passkey grid when it ran.
 * Printed as aligned text, written as {@code scorecard.json} and {@code scorecard.md} (atomically).
 */
public final class Scorecard {
    /** One metric. {@code value} is NaN when the metric was skipped. */
    public record Row(String metric, double value, String unit, long count, String detail) {
        String formatted() {
            if (Double.isNaN(value)) return "skipped";
            return unit.equals("%") ? String.format(Locale.ROOT, "%.1f%%", 100 * value) : String.format(Locale.ROOT, "%.4f", value);
        }
    }

    private final String model;
    private final List<Row> rows = new ArrayList<>();
    private Passkey.Grid passkey;

    public Scorecard(String model) { this.model = model; }

    public Scorecard add(Row r) {
        rows.add(r);
        return this;
    }

    public Scorecard skipped(String metric, String why) { return add(new Row(metric, Double.NaN, "", 0, why)); }

    public void passkey(Passkey.Grid g) { passkey = g; }

    public List<Row> rows() { return List.copyOf(rows); }

    public Passkey.Grid passkey() { return passkey; }

    public String text() {
        int w = "metric".length();
        for (Row r : rows) w = Math.max(w, r.metric().length());
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-" + w + "s  %10s  %7s  %s%n", "metric", "value", "n", "how"));
        for (Row r : rows)
            sb.append(String.format(Locale.ROOT, "%-" + w + "s  %10s  %7s  %s%n", r.metric(), r.formatted(), r.count() > 0 ? r.count() : "", r.detail()));
        return sb.toString();
    }

    public String markdown() {
        StringBuilder sb = new StringBuilder("# jseek eval: " + model + "\n\n| metric | value | n | how |\n|---|---|---|---|\n");
        for (Row r : rows)
            sb.append("| ").append(r.metric()).append(" | ").append(r.formatted()).append(" | ").append(r.count() > 0 ? r.count() : "")
                    .append(" | ").append(r.detail().replace("|", "\\|")).append(" |\n");
        if (passkey != null)
            sb.append("\nPasskey retrieval accuracy (").append(passkey.trials()).append(" trials per cell):\n\n").append(Heatmap.markdown(passkey));
        return sb.toString();
    }

    public ObjectNode json() {
        ObjectMapper m = new ObjectMapper();
        ObjectNode o = m.createObjectNode();
        o.put("model", model);
        ArrayNode a = o.putArray("rows");
        for (Row r : rows) {
            ObjectNode x = a.addObject().put("metric", r.metric());
            if (Double.isNaN(r.value())) x.putNull("value"); else x.put("value", r.value());
            x.put("unit", r.unit()).put("count", r.count()).put("detail", r.detail());
        }
        if (passkey != null) {
            ObjectNode p = o.putObject("passkey");
            p.put("trials", passkey.trials());
            ArrayNode ls = p.putArray("lengths"), ds = p.putArray("depths"), acc = p.putArray("accuracy");
            passkey.lengths().forEach(ls::add);
            passkey.depths().forEach(ds::add);
            for (double[] row : passkey.accuracy()) {
                ArrayNode r = acc.addArray();
                for (double v : row) if (Double.isNaN(v)) r.addNull(); else r.add(v);
            }
        }
        return o;
    }

    /** Writes scorecard.json and scorecard.md into {@code dir} (and passkey.png when the grid ran); returns the files. */
    public List<Path> write(Path dir) {
        try {
            java.nio.file.Files.createDirectories(dir);
            List<Path> files = new ArrayList<>();
            Path j = dir.resolve("scorecard.json"), md = dir.resolve("scorecard.md");
            AtomicFiles.write(j, new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(json()));
            AtomicFiles.write(md, markdown().getBytes(StandardCharsets.UTF_8));
            files.add(j);
            files.add(md);
            if (passkey != null) {
                Path png = dir.resolve("passkey.png");
                Heatmap.write(passkey, png);
                files.add(png);
            }
            return files;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(dir + ": cannot write the scorecard: " + e.getMessage(), e);
        }
    }
}
