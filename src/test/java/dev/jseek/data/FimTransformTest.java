package dev.jseek.data;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class FimTransformTest {
    static final ByteTextEncoder ENC = new ByteTextEncoder();
    static final int EOS = ByteTextEncoder.EOS, B = ByteTextEncoder.FIM_BEGIN, H = ByteTextEncoder.FIM_HOLE, E = ByteTextEncoder.FIM_END;

    /** Finds a document index whose plan for {@code text} is FIM with the given char cut points. */
    static long indexWithPlan(FimTransform f, String text, int a, int b) {
        for (long i = 0; i < 100_000; i++) {
            FimTransform.Plan p = f.plan(i, text);
            if (p.fim() && p.prefixEnd() == a && p.middleEnd() == b) return i;
        }
        throw new AssertionError("no index with plan " + a + "," + b);
    }

    @Test void plainDocumentIsEncodingPlusEos() {
        FimTransform f = new FimTransform(ENC, 0.0, 7);
        assertArrayEquals(new int[] {'a', 'b', 'c', EOS}, f.apply(3, "abc"));
        assertArrayEquals(new int[] {0xC3, 0xA9, EOS}, f.apply(4, "é"));
    }

    @Test void psmLayoutIsExact() {
        FimTransform f = new FimTransform(ENC, 1.0, 7);
        // prefix "x", middle "y", suffix "z"
        long i = indexWithPlan(f, "xyz", 1, 2);
        assertArrayEquals(new int[] {B, 'x', H, 'z', E, 'y', EOS}, f.apply(i, "xyz"));
        // empty prefix and middle: prefix "", middle "", suffix "xyz"
        i = indexWithPlan(f, "xyz", 0, 0);
        assertArrayEquals(new int[] {B, H, 'x', 'y', 'z', E, EOS}, f.apply(i, "xyz"));
        // whole text in the middle
        i = indexWithPlan(f, "xyz", 0, 3);
        assertArrayEquals(new int[] {B, H, E, 'x', 'y', 'z', EOS}, f.apply(i, "xyz"));
        // prefix "ab", middle "", suffix "cd"
        i = indexWithPlan(f, "abcd", 2, 2);
        assertArrayEquals(new int[] {B, 'a', 'b', H, 'c', 'd', E, EOS}, f.apply(i, "abcd"));
        // a multi-byte middle: prefix "a", middle "é", suffix "b"
        i = indexWithPlan(f, "aéb", 1, 2);
        assertArrayEquals(new int[] {B, 'a', H, 'b', E, 0xC3, 0xA9, EOS}, f.apply(i, "aéb"));
    }

    @Test void deepSeekIdsLayout() {
        // an encoder with the DeepSeek-V3 special ids (docs/architecture.md §7.8): fim_begin 128801, fim_hole 128800, fim_end 128802, eos 1
        TextEncoder ds = new TextEncoder() {
            @Override public int[] encode(String t) { return t.chars().map(c -> 1000 + c).toArray(); }
            @Override public int eosId() { return 1; }
            @Override public int fimBeginId() { return 128801; }
            @Override public int fimHoleId() { return 128800; }
            @Override public int fimEndId() { return 128802; }
            @Override public int vocabSize() { return 129280; }
        };
        FimTransform f = new FimTransform(ds, 1.0, 1);
        long i = indexWithPlan(f, "pms", 1, 2);
        assertArrayEquals(new int[] {128801, 1000 + 'p', 128800, 1000 + 's', 128802, 1000 + 'm', 1}, f.apply(i, "pms"));
    }

    @Test void cutsNeverSplitSurrogatePairsAndPartsReassemble() {
        String text = "a😀b😁😂c";
        FimTransform f = new FimTransform(ENC, 1.0, 11);
        int[] seenA = new int[text.length() + 1];
        for (long i = 0; i < 3000; i++) {
            FimTransform.Plan p = f.plan(i, text);
            assertTrue(p.fim());
            assertTrue(p.prefixEnd() <= p.middleEnd());
            for (int cut : new int[] {p.prefixEnd(), p.middleEnd()})
                assertFalse(cut > 0 && cut < text.length() && Character.isLowSurrogate(text.charAt(cut)), "cut " + cut + " splits a pair");
            seenA[p.prefixEnd()]++;
            String pre = text.substring(0, p.prefixEnd()), mid = text.substring(p.prefixEnd(), p.middleEnd()), suf = text.substring(p.middleEnd());
            int[] want = concat(new int[] {B}, bytes(pre), new int[] {H}, bytes(suf), new int[] {E}, bytes(mid), new int[] {EOS});
            assertArrayEquals(want, f.apply(i, text));
        }
        // 6 code points -> 7 boundaries, all reachable
        int reachable = 0;
        for (int c : seenA) if (c > 0) reachable++;
        assertEquals(7, reachable);
    }

    @Test void cutPointsAreUniformOrderStatistics() {
        // two uniform cuts over n+1 = 5 boundaries, sorted: P(a=k) for min of two uniforms on {0..4} = (2(5-k)-1)/25
        FimTransform f = new FimTransform(ENC, 1.0, 5);
        int trials = 20_000;
        int[] countA = new int[5];
        for (long i = 0; i < trials; i++) countA[f.plan(i, "abcd").prefixEnd()]++;
        double chi2 = 0;
        for (int k = 0; k < 5; k++) {
            double exp = trials * (2.0 * (5 - k) - 1) / 25.0;
            chi2 += (countA[k] - exp) * (countA[k] - exp) / exp;
        }
        assertTrue(chi2 < 18.5, "chi2 " + chi2 + " counts " + Arrays.toString(countA)); // 4 dof, p = 0.001
    }

    @Test void fimRateAndDeterminism() {
        FimTransform f = new FimTransform(ENC, 0.1, 42), g = new FimTransform(ENC, 0.1, 42), h = new FimTransform(ENC, 0.1, 43);
        int fim = 0, diff = 0, n = 20_000;
        for (long i = 0; i < n; i++) {
            FimTransform.Plan p = f.plan(i, "hello world");
            assertEquals(p, g.plan(i, "hello world"));
            if (p.fim()) fim++;
            if (!p.equals(h.plan(i, "hello world"))) diff++;
        }
        // binomial(20000, 0.1): sd = 42.4; 5 sd
        assertEquals(2000, fim, 212);
        assertTrue(diff > 2000, "other seed changes plans: " + diff);
    }

    @Test void emptyTextFim() {
        FimTransform f = new FimTransform(ENC, 1.0, 1);
        assertArrayEquals(new int[] {B, H, E, EOS}, f.apply(0, ""));
    }

    static int[] bytes(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        int[] o = new int[b.length];
        for (int i = 0; i < b.length; i++) o[i] = b[i] & 0xFF;
        return o;
    }

    static int[] concat(int[]... parts) {
        return Arrays.stream(parts).flatMapToInt(Arrays::stream).toArray();
    }
}
