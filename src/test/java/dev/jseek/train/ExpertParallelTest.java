package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.parallel.ThreadRanks;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Expert parallel on thread ranks (tiny MoE + MTP model, 8 routed experts, 5 steps) against the 1-rank
 * {@link Trainer} with the same global batch: EP2 (4 experts per rank) and EP4 (2 per rank), each rank training
 * on its own micro-batches, with the experts' rows exchanged by {@link ExpertParallel}. Within 1e-6 relative, not
 * bitwise, for the reason of {@link DataParallelTest}: the replicated (attention, dense, shared) gradients are summed
 * over ranks instead of accumulated micro-batch after micro-batch, and an expert's weight gradient is one GEMM over
 * the rows of every rank instead of one per micro-batch. The per-step expert loads (integers, summed over ranks) are
 * equal exactly, and the first step's losses are bit-equal: the forward of every row is computed by the same
 * kernels in the same order as on one rank, and combine weights and sums each token's outputs in slot order.
 */
class ExpertParallelTest {
    static final int STEPS = DataParallelTest.STEPS;

    static List<DataParallelTest.Run> ep(int ranks, int sequences) {
        return ThreadRanks.run(ranks, TimeUnit.SECONDS.toNanos(120), c -> {
            TrainModel tm = new TrainModel(Harness.tinyMoe(), 2 * TrainModelLoopTest.ROWS * ranks, TrainModelLoopTest.T);
            tm.initRandom(1, 0.1f);
            tm.setExpertParallel(c);
            TrainModelTrainable m = new TrainModelTrainable(tm);
            List<StepMetrics> l = new ArrayList<>();
            try (Trainer<TokenBatch> t = new Trainer<>(m, new TrainModelLoopTest.PatternSource(Harness.tinyMoe().vocabSize()),
                    DataParallelTest.cfg(sequences, null), c)) {
                t.addListener(l::add);
                t.train(STEPS);
            }
            return new DataParallelTest.Run(l, m.params().clone());
        });
    }

    @Test void ep2AndEp4EqualOneRank() {
        for (int ranks : new int[] {2, 4}) {
            int sequences = 2 * ranks;
            List<DataParallelTest.Run> runs = ep(ranks, sequences);
            for (DataParallelTest.Run r : runs) assertArrayEquals(runs.get(0).params(), r.params(), "EP" + ranks + ": ranks hold the same parameters");
            DataParallelTest.Run ref = DataParallelTest.single(sequences, null, null, STEPS);
            assertEquals(ref.steps().getFirst().losses(), runs.get(0).steps().getFirst().losses(), "EP" + ranks + ": the first step's losses, bit for bit");
            DataParallelTest.assertClose(ref, runs.get(0));
            for (int s = 0; s < STEPS; s++)
                assertArrayEquals(ref.steps().get(s).expertLoad(), runs.get(0).steps().get(s).expertLoad(), "EP" + ranks + " step " + (s + 1) + " expert loads");
        }
    }
}
