package dev.jseek.serve;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/**
 * {@link ReasoningSplit} against the definition written out by hand (reasoning = the text before the first
 * {@code </think>}, content = after it; an answer that opens {@code <think>} itself enters the reasoning there), and
 * streaming against the whole: fed in pieces cut at every position (so the markers arrive split across pieces), the
 * pieces it gives out concatenate to the parts of the whole text.
 */
class ReasoningSplitTest {
    static final String[] TEXTS = {"", "plain reply", "reason</think>reply", "reason</think>", "</think>reply", "cut off mid-thought",
            "a</think>b</think>c", "reason</thin", "x<think>y</think>z", "  <think>r</think>c", "<think>r</think>c", "<thi", "<think",
            "<think>\nonly reasoning", "< think>not a marker", "\n\n", "</thinking>?</think>!"};

    @Test void wholeAnswersSplitAsDefined() {
        for (String t : TEXTS) {
            int end = t.indexOf("</think>");
            ReasoningSplit.Parts p = ReasoningSplit.whole(t, true);
            assertEquals(end < 0 ? t : t.substring(0, end), p.reasoning(), t);
            assertEquals(end < 0 ? "" : t.substring(end + 8), p.content(), t);
            String s = t.strip();
            ReasoningSplit.Parts q = ReasoningSplit.whole(t, false);
            if (s.startsWith("<think>")) {
                assertEquals(ReasoningSplit.whole(s.substring(7), true), q, t);
            } else {
                assertEquals(new ReasoningSplit.Parts("", t), q, t);
            }
        }
        assertEquals(new ReasoningSplit.Parts("r", "c"), ReasoningSplit.whole("  <think>r</think>c", false));
    }

    @Test void piecesConcatenateToTheWhole() {
        for (String t : TEXTS) {
            for (boolean opened : new boolean[] {true, false}) {
                ReasoningSplit.Parts whole = ReasoningSplit.whole(t, opened);
                for (int a = 0; a <= t.length(); a++) {
                    for (int b = a; b <= t.length(); b++) {
                        ReasoningSplit s = new ReasoningSplit(opened);
                        StringBuilder r = new StringBuilder(), c = new StringBuilder();
                        for (ReasoningSplit.Parts p : new ReasoningSplit.Parts[] {s.feed(t.substring(0, a)), s.feed(t.substring(a, b)),
                                s.feed(t.substring(b)), s.finish()}) {
                            r.append(p.reasoning());
                            c.append(p.content());
                        }
                        assertEquals(whole, new ReasoningSplit.Parts(r.toString(), c.toString()), t + " cut at " + a + ", " + b);
                    }
                }
            }
        }
    }

    @Test void aPromptOpensThinkingWhenItEndsInTheOpenMarker() {
        assertTrue(ReasoningSplit.opens("<｜Assistant｜><think>"));
        assertTrue(ReasoningSplit.opens("<｜Assistant｜><think>\n"));
        assertFalse(ReasoningSplit.opens("<｜Assistant｜></think>"));
        assertFalse(ReasoningSplit.opens("<｜Assistant｜><think></think>"));
    }
}
