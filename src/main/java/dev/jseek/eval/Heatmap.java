package dev.jseek.eval;

import dev.jseek.io.AtomicFiles;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * The passkey accuracy grid as a PNG heatmap: one column per context length, one row per needle depth (0 at the
 * top), each cell coloured from red (0%) through yellow to green (100%), grey where the length does not fit the
 * model, with the percentage written in the cell and the lengths / depths along the axes. Drawn pixel by pixel
 * (a built-in 3x5 digit font scaled up), so it needs no fonts and runs headless.
 */
public final class Heatmap {
    private Heatmap() {}

    private static final int CELL_W = 72, CELL_H = 40, LEFT = 64, TOP = 16, BOTTOM = 40, SCALE = 3;

    /** 3x5 glyphs, rows top to bottom, 3 bits each (MSB = left). */
    private static final String CHARS = "0123456789.%-k";
    private static final int[][] GLYPHS = {
            {7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7}, {5, 5, 7, 1, 1},
            {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1}, {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7},
            {0, 0, 0, 0, 2}, {5, 1, 2, 4, 5}, {0, 0, 7, 0, 0}, {4, 5, 6, 5, 5}};

    /** RGB of an accuracy in [0, 1]: red -> yellow -> green; NaN: grey. */
    static int color(double a) {
        if (Double.isNaN(a)) return 0xB0B0B0;
        double x = Math.max(0, Math.min(1, a));
        int r = x < 0.5 ? 220 : (int) Math.round(220 * (1 - x) * 2);
        int g = x < 0.5 ? (int) Math.round(200 * x * 2) : 200;
        return r << 16 | g << 8 | 60;
    }

    /** The image of a grid. */
    public static BufferedImage draw(Passkey.Grid g) {
        int nl = g.lengths().size(), nd = g.depths().size();
        int w = LEFT + nl * CELL_W + 8, h = TOP + nd * CELL_H + BOTTOM;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        fill(img, 0, 0, w, h, 0xFFFFFF);
        for (int li = 0; li < nl; li++)
            for (int di = 0; di < nd; di++) {
                int x = LEFT + li * CELL_W, y = TOP + di * CELL_H;
                double a = g.accuracy()[li][di];
                fill(img, x + 1, y + 1, CELL_W - 2, CELL_H - 2, color(a));
                String s = Double.isNaN(a) ? "-" : Math.round(100 * a) + "%";
                text(img, s, x + (CELL_W - width(s)) / 2, y + (CELL_H - 5 * SCALE) / 2, 0x000000);
            }
        for (int li = 0; li < nl; li++) {
            String s = lengthLabel(g.lengths().get(li));
            text(img, s, LEFT + li * CELL_W + (CELL_W - width(s)) / 2, TOP + nd * CELL_H + 12, 0x000000);
        }
        for (int di = 0; di < nd; di++) {
            String s = Math.round(100 * g.depths().get(di)) + "%";
            text(img, s, LEFT - 8 - width(s), TOP + di * CELL_H + (CELL_H - 5 * SCALE) / 2, 0x000000);
        }
        return img;
    }

    static String lengthLabel(int n) { return n % 1024 == 0 ? n / 1024 + "k" : Integer.toString(n); }

    /** Writes the PNG atomically. */
    public static void write(Passkey.Grid g, Path png) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(draw(g), "png", bytes)) throw new IOException("no PNG writer");
        } catch (IOException e) {
            throw new UncheckedIOException(png + ": " + e.getMessage(), e);
        }
        AtomicFiles.write(png, bytes.toByteArray());
    }

    private static int width(String s) { return s.length() * 4 * SCALE - SCALE; }

    private static void text(BufferedImage img, String s, int x, int y, int rgb) {
        for (int c = 0; c < s.length(); c++) {
            int gi = CHARS.indexOf(s.charAt(c));
            if (gi < 0) throw new IllegalArgumentException("no glyph for '" + s.charAt(c) + "'");
            for (int r = 0; r < 5; r++)
                for (int b = 0; b < 3; b++)
                    if ((GLYPHS[gi][r] >> (2 - b) & 1) != 0) fill(img, x + (c * 4 + b) * SCALE, y + r * SCALE, SCALE, SCALE, rgb);
        }
    }

    private static void fill(BufferedImage img, int x, int y, int w, int h, int rgb) {
        for (int j = Math.max(0, y); j < Math.min(img.getHeight(), y + h); j++)
            for (int i = Math.max(0, x); i < Math.min(img.getWidth(), x + w); i++) img.setRGB(i, j, rgb);
    }

    /** A text rendering of the grid (rows = depths, columns = lengths), for the terminal and markdown. */
    public static String markdown(Passkey.Grid g) {
        StringBuilder sb = new StringBuilder("| depth \\ length |");
        for (int L : g.lengths()) sb.append(' ').append(L).append(" |");
        sb.append("\n|---|");
        for (int i = 0; i < g.lengths().size(); i++) sb.append("---|");
        sb.append('\n');
        for (int di = 0; di < g.depths().size(); di++) {
            sb.append(String.format(Locale.ROOT, "| %.0f%% |", 100 * g.depths().get(di)));
            for (int li = 0; li < g.lengths().size(); li++) {
                double a = g.accuracy()[li][di];
                sb.append(Double.isNaN(a) ? " - |" : String.format(Locale.ROOT, " %.0f%% |", 100 * a));
            }
            sb.append('\n');
        }
        return sb.toString();
    }
}
