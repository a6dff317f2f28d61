package dev.jseek.cli;

import dev.jseek.data.Batch;
import dev.jseek.data.DataFormatException;
import dev.jseek.data.DataLoader;
import dev.jseek.data.Manifest;
import dev.jseek.data.TokenDataset;
import dev.jseek.model.ModelConfig;
import dev.jseek.model.Presets;
import dev.jseek.model.TensorSchema;
import dev.jseek.train.ActLayout;
import dev.jseek.train.AdamW;
import dev.jseek.train.BatchRamp;
import dev.jseek.train.DataLoaderSource;
import dev.jseek.train.LossCurves;
import dev.jseek.train.LrSchedule;
import dev.jseek.train.Precision;
import dev.jseek.train.StepMetrics;
import dev.jseek.train.TokenBatch;
import dev.jseek.train.TrainCheckpoint;
import dev.jseek.train.TrainModel;
import dev.jseek.train.TrainModelTrainable;
import dev.jseek.train.TrainState;
import dev.jseek.parallel.CommException;
import dev.jseek.pipeline.PipelineTrainStep;
import dev.jseek.pipeline.StagePartition;
import dev.jseek.pipeline.RankGrid;
import dev.jseek.pipeline.Schedules;
import dev.jseek.parallel.Communicator;
import dev.jseek.parallel.MpiComm;
import dev.jseek.parallel.ThreadRanks;
import dev.jseek.train.Trainer;
import dev.jseek.train.ZeroShard;
import dev.jseek.train.ExpertShard;
import dev.jseek.train.TrainerConfig;
import dev.jseek.train.Validation;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code jseek train}: pre-trains a DeepSeek-V3 model on a prepared token directory (docs/architecture.md §7.1): AdamW, the report's
 * learning-rate / gamma / lambda schedule shapes scaled to the run, batch-size ramp by gradient accumulation,
 * global-norm clipping, optional EMA, the aux-loss-free bias update (docs/architecture.md §5.3) with the sequence-wise balance loss
 * (docs/architecture.md §5.4) or the classic batch-wise one, validation loss and bits per byte every {@code --eval-every} steps,
 * checkpoints every K steps (HF layout + optimizer + EMA + state) and {@code --resume}, metrics as JSONL, loss-curve
 * plots (PNG + HTML) at the end and a progress bar. Prints every setting at the start and a summary at the end.
 * Options can come from a file: {@code jseek train @train.args} (picocli argument file, one option per line).
 * Subcommands: {@code plot} (curves of a run directory), {@code balance-experiment} (docs/architecture.md §7.7).
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        subcommands = {TrainPlotCommand.class, BalanceExperimentCommand.class},
        description = {"Pre-train a DeepSeek-V3 model on a prepared token directory (jseek data prepare).",
                "Options may be read from a file: jseek train @train.args (one option or value per line; # comments)."})
public final class TrainCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin RunOptions run;
    @Option(names = "--data", description = "Prepared token directory (manifest.json + shards).") Path data;
    @Option(names = "--preset", description = "Model preset (tiny, small, base, 671b) for a new run.") String preset;
    @Option(names = "--config", description = "HF config.json for a new run.") Path config;
    @Option(names = "--init-from", description = "Start from the weights of this HF model directory (its config.json unless --config/--preset).") Path initFrom;
    @Mixin YarnOptions yarn;
    @Mixin BatchOptions shape;


    @Option(names = "--batch-start", description = "Batch-size ramp: sequences per step at the start (default = --batch, no ramp).") Integer batchStart;
    @Option(names = "--batch-ramp-tokens", defaultValue = "0", description = "Tokens over which the batch ramps linearly to --batch.") long rampTokens;
    @Option(names = "--steps", description = "Train until this many steps (required).") Long steps;
    @Mixin ScheduleOptions schedules;
    @Option(names = "--balance-loss", defaultValue = "seq", description = "seq: sequence-wise balance loss (docs/architecture.md §5.4), batch: classic batch-wise auxiliary loss (default ${DEFAULT-VALUE}).") String balanceLoss;
    @Option(names = "--moments", defaultValue = "auto", description = "Storage of the AdamW moments: fp32, bf16, or auto = bf16 with --precision fp8 (as the report), fp32 otherwise (default ${DEFAULT-VALUE}).") String moments;
    @Option(names = "--bf16-moments", description = "Same as --moments bf16.") boolean bf16Moments;
    @Option(names = "--ema-decay", defaultValue = "0", description = "Parameter EMA decay, 0 = none (default ${DEFAULT-VALUE}).") double emaDecay;
    @Option(names = "--init-std", defaultValue = "0.006", description = "Init std of matrices (default ${DEFAULT-VALUE}, as the report).") float initStd;
    @Mixin ValidationOptions validation;
    @Option(names = "--on-nonfinite", defaultValue = "skip", description = "skip or stop on a NaN/Inf loss or gradient (default ${DEFAULT-VALUE}).") String onNonFinite;
    @Option(names = "--no-recompute", description = "Keep every activation instead of recomputing RMSNorm outputs and MLA up-projections in backward (docs/architecture.md §7.1; recompute is on by default, same results, smaller activation arena).") boolean noRecompute;
    @Option(names = "--ranks", defaultValue = "1", description = "Ranks as threads of this process: data parallel (ZeRO-1; each step's micro-batches are split evenly over them), or the layout of --parallel (default ${DEFAULT-VALUE}).") int ranks;
    @Option(names = "--parallel", description = "Layout of an MPI job started with mpirun -np N ./jseek train ..., or of the --ranks threads: dp=N (data parallel, ZeRO-1, "
            + "over the N ranks), ep=M (routed experts sharded over M ranks, each rank training on its own micro-batches), or dp=N,ep=M (N x M ranks: "
            + "N replicas of the experts, each an expert-parallel group of M consecutive ranks); add ranks-per-node=R,max-nodes=K for node-limited "
            + "routing (each token's experts on at most K nodes of R EP ranks; replaces the group-limited gate); or pp=N (pipeline parallel over N ranks, "
            + "with --schedule), alone or as pp=P,dp=D,ep=E (P x D x E ranks: D x E pipeline replicas, ZeRO-1 over each stage's D x E ranks, "
            + "experts sharded over E consecutive ranks).") String parallel;
    @Option(names = "--schedule", description = "Pipeline schedule of --parallel pp=N (report §3.2.1): 1f1b, zb1p, dualpipe (needs an even number of "
            + "micro-batches per step >= 2 pp) or dualpipev (two stages per rank; micro-batches >= 2 pp) (default 1f1b).") String schedule;

    /** What a finished run did (for {@link BalanceExperimentCommand} and tests). */
    public record Outcome(long firstStep, long lastStep, long tokens, double seconds, double trainSeconds, StepMetrics last,
                          StepMetrics lastValidation, Path checkpoint, Path metrics, LossCurves.Written plots) {}

    private Outcome outcome;

    /**
     * A train command with every option at its default (as parsed from no arguments) printing to {@code out}/{@code err},
     * for Java callers (quickstart, balance-experiment) that set the options as fields and then {@link #call()} it;
     * {@code args} are further options to parse first.
     *
     * @throws CommandLine.ParameterException when {@code args} are not train options
     */
    static TrainCommand withDefaults(PrintWriter out, PrintWriter err, String... args) {
        TrainCommand tc = new TrainCommand();
        CommandLine cl = new CommandLine(tc);
        cl.setOut(out);
        cl.setErr(err);
        cl.parseArgs(args);
        return tc;
    }

    /** The outcome of the last {@link #call()}, or null. */
    public Outcome outcome() { return outcome; }

    @Override public Integer call() {
        if (data == null || run.out == null || steps == null)
            throw new UserException("jseek train needs --data, --out and --steps (or a subcommand: plot, balance-experiment; see --help)");
        shape.check();
        int start = batchStart == null ? shape.batch : batchStart;
        if (start < shape.micro || start % shape.micro != 0 || start > shape.batch)
            throw new UserException("--batch-start " + start + " must be a multiple of --micro-batch " + shape.micro + " and <= --batch " + shape.batch);
        if (steps < 1) throw new UserException("--steps must be >= 1, got " + steps);
        validation.check();
        run.requireAlpha();
        schedules.check();
        run.optimizer.check();
        if (!(emaDecay >= 0 && emaDecay < 1)) throw new UserException("--ema-decay must be in [0, 1), got " + emaDecay);
        if (!(initStd > 0) || Float.isInfinite(initStd)) throw new UserException("--init-std must be a finite number > 0, got " + initStd);
        boolean seqWise = switch (balanceLoss.toLowerCase(Locale.ROOT)) {
            case "seq", "sequence" -> true;
            case "batch", "classic" -> false;
            default -> throw new UserException("--balance-loss: unknown value '" + balanceLoss + "' (use seq or batch)");
        };
        TrainerConfig.NonFinitePolicy policy = switch (onNonFinite.toLowerCase(Locale.ROOT)) {
            case "skip" -> TrainerConfig.NonFinitePolicy.SKIP;
            case "stop" -> TrainerConfig.NonFinitePolicy.STOP;
            default -> throw new UserException("--on-nonfinite: unknown value '" + onNonFinite + "' (use skip or stop)");
        };
        Precision prec = run.precision();
        boolean bf16M = switch (moments.toLowerCase(Locale.ROOT)) {
            case "auto" -> bf16Moments || prec == Precision.FP8;
            case "fp32", "f32" -> {
                if (bf16Moments) throw new UserException("--bf16-moments contradicts --moments " + moments);
                yield false;
            }
            case "bf16" -> true;
            default -> throw new UserException("--moments: unknown value '" + moments + "' (use auto, fp32 or bf16)");
        };
        PrintWriter o = spec.commandLine().getOut();
        Path resumeDir = run.resumeDir(); // --resume=auto: the newest checkpoint, or a new run
        if (resumeDir == null) refuseExistingRun(run.out);
        ModelConfig c = yarn.apply(modelConfig(resumeDir), resumeDir, shape.seqLen);
        if (shape.seqLen > c.maxPositionEmbeddings())
            throw new UserException("--seq-len " + shape.seqLen + " exceeds the model's max_position_embeddings " + c.maxPositionEmbeddings()
                    + "; extend the context with --yarn-factor (see docs/training.md)");
        double total = schedules.total((double) steps * shape.batch * shape.seqLen);
        TrainerConfig cfg = run.trainerConfig(schedules.lr(total), schedules.gamma(total), schedules.lambda(total), new BatchRamp(start, shape.batch, rampTokens, shape.micro), bf16M, c, steps,
                b -> b.emaDecay(emaDecay).onNonFinite(policy).evalEvery(validation.every));
        Layout layout = layout();
        ppRanks = layout.pp();
        ppDp = layout.dp();
        epGroup = layout.ep();
        if (ppRanks > 1) checkPipeline(c, start);
        epGroup = layout.ep();
        ranksPerNode = layout.ranksPerNode();
        maxNodes = layout.maxNodes();
        if (ranksPerNode > 0 && c.numExpertsPerTok() % maxNodes != 0)
            throw new UserException("--parallel " + parallel + ": top-" + c.numExpertsPerTok() + " is not a multiple of max-nodes=" + maxNodes);
        if (epGroup > 1 && c.nRoutedExperts() % epGroup != 0)
            throw new UserException("--parallel " + parallel + ": the model's " + c.nRoutedExperts() + " routed experts do not split evenly over ep=" + epGroup + " ranks");
        if (layout.threads() == null && layout.mpi() == null) {
            outcome = trainRank(null, o, c, cfg, resumeDir, seqWise, prec, total);
        } else if (layout.mpi() != null) {
            MpiComm mc = layout.mpi();
            try {
                Outcome r = trainRank(mc, mc.rank() == 0 ? o : new PrintWriter(java.io.Writer.nullWriter()), c, cfg, resumeDir, seqWise, prec, total);
                if (mc.rank() != 0) {
                    mc.close();
                    return 0;
                }
                outcome = r;
            } catch (Throwable e) {
                mc.abort(e instanceof CommException || Jseek.isUserError(e) ? e.getMessage() : e.toString());
            }
        } else {
            try {
                outcome = ThreadRanks.run(ranks, comm -> trainRank(comm, comm.rank() == 0 ? o : new PrintWriter(java.io.Writer.nullWriter()),
                        c, cfg, resumeDir, seqWise, prec, total)).getFirst();
            } catch (CommException e) {
                throw new UserException((ppRanks > 1 ? "pipeline" : "data-parallel") + " ranks: " + e.getMessage(), e);
            }
        }
        LossCurves.Written plots = run.plots("jseek train"); // after the trainer closed the metrics log
        if (plots != null) {
            Outcome r = outcome;
            outcome = new Outcome(r.firstStep(), r.lastStep(), r.tokens(), r.seconds(), r.trainSeconds(), r.last(), r.lastValidation(),
                    r.checkpoint(), r.metrics(), plots);
        }
        printSummary(spec.commandLine().getOut(), outcome);
        if (layout.mpi() != null) layout.mpi().close();
        return 0;
    }

    /** Where the ranks come from: one process (both null), thread ranks (--ranks N > 1), or this MPI job (--parallel dp=N). */
    /**
     * A new run never writes into another run's directory: its metrics.jsonl would be cut, its checkpoints pruned in
     * favour of the old run's higher step numbers, and a later --resume would mix the two.
     */
    private static void refuseExistingRun(Path out) {
        List<Path> steps = TrainCheckpoint.list(out);
        boolean metrics = Files.exists(out.resolve("metrics.jsonl"));
        if (steps.isEmpty() && !metrics) return;
        String what = !steps.isEmpty() ? steps.size() + " checkpoint" + (steps.size() == 1 ? "" : "s") + " (newest "
                + steps.getLast().getFileName() + ")" + (metrics ? " and metrics.jsonl" : "") : "metrics.jsonl";
        throw new UserException("--out " + out + " already holds a training run: " + what + "; continue it with --resume "
                + "(or --resume=auto), or give a new --out");
    }

    /** threads: thread ranks (null: none); mpi: this MPI job (null: none); ep: ranks per expert-parallel group (1: none); pp: pipeline ranks (1: none). */
    private record Layout(Integer threads, MpiComm mpi, int ep, int ranksPerNode, int maxNodes, int pp, int dp) {}

    /** Ranks per expert-parallel group of this run (1: none); pipeline ranks (1: none); data-parallel replicas with pp. */
    private int epGroup = 1, ranksPerNode, maxNodes, ppRanks = 1, ppDp = 1;

    /** The pipeline schedule of this run (lower case). */
    private String scheduleName() { return schedule == null ? "1f1b" : schedule.toLowerCase(Locale.ROOT); }

    /** The schedule must exist and run the steps' micro-batches on the model's layers: one line before any rank starts. */
    private void checkPipeline(ModelConfig c, int start) {
        String name = scheduleName(), what = "--parallel " + parallel + " --schedule " + name;
        if (!Schedules.NAMES.contains(name))
            throw new UserException("--schedule: unknown schedule '" + schedule + "' (use " + String.join(", ", Schedules.NAMES) + ")");
        int stages = PipelineTrainStep.stagesFor(name, ppRanks), units = c.numHiddenLayers() + 2;
        if (stages > units)
            throw new UserException(what + ": " + stages + " pipeline stages for a model of " + c.numHiddenLayers() + " layers (at most " + units
                    + ": the embedding, each layer and the head)");
        int replicas = ppDp * epGroup;
        for (int seqs : start == shape.batch ? new int[]{shape.batch} : new int[]{start, shape.batch}) {
            try {
                if (seqs / shape.micro % replicas != 0)
                    throw new IllegalArgumentException(seqs / shape.micro + " micro-batches do not split evenly over the " + replicas + " pipeline replicas (dp x ep)");
                PipelineTrainStep.schedule(name, ppRanks, seqs / shape.micro / replicas);
            } catch (IllegalArgumentException e) {
                throw new UserException(what + ": " + e.getMessage() + " (a step of " + (start == seqs && start != shape.batch ? "--batch-start " : "--batch ") + seqs
                        + " / --micro-batch " + shape.micro + " = " + seqs / shape.micro + " micro-batches)", e);
            }
        }
    }

    private Layout layout() {
        if (ranks < 1 || ranks > 256) throw new UserException("--ranks must be in 1..256, got " + ranks);
        String worldSize = System.getenv("OMPI_COMM_WORLD_SIZE");
        if (parallel == null && worldSize != null && !worldSize.trim().equals("1"))
            throw new UserException("mpirun started " + worldSize.trim() + " processes but no --parallel was given: add --parallel dp="
                    + worldSize.trim() + " (without it every process would train alone into the same --out)");
        if (parallel == null && schedule != null) throw new UserException("--schedule " + schedule + " needs --parallel pp=N (pipeline parallel)");
        if (parallel == null) return new Layout(ranks == 1 ? null : ranks, null, 1, 0, 0, 1, 1);
        int dp = 0, ep = 0, perNode = 0, maxNodes = 0, pp = 0;
        for (String part : parallel.split(",")) {
            String[] kv = part.trim().split("=", 2);
            int v;
            try {
                v = kv.length == 2 ? Integer.parseInt(kv[1].trim()) : -1;
            } catch (NumberFormatException e) {
                v = -1;
            }
            if (v < 1) throw new UserException("--parallel: '" + part.trim() + "' is not NAME=N with N >= 1 (e.g. dp=2)");
            switch (kv[0].trim()) {
                case "dp" -> dp = v;
                case "ep" -> ep = v;
                case "ranks-per-node" -> perNode = v;
                case "max-nodes" -> maxNodes = v;
                case "pp" -> pp = v;
                default -> throw new UserException("--parallel: unknown dimension '" + kv[0].trim() + "' (use dp=N and/or ep=M, or pp=N)");
            }
        }
        if (pp == 0 && schedule != null) throw new UserException("--schedule " + schedule + " needs --parallel pp=N (pipeline parallel)");
        if (pp == 0 && dp == 0 && ep == 0) throw new UserException("--parallel " + parallel + ": give dp=N and/or ep=M");
        dp = Math.max(dp, 1);
        ep = Math.max(ep, 1);
        if ((perNode > 0) != (maxNodes > 0))
            throw new UserException("--parallel " + parallel + ": node-limited routing takes both ranks-per-node=R and max-nodes=M");
        if (perNode > 0 && ep % perNode != 0)
            throw new UserException("--parallel " + parallel + ": ep=" + ep + " ranks do not split into nodes of ranks-per-node=" + perNode);
        if (perNode > 0 && maxNodes > ep / perNode)
            throw new UserException("--parallel " + parallel + ": max-nodes=" + maxNodes + " exceeds the " + ep / perNode + " nodes of ep=" + ep);
        if (pp > 0) {                     // node-limited routing over each stage's expert group
            if (pp < 2) throw new UserException("--parallel pp=" + pp + ": a pipeline needs at least 2 ranks");
            int all = pp * dp * ep;
            if (ranks != 1 && ranks != all)
                throw new UserException("--parallel " + parallel + " needs " + all + " ranks, but --ranks is " + ranks + " (give --ranks " + all + ")");
            if (ranks != 1) return new Layout(ranks, null, ep, perNode, maxNodes, pp, dp);
            return new Layout(null, mpiWorld(all), ep, perNode, maxNodes, pp, dp);
        }
        int world = dp * ep;
        if (ranks != 1) {
            if (ranks != world)
                throw new UserException("--parallel " + parallel + " needs " + world + " ranks, but --ranks is " + ranks + " (give --ranks " + world + ")");
            return new Layout(ranks, null, ep, perNode, maxNodes, 1, 1);
        }
        return new Layout(null, mpiWorld(world), ep, perNode, maxNodes, 1, 1);
    }

    /** This MPI job's world, which must have {@code n} processes (the layout of --parallel); else a one-line error. */
    private MpiComm mpiWorld(int n) {
        if (!MpiComm.launchedByMpirun())
            throw new UserException("--parallel " + parallel + " runs under MPI: mpirun -np " + n + " ./jseek train ... (for threads of one process add --ranks " + n + ")");
        MpiComm mc = MpiComm.world();
        if (mc.size() != n) {
            mc.close();
            throw new UserException("--parallel " + parallel + " needs " + n + " processes but mpirun started " + mc.size() + " (mpirun -np " + n + ")");
        }
        return mc;
    }

    /** One rank's run (comm null: the single-process run); rank 0 (or the single process) prints through {@code o}. */
    private Outcome trainRank(Communicator comm, PrintWriter o, ModelConfig c, TrainerConfig cfg, Path resumeDir, boolean seqWise,
                              Precision prec, double total) {
        Outcome outcome;
        try (TokenDataset ds = openData()) {
            Manifest mf = ds.manifest();
            int dataVocab = mf.tokenizer().vocabSize();
            if (dataVocab > c.vocabSize())
                throw new UserException(data + ": tokenizer vocab " + dataVocab + " exceeds the model's vocab_size " + c.vocabSize());
            // expert parallel: each rank holds only its own routed experts (their weights, gradients and AdamW moments), and
            // its layout has micro-batch rows everywhere but in the routed experts, which hold what the rank can receive
            // (Moe.expertRows); with a pipeline the stage's model holds every expert and ep x micro sequences
            ExpertShard shard = epGroup > 1 && ppRanks == 1 ? new ExpertShard(epGroup, comm.rank() % epGroup, c.nRoutedExperts()) : null;
            // pipeline parallel: each rank holds only its stages' tensors (pipeline rank p of world rank (p D + d) E + e)
            boolean[] units = ppRanks > 1 ? PipelineTrainStep.unitsOfRank(scheduleName(), c, ppRanks, comm.rank() / (ppDp * epGroup)) : null;
            TrainModel model = run.model(c, shard != null ? shape.micro : shape.micro * epGroup, shape.seqLen, !noRecompute, seqWise, resumeDir,
                    initFrom, initStd, shard, units);
            if (epGroup > 1 && ppRanks == 1) model.setExpertParallel(comm, epGroup);   // with pp: the runner, over the stage's group
            if (ranksPerNode > 0) {
                try {
                    model.setNodeLimitedRouting(epGroup, ranksPerNode, maxNodes);
                } catch (IllegalArgumentException e) {
                    throw new UserException("--parallel " + parallel + ": " + e.getMessage(), e);
                }
            }
            DataLoader loader;
            try {
                loader = new DataLoader(ds.train(), shape.micro, shape.seqLen, run.seed, false);
            } catch (DataFormatException e) {
                throw new UserException(data + ": " + e.getMessage(), e);
            }
            // rank 0 evaluates; with expert or pipeline parallel every rank does (the forward exchanges rows with the other experts' ranks,
            // or runs through the pipeline's stages)
            Validation<TokenBatch> val = validation.every > 0 && (comm == null || comm.rank() == 0 || epGroup > 1 || ppRanks > 1) ? validation(ds, o) : null;
            DataLoaderSource source = new DataLoaderSource(loader);
            Trainer<TokenBatch> built;
            PipelineTrainStep pipe;
            try {
                pipe = ppRanks > 1 ? new PipelineTrainStep(scheduleName(), model, RankGrid.of(comm, ppRanks, ppDp, epGroup)) : null;
                built = new Trainer<>(new TrainModelTrainable(model), source, cfg, comm, pipe);
            } catch (IllegalArgumentException e) {
                throw new UserException(e.getMessage(), e);
            }
            try (Trainer<TokenBatch> t = built) {
                t.setValidation(val);
                TrainState resumed = resumeDir != null ? t.resume(resumeDir) : null;
                printSettings(o, c, model, mf, loader, cfg, val, seqWise, prec, total, resumeDir, resumed);
                if (pipe != null) {
                    int dg = pipe.dataGroup() == null ? 1 : pipe.dataGroup().size();
                    o.printf(Locale.ROOT, "  parallel   pipeline %s (%s); every rank holds the parameters and gradients of its stages, and the AdamW moments of its own stages' tensors%s%n",
                            pipe.describe(), comm.backend().equals("mpi") ? "MPI processes" : "threads of this process",
                            dg == 1 ? "" : ", 1/" + dg + " of them (ZeRO-1 over its stage's ranks)");
                    printPipelineRanks(o, comm, model, t, pipe);
                } else if (comm != null) printRanks(o, comm, model, t);
                TrainingRun.Outcome r = TrainingRun.train(t, steps);
                outcome = new Outcome(r.firstStep(), r.lastStep(), r.tokens(), r.seconds(), r.trainSeconds(), r.last(), r.lastValidation(),
                        r.checkpoint(), run.out.resolve("metrics.jsonl"), null);
            }
        }
        return outcome;
    }

    /**
     * The memory each rank holds, gathered to rank 0: parameters (and of them the routed experts'), gradients (arena +
     * reduced shard), AdamW moments, activations.
     */
    private static void printRanks(PrintWriter o, Communicator comm, TrainModel model, Trainer<TokenBatch> t) {
        ZeroShard z = t.zero();
        long experts = 0;
        for (var e : model.layout().entries()) if (ExpertShard.expertOf(e.name()) >= 0) experts += e.size();
        long[] mine = {4L * model.params().length, 4L * model.grads().length + z.gradShardBytes(), z.optimizerBytes(), model.activationBytes(),
                z.shardFloats(), 4L * experts, model.expertExchangeBytes()};
        long[] all = comm.allGather(mine);
        int k = mine.length;
        o.printf(Locale.ROOT, "  parallel   data parallel over %d ranks (%s), ZeRO-1: AdamW moments sharded, gradients reduce-scattered, parameters all-gathered%n",
                comm.size(), comm.backend().equals("mpi") ? "MPI processes" : "threads of this process");
        if (model.expertParallelGroup() > 1)
            o.printf(Locale.ROOT, "             expert parallel: routed experts sharded over groups of %d consecutive ranks (%d replicas)%s; rows per EP rank in metrics.jsonl (ep_rankQ_rows)%n",
                    model.expertParallelGroup(), comm.size() / model.expertParallelGroup(),
                    model.layout().shard() != null ? ", each rank holding only its own experts' weights, gradients and AdamW moments" : "");
        boolean ep = model.expertParallelGroup() > 1;
        o.printf(Locale.ROOT, "             rank  optimizer shard (floats)  params MiB  (routed experts)  grads MiB  optimizer MiB  activations MiB%s%n",
                ep ? "  EP exchange MiB" : "");
        for (int r = 0; r < comm.size(); r++)
            o.printf(Locale.ROOT, "             %4d  %24s  %10.2f  %16.2f  %9.2f  %13.2f  %15.2f%s%n", r, String.format(Locale.ROOT, "%,d", all[k * r + 4]),
                    all[k * r] / 1048576.0, all[k * r + 5] / 1048576.0, all[k * r + 1] / 1048576.0, all[k * r + 2] / 1048576.0, all[k * r + 3] / 1048576.0,
                    ep ? String.format(Locale.ROOT, "  %15.2f", all[k * r + 6] / 1048576.0) : "");
        o.flush();
    }

    /**
     * Per rank, gathered to rank 0: the floats of the stages it updates, its parameter, gradient (arena + reduced
     * shard) and optimizer bytes, and the activation bytes of one micro-batch on each of its stages (a slot's arena).
     */
    private static void printPipelineRanks(PrintWriter o, Communicator comm, TrainModel model, Trainer<TokenBatch> t, PipelineTrainStep pipe) {
        ZeroShard z = t.zero();
        long acts = 0;
        int rank = pipe.pipelineGroup().rank();
        StagePartition part = pipe.partition();
        for (int s : PipelineTrainStep.stagesOfRank(pipe.scheduleName(), pipe.pipelineGroup().size(), rank))
            acts += new TrainModel(model, part.first(s), part.end(s)).activationBytes();
        long[] mine = {4L * model.params().length, 4L * model.grads().length + z.gradShardBytes(), z.optimizerBytes(), acts, z.stageFloats()};
        long[] all = comm.allGather(mine);
        o.printf(Locale.ROOT, "             rank  stage floats  params MiB  grads MiB  optimizer MiB  activations MiB (1 micro-batch per stage)%n");
        for (int r = 0; r < comm.size(); r++)
            o.printf(Locale.ROOT, "             %4d  %12s  %10.2f  %9.2f  %13.2f  %15.2f%n", r, String.format(Locale.ROOT, "%,d", all[5 * r + 4]),
                    all[5 * r] / 1048576.0, all[5 * r + 1] / 1048576.0, all[5 * r + 2] / 1048576.0, all[5 * r + 3] / 1048576.0);
        o.flush();
    }

    private Validation<TokenBatch> validation(TokenDataset ds, PrintWriter o) {
        List<TokenBatch> batches = new ArrayList<>();
        Iterator<Batch> it = DataLoader.validation(ds.val(), shape.micro, shape.seqLen, false);
        while (it.hasNext() && batches.size() < validation.batches) {
            Batch b = it.next();
            batches.add(TokenBatch.fromWindows(b.rows(), b.seqLen(), b.tokens()));
        }
        if (batches.isEmpty()) {
            System.err.printf(Locale.ROOT, "jseek: warning: %s: the validation split has %d tokens, fewer than --seq-len + 1 = %d; no validation%n",
                    data, ds.val().size(), shape.seqLen + 1);
            return null;
        }
        double bpt = ds.manifest().val().bytesPerToken();
        if (Double.isNaN(bpt))
            System.err.println("jseek: warning: " + data + "/manifest.json records no text bytes (prepared by an older jseek); "
                    + "no bits per byte (rerun jseek data prepare into a new directory to get them)");
        return new Validation<>(batches, TokenBatch::tokens, bpt);
    }

    private void printSettings(PrintWriter o, ModelConfig c, TrainModel model, Manifest mf, DataLoader loader, TrainerConfig cfg,
                               Validation<TokenBatch> val, boolean seqWise, Precision prec, double total, Path resumeDir, TrainState resumed) {
        TensorSchema schema = new TensorSchema(c);
        long params = schema.trainingParameters(), active = schema.trainingActiveParameters();
        int moeLayers = model.moeLayerIds().size();
        o.printf(Locale.ROOT, "jseek train: %s%n", resumeDir == null ? "new run in " + run.out
                : "resuming " + resumeDir + " (step " + resumed.step() + ", " + String.format(Locale.ROOT, "%,d", resumed.tokens()) + " tokens)");
        o.printf(Locale.ROOT, "  model      %s: hidden %d, %d layers (%d dense), %d MoE layers incl. MTP (%d routed experts, top-%d, %d shared, %d groups/top-%d), MTP depth %d, vocab %d%n",
                preset != null ? "preset " + preset : config != null ? "config " + config : resumeDir != null ? "config of " + resumeDir : "config of " + initFrom,
                c.hiddenSize(), c.numHiddenLayers(), Math.min(c.firstKDenseReplace(), c.numHiddenLayers()), moeLayers, c.nRoutedExperts(),
                c.numExpertsPerTok(), c.nSharedExperts(), c.nGroup(), c.topkGroup(), c.numNextnPredictLayers(), c.vocabSize());
        if (c.ropeScaling() != null) {
            ModelConfig.RopeScaling y = c.ropeScaling();
            o.printf(Locale.ROOT, "  context    max_position_embeddings %d; YaRN factor %s from %d, beta_fast %s, beta_slow %s, mscale %s (softmax scale x %.4f)%s%n",
                    c.maxPositionEmbeddings(), g(y.factor()), y.originalMaxPositionEmbeddings(), g(y.betaFast()), g(y.betaSlow()), g(y.mscaleAllDim()),
                    c.softmaxScale() * Math.sqrt(c.qkHeadDim()), yarn.given() ? " (extension stage)" : "");
        }
        o.printf(Locale.ROOT, "  params     %,d (%,d active per token), init %s%n", params, active,
                resumeDir != null ? "from the checkpoint" : initFrom != null ? "from " + initFrom : "N(0, " + initStd + "^2), seed " + run.seed);
        o.printf(Locale.ROOT, "  data       %s: tokenizer %s (vocab %d); train %,d tokens (%,d windows of %d), val %,d tokens%s%n", data,
                mf.tokenizer().name(), mf.tokenizer().vocabSize(), mf.train().tokens(), loader.sequencesPerEpoch(), shape.seqLen + 1, mf.val().tokens(),
                Double.isNaN(mf.val().bytesPerToken()) ? "" : String.format(Locale.ROOT, " (%.3f bytes/token)", mf.val().bytesPerToken()));
        BatchRamp r = cfg.batch();
        o.printf(Locale.ROOT, "  batch      seq-len %d, micro-batch %d, %d sequences/step = %,d tokens/step%s%n", shape.seqLen, shape.micro, r.end(),
                (long) r.end() * shape.seqLen, r.start() == r.end() ? "" : String.format(Locale.ROOT, " (ramp from %d over %,d tokens)", r.start(), r.rampTokens()));
        o.printf(Locale.ROOT, "  steps      until %d; schedules scaled to %,.0f tokens%n", steps, total);
        o.printf(Locale.ROOT, "  lr         %s%n", describe(cfg.lr()));
        o.printf(Locale.ROOT, "  gamma      %s (aux-loss-free bias update, docs/architecture.md §5.3)%n", describe(cfg.gamma()));
        o.printf(Locale.ROOT, "  lambda     %s (MTP weight)%n", describe(cfg.lambda()));
        o.printf(Locale.ROOT, "  balance    %s%n", run.alpha > 0 ? (seqWise ? "sequence-wise" : "classic batch-wise") + " loss, alpha " + run.alpha : "no balance loss");
        AdamW.Config a = cfg.adam();
        o.printf(Locale.ROOT, "  optimizer  AdamW beta1 %s beta2 %s eps %s weight decay %s, %s moments; clip %s; EMA %s%n", a.beta1(), a.beta2(),
                a.eps(), a.weightDecay(), a.bf16Moments() ? "BF16" : "FP32", cfg.maxGradNorm() > 0 ? cfg.maxGradNorm() : "off",
                cfg.hasEma() ? "decay " + cfg.emaDecay() : "off");
        o.printf(Locale.ROOT, "  precision  %s; seed %d; non-finite steps: %s%n", prec, run.seed, cfg.onNonFinite().name().toLowerCase(Locale.ROOT));
        ActLayout al = model.activationLayout();
        if (ppRanks > 1)                 // a pipeline rank's activations live in its stages' micro-batch slots (the table below)
            o.printf(Locale.ROOT, "  recompute  %s; activation arenas: one per micro-batch in flight on a stage, that stage's units only (per rank below)%n",
                    model.recompute() ? "on (RMSNorm outputs, MLA up-projections; docs/architecture.md §7.1)" : "off (--no-recompute)");
        else o.printf(Locale.ROOT, "  recompute  %s; activation arena %,d floats%s = %,.1f MiB saved for backward; gradient arena %,d floats%n",
                model.recompute() ? "on (RMSNorm outputs, MLA up-projections; docs/architecture.md §7.1)" : "off (--no-recompute)",
                al.actsSize(), al.fp8() ? String.format(Locale.ROOT, " + FP8 cache %,.1f MiB", (al.savedBytes() - 4.0 * al.actsSize()) / (1 << 20)) : "",
                al.savedBytes() / (double) (1 << 20), al.dactsSize());
        o.printf(Locale.ROOT, "  eval       %s%n", val == null ? "off"
                : String.format(Locale.ROOT, "every %d steps and at the end, %d val batches (%,d tokens)", validation.every, val.batches().size(),
                        val.batches().stream().mapToLong(TokenBatch::tokens).sum()));
        o.print(run.outputLine(", " + LossCurves.PNG + ", " + LossCurves.HTML));
        o.flush();
    }

    /** A schedule in the text form of {@link LrSchedule#parse} with 4 significant digits. */
    static String describe(LrSchedule s) {
        StringBuilder sb = new StringBuilder(g(s.stages().isEmpty() ? s.at(0, 0) : s.stages().getFirst().from()));
        for (LrSchedule.Stage st : s.stages())
            sb.append("; ").append(st.shape().name().toLowerCase(Locale.ROOT)).append(' ').append(g(st.end()))
                    .append(st.unit() == LrSchedule.Unit.STEPS ? 's' : 't').append(' ').append(g(st.to()));
        return sb.toString();
    }

    private static String g(double v) {
        String t = String.format(Locale.ROOT, "%.4g", v);
        if (t.contains("e")) t = t.replaceAll("\\.?0+e", "e").replace("e+0", "e").replace("e+", "e").replace("e-0", "e-");
        else if (t.contains(".")) t = t.replaceAll("\\.?0+$", "");
        return t;
    }

    private static void printSummary(PrintWriter o, Outcome r) {
        o.printf(Locale.ROOT, "trained steps %d..%d (%,d tokens) in %.1f s, %.0f tokens/s (%.0f tokens/s in training steps)%n",
                r.firstStep(), r.lastStep(), r.tokens(), r.seconds(), r.tokens() / r.seconds(), r.trainSeconds() > 0 ? r.tokens() / r.trainSeconds() : Double.NaN);
        if (r.last() != null) {
            StepMetrics m = r.last();
            o.printf(Locale.ROOT, "final train loss %.4f (main CE %.4f, MTP CE %.4f, balance %.3g) at step %d%n", m.losses().total(), m.losses().main(),
                    m.losses().mtp(), m.losses().balance(), m.step());
        }
        if (r.lastValidation() != null) {
            StepMetrics v = r.lastValidation();
            o.printf(Locale.ROOT, "validation loss %.4f%s at step %d%n", v.valLoss(),
                    Double.isFinite(v.valBpb()) ? String.format(Locale.ROOT, ", %.4f bits/byte", v.valBpb()) : "", v.step());
        }
        o.printf(Locale.ROOT, "checkpoint %s; metrics %s%s%n", r.checkpoint(), r.metrics(),
                r.plots() == null ? "" : "; plots " + r.plots().png() + ", " + r.plots().html());
        o.flush();
    }

    private TokenDataset openData() {
        try {
            return TokenDataset.open(data);
        } catch (DataFormatException | IOException e) {
            throw new UserException(data + ": cannot open the prepared token directory: " + e.getMessage(), e);
        }
    }

    private ModelConfig modelConfig(Path resumeDir) {
        if (preset != null && config != null) throw new UserException("give --preset or --config, not both");
        ModelConfig c;
        if (preset != null) c = Presets.get(preset);
        else if (config != null) c = ModelConfig.load(config);
        else if (resumeDir != null) c = ModelConfig.load(resumeDir.resolve("config.json"));
        else if (initFrom != null) c = ModelConfig.load(initFrom.resolve("config.json"));
        else throw new UserException("a new run needs --preset, --config or --init-from");
        return c;
    }
}
