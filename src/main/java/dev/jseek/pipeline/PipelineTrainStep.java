package dev.jseek.pipeline;

import dev.jseek.parallel.Communicator;
import dev.jseek.train.PipelineStep;
import dev.jseek.train.StepLosses;
import dev.jseek.train.TokenBatch;
import dev.jseek.train.TrainModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A {@link PipelineRunner} as the {@link dev.jseek.train.Trainer}'s step (report §3.2.1): the schedule {@code name}
 * over the ranks of {@code comm}, its stages split by layer count ({@link StagePartition#byLayerCount}), built for
 * the number of micro-batches of each step (a batch ramp changes it; the runner is rebuilt then). ZB1P's greedy
 * schedule is built for the estimate F = 1, B = 2, W = 1 (the backward twice the forward, half of it the weight
 * gradient).
 */
public final class PipelineTrainStep implements PipelineStep<TokenBatch> {
    /** The costs ZB1P's schedule is built for. */
    public static final Costs COSTS = Costs.of(1, 2, 1);

    private final String name;
    private final TrainModel base;
    private final Communicator comm;
    private final int stages;
    private final StagePartition part;
    private PipelineRunner runner;

    /** Schedule {@code name} on the {@code comm.size()} ranks of comm (DualPipeV: 2 stages per rank, else 1). */
    public PipelineTrainStep(String name, TrainModel base, Communicator comm) {
        this.name = name.toLowerCase(Locale.ROOT);
        if (!Schedules.NAMES.contains(this.name))
            throw new IllegalArgumentException("unknown schedule '" + name + "' (expected one of " + String.join(", ", Schedules.NAMES) + ")");
        this.base = base;
        this.comm = comm;
        this.stages = stagesFor(this.name, comm.size());
        this.part = StagePartition.byLayerCount(base.config().numHiddenLayers(), stages);
    }

    /** Pipeline stages of schedule {@code name} on {@code ranks} ranks: DualPipeV holds two per rank. */
    public static int stagesFor(String name, int ranks) { return name.equalsIgnoreCase("dualpipev") ? 2 * ranks : ranks; }

    /** The schedule for {@code microBatches} micro-batches on {@code ranks} ranks (IllegalArgumentException when it cannot run). */
    public static Schedule schedule(String name, int ranks, int microBatches) {
        return Schedules.byName(name, stagesFor(name, ranks), microBatches, COSTS);
    }

    @Override public void check(int microBatches) { schedule(name, comm.size(), microBatches); }

    @Override public String describe() {
        StringBuilder sb = new StringBuilder();
        for (int s = 0; s < stages; s++) sb.append(s == 0 ? "" : ", ").append(part.first(s)).append("..").append(part.end(s) - 1);
        return String.format(Locale.ROOT, "%s over %d ranks, %d stages (units: 0 = embedding, 1..%d blocks, %d = head): %s",
                name, comm.size(), stages, base.config().numHiddenLayers(), part.units() - 1, sb);
    }

    @Override public List<StepLosses> run(List<TokenBatch> batches, float gradScale, float mtpLambda) {
        int m = batches.size();
        if (runner == null || runner.schedule().microBatches() != m)
            runner = new PipelineRunner(schedule(name, comm.size(), m), part, base, comm);
        runner.setMtpLambda(mtpLambda);
        TokenBatch first = batches.getFirst();
        List<PipelineRunner.MicroBatch> mbs = new ArrayList<>(m);
        for (TokenBatch b : batches) {
            if (b.rows() != first.rows() || b.seqLen() != first.seqLen())
                throw new IllegalArgumentException("pipeline micro-batches differ in shape: " + b.rows() + "x" + b.seqLen() + " vs " + first.rows() + "x" + first.seqLen());
            mbs.add(new PipelineRunner.MicroBatch(b.inputs(), b.targets()));
        }
        PipelineRunner.StepResult r = runner.step(mbs, first.rows(), first.seqLen(), gradScale);
        List<StepLosses> out = new ArrayList<>(m);
        // the total rounded to float as TrainModel#forwardBackward returns it, so the sums match the 1-rank step
        for (int i = 0; i < m; i++) out.add(new StepLosses((float) r.total()[i], r.main()[i], r.mtp()[i], r.balance()[i]));
        return out;
    }
}
