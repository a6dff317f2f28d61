package dev.jseek.api;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link StopMatcher} against a brute-force oracle on random texts over a tiny alphabet (so stop strings occur and
 * overlap), random chunkings and random stop sets: after every push, (1) the released text equals the accumulated
 * text minus its longest suffix that is a proper prefix of a stop string, or (2) once a stop string is contained,
 * the accumulated text before its leftmost occurrence; the stream then releases nothing more.
 */
class StopMatcherTest {
    private static final String[] ALPHABET = {"a", "b", "c", "\uD83D\uDE00"}; // a surrogate pair among letters

    @Test void releasesExactlyWhatTheOracleSays() {
        SplittableRandom r = new SplittableRandom(7);
        for (int round = 0; round < 3000; round++) {
            List<String> stops = new ArrayList<>();
            int ns = r.nextInt(4);
            for (int i = 0; i < ns; i++) stops.add(randomText(r, 1 + r.nextInt(4)));
            StopMatcher m = new StopMatcher(stops);
            StringBuilder all = new StringBuilder(), released = new StringBuilder();
            boolean stopped = false;
            int pushes = 1 + r.nextInt(10);
            for (int p = 0; p < pushes; p++) {
                String piece = randomText(r, r.nextInt(4));
                String out = m.push(piece);
                if (stopped) {
                    assertEquals("", out);
                    continue;
                }
                released.append(out);
                all.append(piece);
                int cut = leftmost(all.toString(), stops);
                if (cut >= 0) {
                    stopped = true;
                    assertTrue(m.stopped());
                    assertEquals(all.substring(0, cut), released.toString(), () -> "stops " + stops + " text " + all);
                } else {
                    assertFalse(m.stopped());
                    int hold = longestHeld(all.toString(), stops);
                    int expect = all.length() - hold;
                    if (expect > 0 && Character.isHighSurrogate(all.charAt(expect - 1))) expect--;
                    assertEquals(all.substring(0, expect), released.toString(), () -> "stops " + stops + " text " + all);
                }
                if (!released.isEmpty()) assertFalse(Character.isHighSurrogate(released.charAt(released.length() - 1)));
            }
            String tail = m.finish();
            if (!stopped) assertEquals(all.toString(), released + tail);
            else assertEquals("", tail);
        }
    }

    @Test void noStopsReleasesEverythingAtOnce() {
        StopMatcher m = new StopMatcher(List.of());
        assertEquals("abc", m.push("abc"));
        assertEquals("", m.finish());
    }

    @Test void aStopSplitAcrossPiecesIsHeldThenDropped() {
        StopMatcher m = new StopMatcher(List.of("</s>"));
        assertEquals("hello ", m.push("hello <"));
        assertEquals("", m.push("/"));
        assertEquals("", m.push("s>tail"));
        assertTrue(m.stopped());
        StopMatcher n = new StopMatcher(List.of("</s>"));
        assertEquals("x", n.push("x<"));
        assertEquals("</a", n.push("/a"));
        assertEquals("", n.finish());
    }

    private static String randomText(SplittableRandom r, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) sb.append(ALPHABET[r.nextInt(ALPHABET.length)]);
        return sb.toString();
    }

    private static int leftmost(String text, List<String> stops) {
        int best = -1;
        for (String s : stops) {
            int i = text.indexOf(s);
            if (i >= 0 && (best < 0 || i < best)) best = i;
        }
        return best;
    }

    private static int longestHeld(String text, List<String> stops) {
        int best = 0;
        for (String s : stops)
            for (int k = 1; k < s.length() && k <= text.length(); k++)
                if (text.endsWith(s.substring(0, k))) best = Math.max(best, k);
        return best;
    }
}
