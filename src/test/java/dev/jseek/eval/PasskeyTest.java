package dev.jseek.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jseek.model.DeepSeekV3;
import dev.jseek.source.ModelSource;
import dev.jseek.tokenizer.Tokenizer;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PasskeyTest {
    @TempDir Path tmp;

    /** The needle sits exactly where the depth puts it, the prompt has the exact length, and the text reads right. */
    @Test void needlePlacementIsExact() throws Exception {
        Tokenizer tok = EvalFixtures.tokenizer(tmp, 400);
        int[] intro = tok.encode(Passkey.INTRO), unit = tok.encode(Passkey.FILLER), q = tok.encode(Passkey.QUESTION);
        for (int length : new int[] {300, 517, 1024})
            for (double depth : new double[] {0, 0.1, 0.25, 0.5, 0.9, 1}) {
                int key = 12345 + length;
                Passkey.Prompt p = Passkey.build(tok, length, depth, key);
                int[] nd = tok.encode(" The pass key is " + key + ". Remember it. " + key + " is the pass key.");
                assertEquals(length, p.tokens().length);
                assertEquals(nd.length, p.needleLength());
                assertArrayEquals(nd, Arrays.copyOfRange(p.tokens(), p.needleStart(), p.needleStart() + nd.length));
                assertEquals(tok.eosId(), p.tokens()[0]);
                assertArrayEquals(intro, Arrays.copyOfRange(p.tokens(), 1, 1 + intro.length));
                assertArrayEquals(q, Arrays.copyOfRange(p.tokens(), length - q.length, length));
                // filler units before the needle: a whole number of them, the nearest whole unit to depth x (filler / unit)
                int before = p.needleStart() - 1 - intro.length, filler = length - 1 - intro.length - nd.length - q.length;
                assertEquals(0, before % unit.length);
                int units = filler / unit.length;
                assertEquals(Math.round(depth * units), before / unit.length, "length " + length + " depth " + depth);
                // everything else is the filler unit tiled from the start
                int[] rest = new int[filler];
                System.arraycopy(p.tokens(), 1 + intro.length, rest, 0, before);
                System.arraycopy(p.tokens(), p.needleStart() + nd.length, rest, before, filler - before);
                for (int i = 0; i < filler; i++) assertEquals(unit[i % unit.length], rest[i]);
                // the key appears in the decoded text exactly twice, inside the needle
                String text = tok.decode(p.tokens(), true);
                assertEquals(2, text.split(Integer.toString(key), -1).length - 1);
                assertTrue(text.endsWith("What is the pass key? The pass key is"));
            }
        assertThrows(IllegalArgumentException.class, () -> Passkey.build(tok, 40, 0.5, 12345));
        assertThrows(IllegalArgumentException.class, () -> Passkey.build(tok, 400, 1.5, 12345));
    }

    /** Training documents: the answer after the question is the needle's key; the needle lands at every depth. */
    @Test void trainingTextAnswersItsOwnNeedle() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(9);
        boolean first = false, last = false;
        for (int i = 0; i < 200; i++) {
            String t = Passkey.trainingText(5, r);
            java.util.regex.Matcher m = java.util.regex.Pattern.compile(" The pass key is (\\d{5})\\. Remember it\\. (\\d{5}) is the pass key\\.").matcher(t);
            assertTrue(m.find(), t);
            assertEquals(m.group(1), m.group(2));
            assertTrue(t.endsWith(Passkey.QUESTION + " " + m.group(1) + "."), t);
            assertEquals(5, t.split(java.util.regex.Pattern.quote(Passkey.FILLER), -1).length - 1);
            first |= m.start() == Passkey.INTRO.length();
            last |= m.end() == t.length() - Passkey.QUESTION.length() - 7;
        }
        assertTrue(first && last, "needle at depth 0 and 1");
    }

    @Test void keysAreFiveDigitsAndDigitsAreExtracted() {
        for (int t = 0; t < 50; t++) {
            int k = Passkey.key(3, 512, t % 5, t);
            assertTrue(k >= 10_000 && k < 100_000);
            assertEquals(k, Passkey.key(3, 512, t % 5, t));
        }
        assertEquals("48213", Passkey.firstDigits(" 48213. Remember"));
        assertEquals("", Passkey.firstDigits(" no digits"));
        assertEquals("7", Passkey.firstDigits("a7b8"));
    }

    /** A length past the model's positions is NaN; the heatmap colours cells by accuracy and grey for NaN. */
    @Test void gridAndHeatmap() throws Exception {
        Tokenizer tok = EvalFixtures.tokenizer(tmp, 400);
        try (DeepSeekV3 m = ModelSource.open(EvalFixtures.tinyModel(tmp, 400, 1, 0.02))) {
            Passkey.Grid g = Passkey.run(m, tok, List.of(300, 4096), List.of(0.0, 1.0), 1, 7);
            assertTrue(Double.isNaN(g.accuracy()[1][0]) && Double.isNaN(g.accuracy()[1][1])); // tiny: 512 positions
            assertTrue(g.accuracy()[0][0] == 0 || g.accuracy()[0][0] == 1);
        }
        Passkey.Grid g = new Passkey.Grid(List.of(256, 1024), List.of(0.0, 0.5), 2, new double[][] {{0, 1}, {0.5, Double.NaN}});
        Path png = tmp.resolve("h.png");
        Heatmap.write(g, png);
        BufferedImage img = ImageIO.read(Files.newInputStream(png));
        // cell centres' corners (inside the cell, away from the text): (length 0, depth 0) red, (0, 1) green, (1, 1) grey
        assertEquals(Heatmap.color(0), img.getRGB(64 + 4, 16 + 4) & 0xFFFFFF);
        assertEquals(Heatmap.color(1), img.getRGB(64 + 4, 16 + 40 + 4) & 0xFFFFFF);
        assertEquals(Heatmap.color(0.5), img.getRGB(64 + 72 + 4, 16 + 4) & 0xFFFFFF);
        assertEquals(0xB0B0B0, img.getRGB(64 + 72 + 4, 16 + 40 + 4) & 0xFFFFFF);
        assertEquals(0x00C83C, Heatmap.color(1)); // green
        assertEquals(0xDC003C, Heatmap.color(0)); // red
        assertTrue(Heatmap.markdown(g).contains("| 50% | 100% | - |"));
    }
}
