package dev.jseek.pipeline;

import dev.jseek.model.ModelConfig;
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
 *
 * <p>Combined with data and expert parallelism ({@link RankGrid}, {@code --parallel pp=P,dp=D,ep=E}): each step's
 * micro-batches are split into D x E contiguous shares, replica j's pipeline group runs the j-th share, the MoE
 * layers shard their experts over the stage's expert-parallel group, the gradients are summed over the pipeline
 * group here and over the stage's data group by the trainer's ZeRO-1 optimizer ({@link #dataGroup()}), and the
 * losses and expert loads are gathered in micro-batch order, so the step is that of one rank.
 */
public final class PipelineTrainStep implements PipelineStep<TokenBatch> {
    /** The costs ZB1P's schedule is built for. */
    public static final Costs COSTS = Costs.of(1, 2, 1);

    private final String name;
    private final TrainModel base;
    private final Communicator comm;
    private final RankGrid grid;
    private final int stages;
    private final StagePartition part;
    private PipelineRunner runner;

    /** Schedule {@code name} on the {@code comm.size()} ranks of comm (DualPipeV: 2 stages per rank, else 1). */
    public PipelineTrainStep(String name, TrainModel base, Communicator comm) { this(name, base, RankGrid.of(comm, comm.size(), 1, 1)); }

    /**
     * Schedule {@code name} over the pipeline groups of {@code grid}; with ep &gt; 1 the base model's experts are
     * sharded over the grid's expert group (its maxBatch must cover ep micro-batches).
     */
    public PipelineTrainStep(String name, TrainModel base, RankGrid grid) {
        Communicator comm = grid.pipeline();
        this.grid = grid;
        this.name = name.toLowerCase(Locale.ROOT);
        if (!Schedules.NAMES.contains(this.name))
            throw new IllegalArgumentException("unknown schedule '" + name + "' (expected one of " + String.join(", ", Schedules.NAMES) + ")");
        this.base = base;
        this.comm = comm;
        this.stages = stagesFor(this.name, comm.size());
        this.part = StagePartition.byLayerCount(base.config().numHiddenLayers(), stages);
    }

    /**
     * The pipeline units whose parameters pipeline rank {@code rank} of schedule {@code name} on {@code ranks} ranks
     * holds (its stages', split by layer count as this step splits them): build its model with
     * {@link TrainModel#forUnits}.
     */
    public static boolean[] unitsOfRank(String name, ModelConfig c, int ranks, int rank) {
        int stages = stagesFor(name, ranks);
        StagePartition part = StagePartition.byLayerCount(c.numHiddenLayers(), stages);
        return part.unitsOf(stagesOfRank(name, ranks, rank));
    }

    /** The stages pipeline rank {@code rank} of schedule {@code name} on {@code ranks} ranks runs (the same for any number of micro-batches). */
    public static List<Integer> stagesOfRank(String name, int ranks, int rank) { return schedule(name, ranks, 2 * ranks).stagesOf(rank); }

    /** The schedule's name (lower case). */
    public String scheduleName() { return name; }

    /** Pipeline stages of schedule {@code name} on {@code ranks} ranks: DualPipeV holds two per rank. */
    public static int stagesFor(String name, int ranks) { return name.equalsIgnoreCase("dualpipev") ? 2 * ranks : ranks; }

    /** The schedule for {@code microBatches} micro-batches on {@code ranks} ranks (IllegalArgumentException when it cannot run). */
    public static Schedule schedule(String name, int ranks, int microBatches) {
        return Schedules.byName(name, stagesFor(name, ranks), microBatches, COSTS);
    }

    @Override public void check(int microBatches) {
        int R = grid.replicas();
        if (microBatches % R != 0)
            throw new IllegalArgumentException(microBatches + " micro-batches per step do not split evenly over the " + R + " pipeline replicas (dp x ep)");
        int m = microBatches / R;
        if (R > 1 && 3L * m * stages + 3 > dev.jseek.parallel.SubComm.USER_TAGS)
            throw new IllegalArgumentException(m + " micro-batches per pipeline replica over " + stages + " stages exceed the transfer tags of a pipeline group (at most "
                    + (dev.jseek.parallel.SubComm.USER_TAGS - 3) / (3 * stages) + " with dp x ep > 1)");
        schedule(name, comm.size(), m);
    }

    @Override public Communicator dataGroup() { return grid.data(); }

    @Override public Communicator pipelineGroup() { return comm; }

    /**
     * Each tensor's owner: the rank running the stage of its unit on micro-batch 0's route (DualPipe: stage s on
     * rank s, its mirrored copy on rank P-1-s only computes; DualPipeV: stages s and 2P-1-s on rank s).
     */
    @Override public int[] owners(List<String> names) {
        int L = base.config().numHiddenLayers(), P = comm.size();
        int[] o = new int[names.size()];
        for (int i = 0; i < o.length; i++) o[i] = ownerOfStage(part.stageOf(StagePartition.unitOf(names.get(i), L)), stages, P);
        return o;
    }

    /** The rank that updates stage s of {@code stages} on {@code ranks} ranks (micro-batch 0's route of every schedule). */
    public static int ownerOfStage(int s, int stages, int ranks) { return s < ranks ? s : stages - 1 - s; }

    /** Sends the owners' updated tensors to the ranks holding copies of them (after the optimizer step). */
    @Override public void shareParameters() {
        if (runner == null) throw new IllegalStateException("parameters shared before the first pipeline step");
        runner.shareParameters();
    }

    /** The main cross-entropy of one batch run through the pipeline, forward only (collective over every rank of the grid). */
    @Override public double evalLoss(TokenBatch b) {
        if (runner == null) throw new IllegalStateException("a pipeline evaluates after its first step");
        return runner.evalLoss(new PipelineRunner.MicroBatch(b.inputs(), b.targets()), b.rows(), b.seqLen());
    }

    /** The runner of the last step (null before the first). */
    public PipelineRunner runner() { return runner; }

    /** The stage partition. */
    public StagePartition partition() { return part; }

    @Override public String describe() {
        StringBuilder sb = new StringBuilder();
        for (int s = 0; s < stages; s++) sb.append(s == 0 ? "" : ", ").append(part.first(s)).append("..").append(part.end(s) - 1);
        return String.format(Locale.ROOT, "%s over %d ranks, %d stages (units: 0 = embedding, 1..%d blocks, %d = head): %s%s",
                name, comm.size(), stages, base.config().numHiddenLayers(), part.units() - 1, sb,
                grid.replicas() > 1 ? "; layout " + grid.describe() : "");
    }

    @Override public List<StepLosses> run(List<TokenBatch> all, float gradScale, float mtpLambda) {
        int R = grid.replicas(), m = all.size() / R, j = grid.replica();
        if (all.size() % R != 0) check(all.size());            // the one-line reason
        List<TokenBatch> batches = all.subList(j * m, (j + 1) * m);
        if (runner == null || runner.schedule().microBatches() != m) {
            check(all.size());
            runner = new PipelineRunner(schedule(name, comm.size(), m), part, base, comm, grid.expert());
        }
        runner.setMtpLambda(mtpLambda);
        TokenBatch first = batches.getFirst();
        List<PipelineRunner.MicroBatch> mbs = new ArrayList<>(m);
        for (TokenBatch b : batches) {
            if (b.rows() != first.rows() || b.seqLen() != first.seqLen())
                throw new IllegalArgumentException("pipeline micro-batches differ in shape: " + b.rows() + "x" + b.seqLen() + " vs " + first.rows() + "x" + first.seqLen());
            mbs.add(new PipelineRunner.MicroBatch(b.inputs(), b.targets()));
        }
        PipelineRunner.StepResult r = runner.step(mbs, first.rows(), first.seqLen(), gradScale);
        double[] mine = new double[4 * m];
        for (int i = 0; i < m; i++) { mine[4 * i] = r.total()[i]; mine[4 * i + 1] = r.main()[i]; mine[4 * i + 2] = r.mtp()[i]; mine[4 * i + 3] = r.balance()[i]; }
        double[] got = R == 1 ? mine : grid.data().allGather(mine);      // replica order = micro-batch order
        if (R > 1) sumLoadsOverReplicas();
        List<StepLosses> out = new ArrayList<>(R * m);
        // the total rounded to float as TrainModel#forwardBackward returns it, so the sums match the 1-rank step
        for (int i = 0; i < R * m; i++) out.add(new StepLosses((float) got[4 * i], got[4 * i + 1], got[4 * i + 2], got[4 * i + 3]));
        return out;
    }

    /** The expert loads of the step, summed over the replicas (the runner summed them over the pipeline group). */
    private void sumLoadsOverReplicas() {
        long[][] local = base.expertLoad();
        if (local.length == 0) return;
        int e = local[0].length;
        long[] flat = new long[local.length * e];
        for (int l = 0; l < local.length; l++) System.arraycopy(local[l], 0, flat, l * e, e);
        long[] all = grid.data().allGather(flat);
        long[][] sum = new long[local.length][e];
        for (int q = 0; q < grid.replicas(); q++)
            for (int l = 0; l < local.length; l++)
                for (int k = 0; k < e; k++) sum[l][k] += all[q * flat.length + l * e + k];
        base.setExpertLoad(sum);
    }
}
