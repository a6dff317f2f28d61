package dev.jseek.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jseek.model.ModelConfig;
import dev.jseek.model.TensorSchema;
import dev.jseek.parallel.ThreadRanks;
import dev.jseek.train.AdamW;
import dev.jseek.train.GradClip;
import dev.jseek.train.StepLosses;
import dev.jseek.train.TrainModel;
import dev.jseek.train.TrainTensor;
import dev.jseek.train.ZeroShard;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Each pipeline rank keeps optimizer state for, and updates, only its own stages' tensors (issue 13, stage-mode
 * {@link ZeroShard} as the trainer builds it from {@link PipelineTrainStep#owners}). Oracles: the floats a rank
 * shards are its stages' share counted from the {@link TensorSchema}'s tensors by their layer (not through the
 * partition's own unit mapping); after every step of PP4 1F1B and of DualPipeV on 2 ranks, the weights equal
 * bitwise those of a full-arena {@link AdamW} clipped by {@link GradClip#globalNorm} on the same summed gradients,
 * and the optimizer gathered for a checkpoint has bitwise that AdamW's moments.
 */
class PipelineMemoryTest {
    static final int B = PipelineEquivalenceTest.B, T = PipelineEquivalenceTest.T;

    /** Floats of the schema's tensors (copies excluded) per unit: 0 embedding, 1..L blocks, L+1 MTP, final norm and head. */
    static long[] schemaUnitFloats(ModelConfig c) {
        int L = c.numHiddenLayers();
        long[] n = new long[L + 2];
        for (TensorSchema.Tensor t : new TensorSchema(c).tensors()) {
            if (t.kind() == TensorSchema.Kind.MTP_COPY) continue;
            int u = t.mtp() ? L + 1 : t.name().equals("model.embed_tokens.weight") ? 0 : t.layer() >= 0 && t.layer() < L ? t.layer() + 1 : L + 1;
            n[u] += t.elements();
        }
        return n;
    }

    record Out(int stageFloats, long optBytes, long wholeFloats, boolean same, boolean momentsSame) {}

    static List<Out> run(String name, int ranks, int m, int steps) {
        ModelConfig c = PipelineEquivalenceTest.config();
        return ThreadRanks.run(ranks, TimeUnit.SECONDS.toNanos(60), comm -> {
            TrainModel model = PipelineEquivalenceTest.model(c);
            PipelineTrainStep step = new PipelineTrainStep(name, model, comm);
            List<TrainTensor> tensors = TrainTensor.fromLayout(model.layout());
            AdamW oracle = AdamW.deepSeekV3(model.layout(), 1e-8f);
            ZeroShard zero = ZeroShard.forStage(step.dataGroup(), step.pipelineGroup(), step.owners(tensors.stream().map(TrainTensor::name).toList()),
                    tensors, model.params().length, oracle.config());
            float[] shadow = model.params().clone();
            boolean same = true;
            for (int s = 0; s < steps; s++) {
                List<StepLosses> l = step.run(PipelineComboTest.tokenBatches(c, m, 100 + s), 1f / m, model.mtpLambda());
                assertEquals(m, l.size());
                double ref = GradClip.globalNorm(model.grads(), tensors);
                oracle.step(shadow, model.grads(), PipelineEquivalenceTest.LR, GradClip.coefficient(ref, 0.5));
                zero.reduceGradients(model.grads());
                double norm = zero.globalNorm();
                assertEquals(Double.doubleToLongBits(ref), Double.doubleToLongBits(norm), "global norm bitwise");
                zero.step(model.params(), PipelineEquivalenceTest.LR, GradClip.coefficient(norm, 0.5));
                same &= java.util.Arrays.equals(shadow, model.params());
                model.updateBias(0.01f);
                System.arraycopy(model.params(), 0, shadow, 0, shadow.length);   // the routing bias moves outside AdamW
            }
            AdamW full = zero.gatherOptimizer();
            boolean moments = true;
            if (comm.rank() == 0) moments = full.firstMoment().mismatch(oracle.firstMoment()) == -1 && full.secondMoment().mismatch(oracle.secondMoment()) == -1;
            else assertNull(full);
            return new Out(zero.stageFloats(), zero.optimizerBytes(), model.params().length, same, moments);
        });
    }

    static void check(String name, int ranks, List<Out> outs) {
        ModelConfig c = PipelineEquivalenceTest.config();
        long[] unit = schemaUnitFloats(c);
        int stages = PipelineTrainStep.stagesFor(name, ranks);
        StagePartition part = StagePartition.byLayerCount(c.numHiddenLayers(), stages);
        long whole = 0;
        for (long u : unit) whole += u;
        long sum = 0;
        for (int r = 0; r < ranks; r++) {
            Out o = outs.get(r);
            assertEquals(whole, o.wholeFloats(), "the arena holds the schema's tensors");
            long expect = 0;
            for (int s = 0; s < stages; s++) {
                if (PipelineTrainStep.ownerOfStage(s, stages, ranks) != r) continue;
                for (int u = part.first(s); u < part.end(s); u++) expect += unit[u];
            }
            assertEquals(expect, o.stageFloats(), name + " rank " + r + ": floats of its stages");
            assertEquals(8L * expect, o.optBytes(), name + " rank " + r + ": FP32 AdamW moments of its stages only");
            assertTrue(o.stageFloats() < whole, name + " rank " + r + " holds less than the whole model's optimizer state");
            assertTrue(o.same(), name + " rank " + r + ": weights bitwise those of the full-arena AdamW");
            assertTrue(o.momentsSame(), name + ": gathered moments bitwise the full-arena AdamW's");
            sum += o.stageFloats();
        }
        assertEquals(whole, sum, name + ": the stages partition the arena");
    }

    @Test void pp4RankKeepsItsStagesOptimizerState() {
        List<Out> outs = run("1f1b", 4, 4, 2);
        check("1f1b", 4, outs);
        // a PP4 rank's share is about a quarter of the model (the tiny model's embedding and head make the ends heavier)
        long max = 0;
        for (Out o : outs) max = Math.max(max, o.stageFloats());
        assertTrue(max < 0.6 * outs.getFirst().wholeFloats(), "largest stage " + max + " of " + outs.getFirst().wholeFloats());
    }

    @Test void dualPipeVRankKeepsItsTwoStages() {
        check("dualpipev", 2, run("dualpipev", 2, 4, 2));
    }
}
