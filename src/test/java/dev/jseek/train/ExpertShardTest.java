package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Expert parallel with expert-sharded arenas ({@link ExpertShard}): each rank's model holds only its own routed
 * experts, so their parameters, gradients and AdamW moments shrink by the group size. Oracle: the same run with every
 * rank holding every expert ({@link ExpertParallelTest}, itself checked against one rank). The two are bit-identical,
 * not just close: the forward and backward run the same kernels on the same rows, an expert's gradient is summed over
 * the ranks of its index in rank order either way (in the full arena the other ranks add exact zeros), AdamW is
 * element-wise, and the global norm adds the same per-tensor partials in the whole model's tensor order. Checked for
 * EP2, EP4 and DP2xEP2: losses, norms, loads and every weight (assembled by name), and the arena sizes.
 */
class ExpertShardTest {
    @Test void shardedExpertsAreBitwiseTheFullArenaRunAndShrinkByTheGroup() {
        TrainModel whole = new TrainModel(Harness.tinyMoe(), 1, 1);
        int all = whole.params().length, experts = 0;
        for (ParamLayout.Entry e : whole.layout().entries()) if (ExpertShard.expertOf(e.name()) >= 0) experts += e.size();
        assertTrue(experts > 0);
        for (int[] layout : new int[][] {{2, 2}, {4, 4}, {4, 2}}) {
            int ranks = layout[0], group = layout[1], sequences = 2 * ranks;
            String name = ranks == group ? "EP" + group : "DP" + ranks / group + "xEP" + group;
            List<ExpertParallelTest.EpRun> full = ExpertParallelTest.ep(ranks, group, sequences);
            List<ExpertParallelTest.EpRun> sharded = ExpertParallelTest.ep(ranks, group, sequences, 0, 0, true);
            DataParallelTest.assertBitwise(full.get(0).run(), new DataParallelTest.Run(sharded.get(0).run().steps(), assemble(whole, sharded)));
            long shards = 0;
            for (int r = 0; r < ranks; r++) {
                TrainModel m = sharded.get(r).model();
                assertEquals(all - experts + experts / group, m.params().length, name + " rank " + r + ": parameters held");
                assertEquals(m.params().length, m.grads().length, name + " rank " + r + ": gradients held");
                assertEquals(all - experts, m.layout().sharedEnd());
                shards += sharded.get(r).shardFloats();
                for (ParamLayout.Entry e : m.layout().entries()) {
                    int x = ExpertShard.expertOf(e.name());
                    if (x >= 0) assertEquals(r % group, x / (Harness.tinyMoe().nRoutedExperts() / group), name + " rank " + r + " holds " + e.name());
                }
            }
            assertEquals(all, shards, name + ": every tensor's AdamW moments live on exactly one rank");
        }
    }

    /** The whole model's parameters in {@code whole}'s layout, each tensor taken from a rank that holds it (checking every holder agrees). */
    static float[] assemble(TrainModel whole, List<ExpertParallelTest.EpRun> runs) {
        float[] out = new float[whole.params().length];
        for (ParamLayout.Entry e : whole.layout().entries()) {
            float[] seen = null;
            for (ExpertParallelTest.EpRun r : runs) {
                ParamLayout pl = r.model().layout();
                if (!pl.contains(e.name())) continue;
                float[] v = java.util.Arrays.copyOfRange(r.run().params(), pl.offset(e.name()), pl.offset(e.name()) + e.size());
                if (seen != null) assertArrayEquals(seen, v, e.name() + ": its holders disagree");
                seen = v;
            }
            assertNotNull(seen, e.name() + " is held by no rank");
            System.arraycopy(seen, 0, out, e.offset(), e.size());
        }
        return out;
    }
}
