package dev.jseek.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jseek.model.ModelConfig;
import dev.jseek.model.TensorSchema;
import dev.jseek.parallel.ThreadRanks;
import dev.jseek.train.AdamW;
import dev.jseek.train.GradClip;
import dev.jseek.train.ParamLayout;
import dev.jseek.train.Precision;
import dev.jseek.train.StepLosses;
import dev.jseek.train.TrainModel;
import dev.jseek.train.TrainTensor;
import dev.jseek.train.ZeroShard;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Each pipeline rank holds the parameters and gradients of only its stages, and keeps optimizer state for, and
 * updates, only the tensors it owns (issue 13: {@link TrainModel#forUnits}, stage-mode {@link ZeroShard} as the
 * trainer builds it from {@link PipelineTrainStep#owners}, {@link StageCopies}). Oracles: the floats a rank's arena
 * and its optimizer hold are counted from the {@link TensorSchema}'s tensors by their layer (not through the
 * partition's own unit mapping): its stages' units, plus the embedding where it runs the MTP head without it (report
 * Table 2: 1x a stage for 1F1B, 2x for DualPipe's two mirrored stages); after every step of PP4 1F1B, DualPipe and
 * DualPipeV the weights assembled from the owners equal bitwise those of a full-arena {@link AdamW} clipped by
 * {@link GradClip#globalNorm} on the same summed gradients, every copy equals its owner's, and each rank's AdamW
 * moments are bitwise that AdamW's at its tensors.
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

    record Out(int stageFloats, long optBytes, long arenaFloats, long gradFloats, boolean same, boolean momentsSame) {}

    static List<Out> run(String name, int ranks, int m, int steps) {
        ModelConfig c = PipelineEquivalenceTest.config();
        return ThreadRanks.run(ranks, TimeUnit.SECONDS.toNanos(60), comm -> {
            TrainModel model = TrainModel.forUnits(c, B, T, true, Precision.FP32, PipelineTrainStep.unitsOfRank(name, c, ranks, comm.rank()));
            model.initRandom(3, 0.1f);
            TrainModel whole = PipelineEquivalenceTest.model(c);          // the oracle's layout and initial weights
            PipelineTrainStep step = new PipelineTrainStep(name, model, comm);
            List<TrainTensor> tensors = TrainTensor.fromLayout(model.layout()), all = TrainTensor.fromLayout(whole.layout());
            List<String> names = model.layout().declared().stream().map(ParamLayout.Entry::name).toList();
            AdamW oracle = AdamW.deepSeekV3(whole.layout(), 1e-8f);
            ZeroShard zero = ZeroShard.forStage(step.dataGroup(), step.pipelineGroup(), names, step.owners(names), tensors, model.params().length, oracle.config());
            float[] shadow = whole.params();
            boolean same = true;
            for (int s = 0; s < steps; s++) {
                List<StepLosses> l = step.run(PipelineComboTest.tokenBatches(c, m, 100 + s), 1f / m, model.mtpLambda());
                assertEquals(m, l.size());
                float[] grads = PipelineEquivalenceTest.assemble(comm, model, model.grads(), step.runner().copies());
                double ref = GradClip.globalNorm(grads, all);
                oracle.step(shadow, grads, PipelineEquivalenceTest.LR, GradClip.coefficient(ref, 0.5));
                zero.reduceGradients(model.grads());
                double norm = zero.globalNorm();
                assertEquals(Double.doubleToLongBits(ref), Double.doubleToLongBits(norm), "global norm bitwise");
                zero.step(model.params(), PipelineEquivalenceTest.LR, GradClip.coefficient(norm, 0.5));
                step.shareParameters();
                float[] params = PipelineEquivalenceTest.assemble(comm, model, model.params(), step.runner().copies());
                PipelineEquivalenceTest.checkCopies(model, params, name + " rank " + comm.rank());
                same &= java.util.Arrays.equals(shadow, params);
                model.updateBias(0.01f);       // the routing bias moves outside AdamW
                System.arraycopy(PipelineEquivalenceTest.assemble(comm, model, model.params(), step.runner().copies()), 0, shadow, 0, shadow.length);
            }
            boolean moments = true;
            List<TrainTensor> mine = zero.shardTensors();
            for (TrainTensor t : mine) {
                long o = whole.layout().offset(t.name());
                for (int i = 0; i < t.size(); i++) {
                    moments &= zero.optimizer().firstMoment().getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, t.offset() + i)
                            == oracle.firstMoment().getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, o + i);
                    moments &= zero.optimizer().secondMoment().getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, t.offset() + i)
                            == oracle.secondMoment().getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, o + i);
                }
            }
            assertTrue(zero.sharded(), "no rank holds the whole model: checkpoints are written per rank");
            return new Out(zero.stageFloats(), zero.optimizerBytes(), model.params().length, model.grads().length, same, moments);
        });
    }

    static void check(String name, int ranks, List<Out> outs) {
        ModelConfig c = PipelineEquivalenceTest.config();
        long[] unit = schemaUnitFloats(c);
        int stages = PipelineTrainStep.stagesFor(name, ranks), L = c.numHiddenLayers();
        StagePartition part = StagePartition.byLayerCount(L, stages);
        long whole = 0;
        for (long u : unit) whole += u;
        long sum = 0;
        for (int r = 0; r < ranks; r++) {
            Out o = outs.get(r);
            long expect = 0, held = 0;
            boolean embed = false, head = false;
            for (int s = 0; s < stages; s++) {
                if (PipelineTrainStep.stagesOfRank(name, ranks, r).contains(s))
                    for (int u = part.first(s); u < part.end(s); u++) { held += unit[u]; embed |= u == 0; head |= u == L + 1; }
                if (PipelineTrainStep.ownerOfStage(s, stages, ranks) != r) continue;
                for (int u = part.first(s); u < part.end(s); u++) expect += unit[u];
            }
            if (head && !embed) held += unit[0];        // the MTP modules read the embedding
            assertEquals(held, o.arenaFloats(), name + " rank " + r + ": the parameter arena holds its stages' tensors only");
            assertEquals(held, o.gradFloats(), name + " rank " + r + ": and so does the gradient arena");
            if (PipelineTrainStep.stagesOfRank(name, ranks, r).size() < stages) assertTrue(held < whole, name + " rank " + r + " holds less than the whole model");
            assertEquals(expect, o.stageFloats(), name + " rank " + r + ": floats of its stages");
            assertEquals(8L * expect, o.optBytes(), name + " rank " + r + ": FP32 AdamW moments of its stages only");
            assertTrue(o.same(), name + " rank " + r + ": weights bitwise those of the full-arena AdamW");
            assertTrue(o.momentsSame(), name + " rank " + r + ": moments bitwise the full-arena AdamW's");
            sum += o.stageFloats();
        }
        assertEquals(whole, sum, name + ": the owners partition the model");
    }

    @Test void pp4RankKeepsItsStagesOptimizerState() {
        List<Out> outs = run("1f1b", 4, 4, 2);
        check("1f1b", 4, outs);
        // a PP4 rank's share is about a quarter of the model (the tiny model's embedding and head make the ends heavier)
        long max = 0, whole = 0;
        for (long u : schemaUnitFloats(PipelineEquivalenceTest.config())) whole += u;
        for (Out o : outs) max = Math.max(max, o.arenaFloats());
        assertTrue(max < 0.6 * whole, "largest rank arena " + max + " of " + whole);
    }

    @Test void dualPipeRankHoldsTwoMirroredStages() {
        check("dualpipe", 4, run("dualpipe", 4, 8, 2));
    }

    @Test void dualPipeVRankKeepsItsTwoStages() {
        check("dualpipev", 2, run("dualpipev", 2, 4, 2));
    }
}
