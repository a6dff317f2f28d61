package dev.jseek.posttrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jseek.model.Presets;
import dev.jseek.train.TokenBatch;
import dev.jseek.train.TrainModel;
import dev.jseek.train.TrainModelTrainable;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** {@code jseek sft --pack}: each packed conversation gets the loss (every token's log-probability, MTP CE) it has alone. */
class PackedSftTest {
    private static SftExample example(SplittableRandom r, int len) {
        int[] t = new int[len];
        boolean[] a = new boolean[len];
        for (int i = 0; i < len; i++) { t[i] = 18 + r.nextInt(400); a[i] = i >= len / 3; }
        return new SftExample(t, a);
    }

    @Test void packedBatchGivesEachSampleItsOwnLoss() {
        SplittableRandom r = new SplittableRandom(4);
        List<SftExample> ex = List.of(example(r, 13), example(r, 21), example(r, 9));
        int seqLen = 48;
        SftBatchSource packed = new SftBatchSource(ex, 1, seqLen, 2, 2, true, 1);
        TokenBatch pb = packed.next();
        assertNotNull(pb.docStarts());
        assertEquals(1, pb.rows());
        TrainModel m = new TrainModel(Presets.get("tiny"), 1, seqLen);
        m.initRandom(3, 0.05f);
        m.setBalanceAlpha(0f);
        // which examples, in which order, the row holds: recover from the document starts
        int[] ds = pb.docStarts();
        List<Integer> starts = new ArrayList<>();
        for (int t = 0; t < pb.seqLen(); t++) if (ds[t] == t) starts.add(t);
        m.setDocuments(pb.documents());
        double[] lpPacked = m.forwardLogProbs(pb.inputs(), pb.targets(), 1, pb.seqLen());
        m.resetExpertLoad();
        // the same row without the mask: the later conversations see the earlier ones, so their losses change
        m.setDocuments(null);
        double[] lpOpen = m.forwardLogProbs(pb.inputs(), pb.targets(), 1, pb.seqLen());
        m.resetExpertLoad();
        double maxOpenDiff = 0;
        int matched = 0;
        for (int i = 0; i < 3; i++) {
            int s0 = starts.get(i);
            SftExample e = null;
            for (SftExample c : ex) if (c.tokens()[0] == pb.inputs()[s0] && c.tokens()[1] == pb.inputs()[s0 + 1]) e = c;
            assertNotNull(e);
            TokenBatch alone = SftBatchSource.batch(List.of(List.of(e)), e.length() - 1, 2, false);
            assertNull(alone.docStarts());
            double[] lp = m.forwardLogProbs(alone.inputs(), alone.targets(), 1, alone.seqLen());
            m.resetExpertLoad();
            for (int t = 0; t < e.length() - 1; t++) {
                assertEquals(alone.targets()[t], pb.targets()[s0 + t]);
                if (alone.targets()[t] < 0) continue;
                assertEquals(lp[t], lpPacked[s0 + t], 2e-5, "example at " + s0 + ", position " + t);
                if (i > 0) maxOpenDiff = Math.max(maxOpenDiff, Math.abs(lp[t] - lpOpen[s0 + t]));
                matched++;
            }
        }
        assertTrue(matched > 20);
        assertTrue(maxOpenDiff > 1e-3, "without the mask the later samples' losses differ: " + maxOpenDiff);
    }

    /** The full training step (main CE + MTP CE through the Trainable) of a packed row equals the per-sample losses' weighted mean. */
    @Test void trainingStepLossesMatchSamplesAlone() {
        SplittableRandom r = new SplittableRandom(8);
        List<SftExample> ex = List.of(example(r, 11), example(r, 17));
        SftBatchSource packed = new SftBatchSource(ex, 1, 40, 2, 2, true, 1);
        TokenBatch pb = packed.next();
        TrainModel m = new TrainModel(Presets.get("tiny"), 1, 40);
        m.initRandom(5, 0.05f);
        m.setBalanceAlpha(0f);
        TrainModelTrainable tr = new TrainModelTrainable(m);
        tr.evalLoss(pb);
        double mainPacked = m.lastMainLoss(), mtpPacked = m.lastMtpLosses()[0];
        double mainSum = 0, mtpSum = 0;
        long mainN = 0, mtpN = 0;
        for (SftExample e : ex) {
            TokenBatch alone = SftBatchSource.batch(List.of(List.of(e)), e.length() - 1, 2, false);
            tr.evalLoss(alone);
            int n = 0, k = 0;
            for (int t = 0; t < alone.seqLen(); t++) if (alone.targets()[t] >= 0) n++;
            for (int t = 0; t + 1 < alone.seqLen(); t++) if (alone.targets()[t + 1] >= 0) k++;
            mainSum += m.lastMainLoss() * n;
            mtpSum += m.lastMtpLosses()[0] * k;
            mainN += n;
            mtpN += k;
        }
        assertEquals(mainSum / mainN, mainPacked, 2e-5);
        assertEquals(mtpSum / mtpN, mtpPacked, 2e-5);
    }
}
