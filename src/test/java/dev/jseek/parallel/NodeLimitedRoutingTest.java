package dev.jseek.parallel;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Node-limited routing against a brute-force reference of the rule: over every set of M nodes, the one with the
 * largest sum of node scores (a node's score: the sum of its K/M best selection scores, found by sorting), then the K
 * best experts of that set's union by sorting. Random scores (no ties), several layouts incl. V3's 4 of 8 nodes.
 */
class NodeLimitedRoutingTest {
    static int[] reference(float[] s, int experts, int nodes, int m, int k) {
        int per = experts / nodes;
        double[] node = new double[nodes];
        for (int n = 0; n < nodes; n++) {
            List<Float> v = new ArrayList<>();
            for (int i = 0; i < per; i++) v.add(s[n * per + i]);
            v.sort(Comparator.reverseOrder());
            float sum = 0;
            for (int j = 0; j < k / m; j++) sum += v.get(j);
            node[n] = sum;
        }
        int bestMask = -1;
        double bestSum = Double.NEGATIVE_INFINITY;
        for (int mask = 0; mask < 1 << nodes; mask++) {
            if (Integer.bitCount(mask) != m) continue;
            double sum = 0;
            for (int n = 0; n < nodes; n++) if ((mask >> n & 1) != 0) sum += node[n];
            if (sum > bestSum) { bestSum = sum; bestMask = mask; }
        }
        List<Integer> cand = new ArrayList<>();
        for (int e = 0; e < experts; e++) if ((bestMask >> (e / per) & 1) != 0) cand.add(e);
        cand.sort((a, b) -> Float.compare(s[b], s[a]));
        int[] r = new int[k];
        for (int j = 0; j < k; j++) r[j] = cand.get(j);
        return r;
    }

    @Test void selectsAsTheBruteForceRule() {
        int[][] layouts = { // experts, ranks, ranks per node, max nodes, top-k
                {64, 8, 1, 4, 8}, {64, 16, 2, 4, 8}, {32, 4, 1, 2, 4}, {16, 4, 2, 1, 2}, {24, 6, 3, 2, 6}, {64, 8, 1, 8, 8}};
        Random rnd = new Random(3);
        for (int[] l : layouts) {
            NodeLimitedRouting nl = new NodeLimitedRouting(l[0], l[1], l[2], l[3], l[4]);
            int nodes = l[1] / l[2];
            for (int t = 0; t < 200; t++) {
                float[] s = new float[l[0] + 3];
                for (int i = 0; i < s.length; i++) s[i] = (float) rnd.nextGaussian();
                int[] got = new int[l[4] + 1];
                nl.select(s, 3, got, 1);
                float[] view = java.util.Arrays.copyOfRange(s, 3, s.length);
                int[] want = reference(view, l[0], nodes, l[3], l[4]);
                assertArrayEquals(want, java.util.Arrays.copyOfRange(got, 1, got.length), java.util.Arrays.toString(l) + " token " + t);
                java.util.Set<Integer> used = new java.util.HashSet<>();
                for (int e : want) used.add(nl.nodeOf(e));
                assertTrue(used.size() <= l[3]);
            }
        }
    }

    @Test void allNodesIsPlainTopK() {
        NodeLimitedRouting nl = new NodeLimitedRouting(16, 4, 1, 4, 4);
        float[] s = {0.1f, 0.9f, 0.2f, 0.8f, 0.3f, 0.7f, 0.05f, 0.6f, 0.55f, 0f, 0.01f, 0.02f, 0.5f, 0.4f, 0.03f, 0.04f};
        int[] out = new int[4];
        nl.select(s, 0, out, 0);
        assertArrayEquals(new int[] {1, 3, 5, 7}, out);
        NodeLimitedRouting one = new NodeLimitedRouting(16, 4, 1, 1, 4);
        one.select(s, 0, out, 0);
        assertArrayEquals(new int[] {1, 3, 2, 0}, out, "node 0 has the best top-4 sum (2.0)");
    }

    @Test void badLayoutsAreNamed() {
        assertEquals("65 experts do not split over 8 EP ranks",
                assertThrows(IllegalArgumentException.class, () -> new NodeLimitedRouting(65, 8, 1, 4, 8)).getMessage());
        assertEquals("top-6 is not a multiple of the 4 nodes per token",
                assertThrows(IllegalArgumentException.class, () -> new NodeLimitedRouting(64, 8, 1, 4, 6)).getMessage());
        assertEquals("max nodes per token 5 outside 1..4",
                assertThrows(IllegalArgumentException.class, () -> new NodeLimitedRouting(64, 8, 2, 5, 10)).getMessage());
    }
}
