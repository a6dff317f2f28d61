package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * FP8 expert parallel (report §3.3.3): the dispatch moves E4M3 codes with one scale per 1x128 tile, the combine
 * BF16. Oracle: the 1-rank FP8 run of the same model and batch with its expert outputs rounded to BF16
 * ({@link TrainModel#setBf16Combine}). The first step's losses are equal bit for bit: the owner's E4M3 cache receives
 * the very bytes one rank quantizes from the same token, and both round the same expert outputs to BF16, so every
 * forward value is the same. Against the plain 1-rank FP8 run (float combine) the first step is within 1e-5
 * relative (measured 1.2e-6: the BF16 rounding, 2^-9 relative per element, mostly averages out in the weighted sums).
 * Later steps are within 2e-3 relative of either (5 steps: at most 7.7e-4 measured against the first, 1.4e-3 against
 * the float one, whose backward keeps the gradients in float where expert parallel exchanges them in BF16), not 1e-6 as in FP32
 * ({@link ExpertParallelTest}): an expert's FP8 weight gradient quantizes its rows in tiles of 128 along the tokens,
 * and under expert parallel an expert's rows from every rank's micro-batch form one GEMM, so the tiles group other
 * rows, get other scales and round differently (the FP8 error itself, up to 2^-4 relative per element, not a
 * summation-order bit); the next steps' FP8 forwards then start from slightly different weights. (Data parallel FP8
 * without expert parallel keeps per-micro-batch GEMMs and follows one rank to the last bit.) The payload is checked
 * too: each dispatched row is dim + 4 * ceil(dim/128) bytes (not 4 dim), each combined row 2 dim, and the backward
 * exchanges (a dispatch of the output gradients, a combine of the input gradients) 2 dim per row as well, rounded to
 * BF16 on both sides of the comparison (the 1-rank oracle rounds the same gradients; their values against the FP32
 * exchanges: {@link ExpertParallelBf16Test}).
 */
class Fp8DispatchTest {
    /** One FP8 rank, its expert outputs rounded to BF16 (the combine expert parallel sends) or kept in float. */
    static List<StepMetrics> oneRank(int sequences, boolean bf16Combine) {
        TrainModel one = new TrainModel(Harness.tinyMoe(), 2 * TrainModelLoopTest.ROWS, TrainModelLoopTest.T, true, Precision.FP8);
        one.initRandom(1, 0.1f);
        one.setBf16Combine(bf16Combine);
        List<StepMetrics> l = new ArrayList<>();
        try (Trainer<TokenBatch> t = new Trainer<>(new TrainModelTrainable(one), new TrainModelLoopTest.PatternSource(Harness.tinyMoe().vocabSize()),
                DataParallelTest.cfg(sequences, null))) {
            t.addListener(l::add);
            t.train(ExpertParallelTest.STEPS);
        }
        return l;
    }

    @Test void ep2Fp8DispatchEqualsOneRankFp8AndSendsFp8Bytes() {
        int sequences = 4;
        List<ExpertParallelTest.EpRun> runs = ExpertParallelTest.ep(2, 2, sequences, 0, 0, true, null, 0, null, ExpertParallelTest.STEPS, Precision.FP8);
        List<StepMetrics> l = oneRank(sequences, true), plain = oneRank(sequences, false);
        List<StepMetrics> ep = runs.get(0).run().steps();
        assertEquals(l.getFirst().losses(), ep.getFirst().losses(), "the first step's losses, bit for bit");
        for (int s = 0; s < l.size(); s++) {
            StepLosses a = l.get(s).losses(), b = ep.get(s).losses();
            assertEquals(a.total(), b.total(), 2e-3 * Math.abs(a.total()), "step " + (s + 1) + " loss");
            assertEquals(a.main(), b.main(), 2e-3 * Math.abs(a.main()), "step " + (s + 1) + " main CE");
            double p = plain.get(s).losses().total();
            assertEquals(p, b.total(), (s == 0 ? 1e-5 : 2e-3) * Math.abs(p), "step " + (s + 1) + " loss against one rank with a float combine");
        }
        int dim = Harness.tinyMoe().hiddenSize(), tiles = (dim + 127) / 128;
        for (ExpertParallelTest.EpRun r : runs)
            for (Moe m : r.model().moes()) {
                ExpertParallel x = m.expertParallel();
                assertTrue(x.sent() > 0 && x.received() > 0);
                assertEquals((long) x.sent() * (dim + 4 * tiles), x.lastDispatchBytes(), "E4M3 codes + one float scale per 1x128 tile per row");
                assertEquals(2L * x.received() * dim, x.lastCombineBytes(), "BF16 per element (the last one: the backward of dispatch)");
                assertEquals(2L * x.sent() * dim, x.lastGradDispatchBytes(), "the backward of combine: BF16 per element");
            }
    }
}
