package dev.jseek.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Stage splits: by layer count (embedding first, head last, blocks near-equal) and by cost against brute force. */
class StagePartitionTest {
    @Test
    void byLayerCountPutsEmbeddingFirstAndHeadLast() {
        assertArrayEquals(new int[]{0, 4, 8}, StagePartition.byLayerCount(6, 2).bounds());      // [emb, b0..b2] [b3..b5, head]
        assertArrayEquals(new int[]{0, 2, 4, 5, 8}, StagePartition.byLayerCount(6, 4).bounds());
        assertArrayEquals(new int[]{0, 1, 2, 3, 5}, StagePartition.byLayerCount(3, 4).bounds());
        assertEquals(1, StagePartition.byLayerCount(6, 1).stages());
        assertThrows(IllegalArgumentException.class, () -> StagePartition.byLayerCount(3, 6));
    }

    /** The dynamic program's largest stage cost equals the best over every contiguous split (brute force). */
    @Test
    void byCostMinimizesTheLargestStage() {
        Random rnd = new Random(5);
        for (int it = 0; it < 40; it++) {
            int n = 2 + rnd.nextInt(8), k = 1 + rnd.nextInt(n);
            double[] cost = new double[n];
            for (int i = 0; i < n; i++) cost[i] = 0.1 + rnd.nextDouble() * 5;
            StagePartition p = StagePartition.byCost(cost, k);
            assertEquals(k, p.stages());
            assertEquals(brute(cost, 0, k), maxStage(cost, p.bounds()), 1e-12);
        }
    }

    private static double maxStage(double[] cost, int[] b) {
        double m = 0;
        for (int s = 0; s + 1 < b.length; s++) {
            double v = 0;
            for (int u = b[s]; u < b[s + 1]; u++) v += cost[u];
            m = Math.max(m, v);
        }
        return m;
    }

    /** Best largest-stage cost of units [from, n) in k non-empty stages, by trying every first cut. */
    private static double brute(double[] cost, int from, int k) {
        int n = cost.length;
        if (k == 1) { double v = 0; for (int u = from; u < n; u++) v += cost[u]; return v; }
        double best = Double.POSITIVE_INFINITY, first = 0;
        for (int cut = from + 1; cut <= n - (k - 1); cut++) {
            first += cost[cut - 1];
            best = Math.min(best, Math.max(first, brute(cost, cut, k - 1)));
        }
        return best;
    }
}
