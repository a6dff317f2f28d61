package dev.jseek.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jseek.model.ModelConfig;
import dev.jseek.parallel.Communicator;
import dev.jseek.parallel.ThreadRanks;
import dev.jseek.train.AdamW;
import dev.jseek.train.ParamLayout;
import dev.jseek.train.StepLosses;
import dev.jseek.train.TokenBatch;
import dev.jseek.train.TrainModel;
import dev.jseek.train.TrainTensor;
import dev.jseek.train.ZeroShard;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Pipeline combined with data and expert parallelism (issue 13): {@code pp=2 x dp=2 x ep=2} on 8 thread ranks of
 * the 6-layer tiny model (8 routed experts, 4 per expert-parallel rank) against the 1-rank model run on all of the
 * step's micro-batches in order ({@link PipelineEquivalenceTest#single}, the oracle). Each replica's pipeline runs
 * its share of the micro-batches through {@link PipelineTrainStep}; the gradients are then summed over the stage's
 * data group. The first step's per-micro-batch losses are bitwise the 1-rank ones and every gradient tensor's cosine
 * difference is below 1e-13, for 1F1B and for DualPipeV (whose F&amp;B pairs overlap one micro-batch's expert
 * all-to-all with the other's compute) with and without the overlap, the two bitwise equal; 5 steps with the ZeRO-1 optimizer over the data
 * group stay within 1e-6 relative of the 1-rank losses.
 */
class PipelineComboTest {
    static final int PP = 2, DP = 2, EP = 2, R = DP * EP, B = PipelineEquivalenceTest.B, T = PipelineEquivalenceTest.T;

    public record Out(List<double[]> losses, float[] firstGrads, float[] params) {}

    static List<TokenBatch> tokenBatches(ModelConfig c, int m, long seed) {
        List<TokenBatch> l = new ArrayList<>();
        for (PipelineRunner.MicroBatch b : PipelineEquivalenceTest.batches(c, m, seed)) l.add(new TokenBatch(B, T, b.tokens(), b.targets()));
        return l;
    }

    /** Every rank's run; each returns the step losses, the first step's data-group-summed gradient and the final weights. */
    static List<Out> combined(ModelConfig c, String name, int perReplica, int steps, int pp, int dp, int ep) {
        return combined(c, name, perReplica, steps, pp, dp, ep, null);
    }

    static List<Out> combined(ModelConfig c, String name, int perReplica, int steps, int pp, int dp, int ep, int[] nodeLimit) {
        int replicas = dp * ep, m = replicas * perReplica;
        return ThreadRanks.run(pp * dp * ep, TimeUnit.SECONDS.toNanos(60), comm -> combinedRank(comm, c, name, m, steps, pp, dp, ep, nodeLimit));
    }

    public static Out combinedRank(Communicator comm, ModelConfig c, String name, int m, int steps, int pp, int dp, int ep) {
        return combinedRank(comm, c, name, m, steps, pp, dp, ep, null);
    }

    /** nodeLimit: node-limited routing (ep ranks, ranks per node, max nodes) set on the base model as train does, null: none. */
    public static Out combinedRank(Communicator comm, ModelConfig c, String name, int m, int steps, int pp, int dp, int ep, int[] nodeLimit) {
        RankGrid g = RankGrid.of(comm, pp, dp, ep);
        TrainModel model = TrainModel.forUnits(c, B * ep, T, true, dev.jseek.train.Precision.FP32, PipelineTrainStep.unitsOfRank(name, c, pp, g.pipeline().rank()));
        model.initRandom(3, 0.1f);
        if (nodeLimit != null) model.setNodeLimitedRouting(nodeLimit[0], nodeLimit[1], nodeLimit[2]);
        PipelineTrainStep step = new PipelineTrainStep(name, model, g);
        List<TrainTensor> tensors = TrainTensor.fromLayout(model.layout());
        AdamW ref = AdamW.deepSeekV3(model.layout(), 1e-8f);
        List<String> names = model.layout().declared().stream().map(ParamLayout.Entry::name).toList();
        ZeroShard zero = ZeroShard.forStage(g.data(), g.pipeline(), names, step.owners(names), tensors, model.params().length, ref.config());
        List<double[]> losses = new ArrayList<>();
        float[] first = null;
        for (int s = 0; s < steps; s++) {
            List<StepLosses> l = step.run(tokenBatches(c, m, 100 + s), 1f / m, model.mtpLambda());
            double[] tot = new double[m];
            for (int i = 0; i < m; i++) tot[i] = l.get(i).total();
            losses.add(tot);
            if (first == null) {
                first = PipelineEquivalenceTest.assemble(g.pipeline(), model, model.grads(), step.runner().copies());
                if (g.data() != null) g.data().allReduceSum(first, 0, first.length);
            }
            zero.reduceGradients(model.grads());
            zero.step(model.params(), PipelineEquivalenceTest.LR, 1);
            step.shareParameters();
            model.updateBias(0.01f);
        }
        float[] params = PipelineEquivalenceTest.assemble(g.pipeline(), model, model.params(), step.runner().copies());
        PipelineEquivalenceTest.checkCopies(model, params, name + " rank " + comm.rank());
        return new Out(losses, first, params);
    }

    public static void checkFirstStep(ModelConfig c, String name, PipelineEquivalenceTest.Run ref, List<Out> runs, String what) {
        Out p = runs.getFirst();
        for (Out o : runs) assertTrue(java.util.Arrays.equals(p.params(), o.params()), what + ": every rank holds the same weights");
        int m = ref.losses().getFirst().length;
        for (int i = 0; i < m; i++)
            assertEquals(Double.doubleToLongBits((float) ref.losses().getFirst()[i]), Double.doubleToLongBits(p.losses().getFirst()[i]),
                    what + ": loss of micro-batch " + i + " " + ref.losses().getFirst()[i] + " vs " + p.losses().getFirst()[i]);
        ParamLayout pl = PipelineEquivalenceTest.model(c).layout();
        int experts = 0;
        for (ParamLayout.Entry e : pl.entries()) {
            if (!e.trainable()) continue;
            double d = PipelineEquivalenceTest.cosineDiff(ref.firstGrads(), p.firstGrads(), e.offset(), e.size());
            assertTrue(d < 1e-13, what + ": " + e.name() + " cosine difference " + d);
            if (e.name().contains(".experts.")) {
                experts++;
                double n = 0;
                for (int i = e.offset(); i < e.offset() + e.size(); i++) n += Math.abs(p.firstGrads()[i]);
                assertTrue(n > 0, what + ": " + e.name() + " has a gradient");
            }
        }
        assertTrue(experts > 0, "the model has routed experts");
    }

    @Test
    void firstStepOnEightRanksEqualsOneRank() {
        ModelConfig c = PipelineEquivalenceTest.config();
        PipelineEquivalenceTest.Run ref8 = PipelineEquivalenceTest.single(c, R * 2, 1), ref16 = PipelineEquivalenceTest.single(c, R * 4, 1);
        checkFirstStep(c, "1f1b", ref8, combined(c, "1f1b", 2, 1, PP, DP, EP), "1f1b pp2 dp2 ep2");
        List<Out> overlapped = combined(c, "dualpipev", 4, 1, PP, DP, EP);
        checkFirstStep(c, "dualpipev", ref16, overlapped, "dualpipev pp2 dp2 ep2 (F&B overlap)");
        String old = System.getProperty(FbOverlap.PROPERTY);
        System.setProperty(FbOverlap.PROPERTY, "false");
        try {
            List<Out> inOrder = combined(c, "dualpipev", 4, 1, PP, DP, EP);
            checkFirstStep(c, "dualpipev", ref16, inOrder, "dualpipev pp2 dp2 ep2 (pairs in order)");
            assertTrue(java.util.Arrays.equals(inOrder.getFirst().firstGrads(), overlapped.getFirst().firstGrads()),
                    "overlapping the F&B pairs changes no gradient bit");
        } finally {
            if (old == null) System.clearProperty(FbOverlap.PROPERTY);
            else System.setProperty(FbOverlap.PROPERTY, old);
        }
    }

    /**
     * Node-limited routing (report §2.1.2, §3.2.2) with a pipeline: pp=2 x ep=2 with one EP rank per node and each
     * token's experts on at most 1 node, against the 1-rank model with the same rule: the first step's losses bitwise,
     * every gradient's cosine difference below 1e-13 (DualPipeV, pairs overlapped); 5 ZB1P steps within 1e-6.
     */
    @Test
    void nodeLimitedRoutingInAPipelineEqualsOneRank() {
        ModelConfig c = PipelineEquivalenceTest.config();
        int[] limit = {EP, 1, 1};
        int steps = PipelineEquivalenceTest.STEPS;
        PipelineEquivalenceTest.Run ref = PipelineEquivalenceTest.single(c, 8, steps, dev.jseek.train.Precision.FP32, limit);
        PipelineEquivalenceTest.Run ref1 = new PipelineEquivalenceTest.Run(List.of(ref.losses().getFirst()), ref.firstGrads(), null);
        PipelineEquivalenceTest.Run plain = PipelineEquivalenceTest.single(c, 8, 1);
        assertTrue(!java.util.Arrays.equals(plain.firstGrads(), ref.firstGrads()), "the node limit changes the routing of this batch");
        checkFirstStep(c, "dualpipev", ref1, combined(c, "dualpipev", 4, 1, PP, 1, EP, limit), "dualpipev pp2 ep2 node-limited");
        List<Out> runs = combined(c, "zb1p", 4, steps, PP, 1, EP, limit);
        for (int s = 0; s < steps; s++)
            for (int i = 0; i < 8; i++) {
                double a = ref.losses().get(s)[i], b = runs.getFirst().losses().get(s)[i];
                assertEquals(a, b, 1e-6 * Math.abs(a), "node-limited zb1p pp2 ep2 step " + (s + 1) + " micro-batch " + i);
            }
    }

    @Test
    void fiveStepsWithZeroOneStayWithinOneInAMillion() {
        ModelConfig c = PipelineEquivalenceTest.config();
        int steps = PipelineEquivalenceTest.STEPS;
        PipelineEquivalenceTest.Run ref = PipelineEquivalenceTest.single(c, 2 * R, steps);
        List<Out> runs = combined(c, "zb1p", 2, steps, PP, DP, EP);
        for (Out o : runs) assertTrue(java.util.Arrays.equals(runs.getFirst().params(), o.params()), "every rank holds the same weights");
        for (int s = 0; s < steps; s++)
            for (int i = 0; i < 2 * R; i++) {
                double a = ref.losses().get(s)[i], b = runs.getFirst().losses().get(s)[i];
                assertEquals(a, b, 1e-6 * Math.abs(a), "zb1p pp2 dp2 ep2 step " + (s + 1) + " micro-batch " + i);
            }
    }

    @Test
    void aScheduleThatLeavesAWQueuedFailsTheStep() {
        ModelConfig c = PipelineEquivalenceTest.config();
        Schedule good = Schedules.byName("zb1p", 2, 2, Costs.of(1, 2, 1));
        List<List<Op>> ops = new ArrayList<>(good.ops());
        List<Op> r1 = new ArrayList<>(ops.get(1));
        Op lastW = null;
        for (Op op : r1) if (op.kind() == Op.Kind.W) lastW = op;
        r1.remove(lastW);
        ops.set(1, r1);
        Schedule bad = new Schedule("zb1p-without-a-W", 2, 2, 2, good.route(), ops);
        StagePartition part = StagePartition.byLayerCount(c.numHiddenLayers(), 2);
        RuntimeException e = assertThrows(RuntimeException.class, () -> ThreadRanks.run(2, TimeUnit.SECONDS.toNanos(20), comm -> {
            TrainModel model = PipelineEquivalenceTest.rankModel(c, bad, part, comm.rank(), B);
            new PipelineRunner(bad, part, model, comm).step(PipelineEquivalenceTest.batches(c, 2, 1), B, T, 0.5f);
            return null;
        }));
        String msg = String.valueOf(e.getMessage()) + (e.getCause() == null ? "" : " " + e.getCause().getMessage());
        assertTrue(msg.contains("rank 1: the W queue is not empty at the end of the step: " + lastW + " never ran"), msg);
    }
}
