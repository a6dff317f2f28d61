package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.parallel.ThreadRanks;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Expert parallel on thread ranks (tiny MoE + MTP model, 8 routed experts, 5 steps) against the 1-rank
 * {@link Trainer} with the same global batch: EP2 (4 experts per rank), EP4 (2 per rank) and DP2xEP2 (4 ranks, two
 * expert-parallel groups {0, 1} and {2, 3}, each holding all experts), each rank training on its own micro-batches,
 * with the experts' rows exchanged by {@link ExpertParallel}. Within 1e-6 relative, not
 * bitwise, for the reason of {@link DataParallelTest}: the replicated (attention, dense, shared) gradients are summed
 * over ranks instead of accumulated micro-batch after micro-batch, and an expert's weight gradient is one GEMM over
 * the rows of every rank instead of one per micro-batch. The per-step expert loads (integers, summed over ranks) are
 * equal exactly, and the first step's losses are bit-equal: the forward of every row is computed by the same
 * kernels in the same order as on one rank, and combine weights and sums each token's outputs in slot order.
 * The per-rank row counts in the metrics are checked against the 1-rank loads split by owner.
 */
class ExpertParallelTest {
    static final int STEPS = DataParallelTest.STEPS;

    /**
     * A rank's run and, per MoE layer, the rows each expert ran on that rank in the last forward; its model, and the
     * floats of its ZeRO-1 shard (the arena share whose AdamW moments it holds).
     */
    record EpRun(DataParallelTest.Run run, int[][] rows, TrainModel model, int shardFloats) {}

    static List<EpRun> ep(int ranks, int group, int sequences) { return ep(ranks, group, sequences, 0, 0, false); }

    static List<EpRun> ep(int ranks, int group, int sequences, int ranksPerNode, int maxNodes) { return ep(ranks, group, sequences, ranksPerNode, maxNodes, false); }

    /**
     * With ranksPerNode > 0: node-limited routing over {@code group} ranks in nodes of ranksPerNode, at most maxNodes
     * per token; {@code sharded}: each rank's model holds only its own experts ({@link ExpertShard}).
     */
    static List<EpRun> ep(int ranks, int group, int sequences, int ranksPerNode, int maxNodes, boolean sharded) {
        return ep(ranks, group, sequences, ranksPerNode, maxNodes, sharded, null, 0, null, STEPS, Precision.FP32);
    }

    static List<EpRun> ep(int ranks, int group, int sequences, int ranksPerNode, int maxNodes, boolean sharded, java.nio.file.Path ck, long every,
                          java.nio.file.Path resume, long steps) {
        return ep(ranks, group, sequences, ranksPerNode, maxNodes, sharded, ck, every, resume, steps, Precision.FP32);
    }

    /** With checkpoints in {@code ck} every {@code every} steps (null: none), resumed from {@code resume} (null: a fresh run), until step {@code steps}. */
    static List<EpRun> ep(int ranks, int group, int sequences, int ranksPerNode, int maxNodes, boolean sharded, java.nio.file.Path ck, long every,
                          java.nio.file.Path resume, long steps, Precision precision) {
        return ThreadRanks.run(ranks, TimeUnit.SECONDS.toNanos(120), c -> {
            TrainModel tm = new TrainModel(Harness.tinyMoe(), 2 * TrainModelLoopTest.ROWS * ranks, TrainModelLoopTest.T, true, precision,
                    sharded ? new ExpertShard(group, c.rank() % group, Harness.tinyMoe().nRoutedExperts()) : null);
            tm.initRandom(1, 0.1f);
            tm.setExpertParallel(c, group);
            if (ranksPerNode > 0) tm.setNodeLimitedRouting(group, ranksPerNode, maxNodes);
            TrainModelTrainable m = new TrainModelTrainable(tm);
            List<StepMetrics> l = new ArrayList<>();
            int shard;
            try (Trainer<TokenBatch> t = new Trainer<>(m, new TrainModelLoopTest.PatternSource(Harness.tinyMoe().vocabSize()),
                    DataParallelTest.cfg(sequences, ck, every), c)) {
                if (resume != null) t.resume(resume);
                t.addListener(l::add);
                t.train(steps);
                shard = t.zero().shardFloats();
            }
            int[][] rows = new int[tm.moes().size()][];
            for (int i = 0; i < rows.length; i++) {
                ExpertParallel x = tm.moes().get(i).expertParallel();
                rows[i] = new int[tm.moes().get(i).experts()];
                for (int e = 0; e < rows[i].length && x != null; e++) rows[i][e] = x.rowsOf(e);
            }
            return new EpRun(new DataParallelTest.Run(l, m.params().clone()), rows, tm, shard);
        });
    }

    /**
     * Node-limited routing: EP4 in 2 nodes of 2 ranks, each token's 3 experts on 1 node, against one rank with the
     * same rule (within 1e-6 relative, as above); in the last forward of every MoE layer each token's experts lie on
     * one node (the rule itself is tested against brute force in parallel.NodeLimitedRoutingTest).
     */
    @Test void nodeLimitedEp4EqualsOneRankAndKeepsTokensOnOneNode() {
        List<EpRun> runs = ep(4, 4, 8, 2, 1);
        TrainModel one = new TrainModel(Harness.tinyMoe(), 2 * TrainModelLoopTest.ROWS, TrainModelLoopTest.T);
        one.initRandom(1, 0.1f);
        one.setNodeLimitedRouting(4, 2, 1);
        TrainModelTrainable m = new TrainModelTrainable(one);
        List<StepMetrics> l = new ArrayList<>();
        try (Trainer<TokenBatch> t = new Trainer<>(m, new TrainModelLoopTest.PatternSource(Harness.tinyMoe().vocabSize()), DataParallelTest.cfg(8, null))) {
            t.addListener(l::add);
            t.train(STEPS);
        }
        DataParallelTest.Run ref = new DataParallelTest.Run(l, m.params().clone());
        DataParallelTest.assertClose(ref, runs.get(0).run());
        for (Moe moe : one.moes()) {
            long n = 0;
            for (int c : moe.lastCount()) n += c;
            int k = moe.selected(0).length, perNode = moe.experts() / 2;
            for (int t = 0; t < n / k; t++) {
                int[] sel = moe.selected(t);
                for (int e : sel) assertEquals(sel[0] / perNode, e / perNode, "token " + t + " experts " + java.util.Arrays.toString(sel) + " span two nodes");
            }
        }
        // and the rule changes the routing: without it some token of the same model spans both nodes
        List<DataParallelTest.Run> free = ep(4, 4, 8).stream().map(EpRun::run).toList();
        assertNotEquals(free.get(0).steps().getFirst().losses(), runs.get(0).run().steps().getFirst().losses());
    }

    @Test void ep2Ep4AndDp2xEp2EqualOneRank() {
        for (int[] layout : new int[][] {{2, 2}, {4, 4}, {4, 2}}) {
            int ranks = layout[0], group = layout[1], sequences = 2 * ranks;
            String name = ranks == group ? "EP" + group : "DP" + ranks / group + "xEP" + group;
            List<EpRun> epRuns = ep(ranks, group, sequences);
            List<DataParallelTest.Run> runs = epRuns.stream().map(EpRun::run).toList();
            for (int r = 0; r < ranks; r++)                    // each rank ran only its own experts, and they ran
                for (int[] layer : epRuns.get(r).rows()) {
                    int per = layer.length / group, q = r % group, own = 0;
                    for (int e = 0; e < layer.length; e++) {
                        if (e / per == q) own += layer[e];
                        else assertEquals(0, layer[e], name + " rank " + r + " ran expert " + e + " of another rank");
                    }
                    assertTrue(own > 0, name + " rank " + r + ": its experts ran no rows");
                }
            for (DataParallelTest.Run r : runs) assertArrayEquals(runs.get(0).params(), r.params(), name + ": ranks hold the same parameters");
            DataParallelTest.Run ref = DataParallelTest.single(sequences, null, null, STEPS);
            assertEquals(ref.steps().getFirst().losses(), runs.get(0).steps().getFirst().losses(), name + ": the first step's losses, bit for bit");
            DataParallelTest.assertClose(ref, runs.get(0));
            for (int s = 0; s < STEPS; s++) {
                long[][] load = ref.steps().get(s).expertLoad();
                assertArrayEquals(load, runs.get(0).steps().get(s).expertLoad(), name + " step " + (s + 1) + " expert loads");
                int per = load[0].length / group;          // rows per expert-parallel rank: the loads of its experts
                for (int q = 0; q < group; q++) {
                    long rows = 0;
                    for (long[] l : load) for (int j = q * per; j < (q + 1) * per; j++) rows += l[j];
                    assertEquals((double) rows, runs.get(0).steps().get(s).extra().get("ep_rank" + q + "_rows"), name + " rank " + q + " rows");
                }
            }
        }
    }
}
