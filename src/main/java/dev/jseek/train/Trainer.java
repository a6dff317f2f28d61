package dev.jseek.train;

import dev.jseek.parallel.Communicator;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * The training loop (docs/architecture.md §7.1, §5.3, §6.2). One {@link #step()}:
 * <ol>
 *   <li>batch size from the {@link BatchRamp} at the tokens seen so far; fetch that many micro-batches;</li>
 *   <li>lr, gamma, lambda from their schedules at the progress after this step (see {@link LrSchedule});</li>
 *   <li>zero grads; set lambda; forward+backward every micro-batch with gradScale 1/microBatches;</li>
 *   <li>global gradient norm; a NaN/Inf loss or norm skips the step (nothing changes but the data position and
 *       the step count) or stops with {@link NonFiniteException}, per {@link TrainerConfig#onNonFinite()};</li>
 *   <li>{@link AdamW} update with the clip coefficient; read the expert loads; aux-loss-free bias update with gamma
 *       ({@link Trainable#updateBias}); hand the parameters to the background {@link Ema};</li>
 *   <li>every {@code evalEvery} steps and at the last step of {@link #train(long)}, with a {@link Validation} set:
 *       validation loss and bits per byte (not counted in the step's time);</li>
 *   <li>metrics (JSONL, listeners, progress bar); a checkpoint every {@code checkpointEvery} steps.</li>
 * </ol>
 * Determinism: given the model, data source and config, the run is a pure function of the seed; {@link #resume}
 * from a checkpoint continues bit-identically (parameters, moments, EMA, routing biases, RNG, data position,
 * counters are all restored). Not thread-safe; the EMA worker is the only other thread.
 *
 * <p>Data parallel ({@link #Trainer(Trainable, BatchSource, TrainerConfig, Communicator)}, report §3.2): every rank
 * runs a trainer over the same data source and seed; each step's micro-batches are split into equal contiguous
 * parts by rank (rank r trains on micro-batches [r k, (r + 1) k) of the N k), and the optimizer is ZeRO-1
 * ({@link ZeroShard}). The step's losses are the per-micro-batch losses gathered and summed in micro-batch order and
 * the expert loads are summed over ranks, so the metrics, bias updates and data position are those of the 1-rank
 * step. Rank 0 alone writes metrics, the progress bar and checkpoints (full, gathered: resumable on any number of
 * ranks); every rank must call {@link #checkpoint()}, {@link #train} and {@link #resume} alike. With an expert-sharded
 * model ({@link ExpertShard}: no rank holds every expert) every rank writes its own shard ({@link ShardedCheckpoint}),
 * equally resumable on any layout.
 *
 * <p>Pipeline parallel ({@link #Trainer(Trainable, BatchSource, TrainerConfig, Communicator, PipelineStep)}, report
 * §3.2.1): every rank of the pipeline group runs a trainer over the same data source and seed and hands all of a
 * step's micro-batches to the {@link PipelineStep} together. A rank's model holds only its stages' tensors; the step
 * leaves each tensor's gradient summed over the group on its owner ({@link PipelineStep#owners}) and the expert loads
 * of the whole step. A rank keeps AdamW moments only of the tensors it owns, sharded ZeRO-1 over the stage's
 * {@link PipelineStep#dataGroup()} ({@link ZeroShard} in stage mode), and after the update the owners' tensors go to
 * the ranks holding copies ({@link PipelineStep#shareParameters}), so every held tensor has the 1-rank values.
 * Validation runs through the pipeline. Rank 0 writes metrics; every rank writes its shard of each checkpoint
 * ({@link ShardedCheckpoint}), resumable on any layout. Combined with data or expert parallelism the step's gradients
 * are those of the rank's pipeline replica.
 */
public final class Trainer<B> implements AutoCloseable {
    private final Trainable<B> model;
    private final BatchSource<B> data;
    private final TrainerConfig cfg;
    private final List<TrainTensor> tensors;
    private final AdamW adam;
    private final Ema ema;
    private final TrainRng rng;
    private final BatchRamp ramp;
    private final List<Consumer<StepMetrics>> listeners = new ArrayList<>();
    private long step, tokens, skipped;
    private int consecutiveSkips;
    private MetricsLog metrics;
    private TrainProgress progress;
    private Path lastCheckpoint;
    private Validation<B> validation;
    private long finalStep = -1;
    private final Communicator comm;
    private final ZeroShard zero;
    private final PipelineStep<B> pipeline;

    public Trainer(Trainable<B> model, BatchSource<B> data, TrainerConfig cfg) { this(model, data, cfg, null, null); }

    /** A data-parallel rank of {@code comm} (null: one process, no communication). */
    public Trainer(Trainable<B> model, BatchSource<B> data, TrainerConfig cfg, Communicator comm) { this(model, data, cfg, comm, null); }

    /**
     * A rank of the pipeline group {@code comm} when {@code pipeline} is given (it runs each step's micro-batches over
     * comm), else a data-parallel rank of {@code comm} as above.
     */
    public Trainer(Trainable<B> model, BatchSource<B> data, TrainerConfig cfg, Communicator comm, PipelineStep<B> pipeline) {
        this.model = model;
        this.data = data;
        this.cfg = cfg;
        this.tensors = List.copyOf(model.tensors());
        float[] p = model.params();
        if (model.grads().length != p.length)
            throw new IllegalArgumentException("grads arena has " + model.grads().length + " floats, params " + p.length);
        if (pipeline != null && comm == null) throw new IllegalArgumentException("a pipeline step needs its group's communicator");
        this.comm = comm;
        this.pipeline = pipeline;
        if (model.sharedEnd() < p.length && (comm == null || pipeline != null))
            throw new IllegalArgumentException("a model that holds only its expert-parallel rank's experts trains only expert parallel (not on one rank or in a pipeline)");
        this.zero = comm == null ? null
                : pipeline == null ? new ZeroShard(comm, tensors, p.length, cfg.adam(), model.sharedEnd(), model.expertParallelGroup(), model.modelTensorNames())
                : ZeroShard.forStage(pipeline.dataGroup(), pipeline.pipelineGroup(), model.modelTensorNames(), pipeline.owners(model.modelTensorNames()),
                        tensors, p.length, cfg.adam());
        this.adam = zero == null ? new AdamW(cfg.adam(), p.length, tensors) : zero.optimizer();
        this.ema = cfg.hasEma() ? new Ema(p, cfg.emaDecay()) : null;
        this.rng = new TrainRng(cfg.seed());
        int micro = data.microBatchRows();
        this.ramp = cfg.batch() != null ? cfg.batch() : BatchRamp.fixed(micro, micro);
        if (ramp.granularity() != micro)
            throw new IllegalArgumentException("batch ramp granularity " + ramp.granularity() + " differs from the data source's micro-batch rows " + micro);
        if (pipeline != null) {
            pipeline.check(ramp.start() / micro);
            if (ramp.end() != ramp.start()) pipeline.check(ramp.end() / micro);
        } else if (comm != null && (ramp.start() / micro % comm.size() != 0 || ramp.end() / micro % comm.size() != 0))
            throw new IllegalArgumentException("a step of " + ramp.start() / micro + (ramp.start() == ramp.end() ? "" : ".." + ramp.end() / micro)
                    + " micro-batches does not split evenly over " + comm.size() + " data-parallel ranks");
    }

    /** True when this trainer writes files (metrics, progress, checkpoints): always, or rank 0 of a data- or pipeline-parallel group. */
    public boolean writer() { return comm == null || comm.rank() == 0; }

    /** The ZeRO-1 shard of a data-parallel trainer (null otherwise). */
    public ZeroShard zero() { return zero; }

    /** Held-out batches evaluated every {@link TrainerConfig#evalEvery()} steps (null: none). */
    public void setValidation(Validation<B> v) { validation = v; }

    public Validation<B> validation() { return validation; }

    /** Evaluates the current parameters on the validation batches now (between steps). */
    public Validation.Result evaluate() {
        if (validation == null) throw new IllegalStateException("no validation set");
        return evaluateNow();
    }

    /** The validation result now: through the pipeline when there is one (collective over its ranks). */
    private Validation.Result evaluateNow() {
        return pipeline != null ? validation.evaluate(pipeline::evalLoss) : validation.evaluate(model);
    }

    /** Called after every step with its metrics. */
    public void addListener(Consumer<StepMetrics> l) { listeners.add(l); }

    /** Steps taken (including skipped ones). */
    public long stepsDone() { return step; }

    /** Tokens seen. */
    public long tokens() { return tokens; }

    public AdamW optimizer() { return adam; }

    /** The EMA, or null when the run keeps none. */
    public Ema ema() { return ema; }

    public TrainRng rng() { return rng; }

    /** The last checkpoint written or resumed from (null if none). */
    public Path lastCheckpoint() { return lastCheckpoint; }

    /** The run's scalar state now. */
    public TrainState state() {
        return new TrainState(step, tokens, adam.step(), ema == null ? 0 : ema.updates(), rng.state(), data.saveState(), skipped, consecutiveSkips);
    }

    /**
     * Continues from a checkpoint: {@code path} is a {@code step-N} directory or a checkpoint root (its newest valid
     * checkpoint). Restores parameters (with routing biases), optimizer, EMA, RNG, data position and counters. When the
     * checkpoint lies in this run's checkpoint directory, newer checkpoints there that fail verification are renamed
     * to {@code step-N.invalid} (so keep-last-N pruning does not count them).
     */
    public TrainState resume(Path path) {
        if (step != 0 || metrics != null) throw new IllegalStateException("resume must come before the first step");
        Path dir = TrainCheckpoint.resolve(path, cfg.warn());
        AdamW full = zero == null ? adam : new AdamW(cfg.adam(), model.params().length, tensors);
        TrainState s = TrainCheckpoint.load(dir, model.params(), tensors, full, ema, cfg.warn());
        if (zero != null) zero.loadFrom(full);
        if (writer() && cfg.checkpointDir() != null && dir.getParent() != null
                && dir.getParent().toAbsolutePath().normalize().equals(cfg.checkpointDir().toAbsolutePath().normalize()))
            TrainCheckpoint.setAsideInvalidAfter(cfg.checkpointDir(), s.step(), cfg.warn());
        data.restoreState(s.dataState());
        rng.setState(s.rngState());
        step = s.step();
        tokens = s.tokens();
        skipped = s.skippedSteps();
        consecutiveSkips = s.consecutiveSkips();
        lastCheckpoint = dir;
        return s;
    }

    /** One training step (see the class comment). */
    public StepMetrics step() {
        long t0 = System.nanoTime();
        if (metrics == null && cfg.metricsFile() != null && writer()) metrics = MetricsLog.open(cfg.metricsFile(), step);
        int nMicro = ramp.microBatches(tokens);
        if (pipeline == null && comm != null && nMicro % comm.size() != 0)
            throw new IllegalStateException("step " + (step + 1) + ": " + nMicro + " micro-batches do not split evenly over " + comm.size() + " data-parallel ranks");
        List<B> batches = new ArrayList<>(nMicro);
        long stepTokens = 0;
        for (int i = 0; i < nMicro; i++) {
            B b = data.next();
            batches.add(b);
            stepTokens += data.tokens(b);
        }
        long stepNo = step + 1, tokensAfter = tokens + stepTokens;
        double lr = cfg.lr().at(stepNo, tokensAfter);
        double gamma = cfg.gamma().at(stepNo, tokensAfter);
        double lambda = cfg.lambda().at(stepNo, tokensAfter);
        model.setMtpLambda((float) lambda);
        model.zeroGrad();
        double total = 0, main = 0, mtp = 0, bal = 0;
        float gs = 1f / nMicro;
        java.util.Map<String, Double> extra = new java.util.LinkedHashMap<>();
        if (pipeline != null) {
            List<StepLosses> per = pipeline.run(batches, gs, (float) lambda);  // gradients and expert loads of the whole step
            for (int i = 0; i < nMicro; i++) {
                StepLosses l = per.get(i);
                total += l.total();
                main += l.main();
                mtp += l.mtp();
                bal += l.balance();
                if (!model.stats(batches.get(i)).isEmpty())
                    throw new IllegalStateException("pipeline-parallel training does not gather per-batch statistics " + model.stats(batches.get(i)).keySet());
            }
            if (zero != null) zero.reduceGradients(model.grads());    // the pipeline replicas' sums, summed over the stage's data group
        } else if (comm == null) {
            for (B b : batches) {
                StepLosses l = model.forwardBackward(b, gs, rng);
                total += l.total();
                main += l.main();
                mtp += l.mtp();
                bal += l.balance();
                for (var e : model.stats(b).entrySet()) extra.merge(e.getKey(), e.getValue() / nMicro, Double::sum);
            }
        } else {
            int k = nMicro / comm.size(), first = comm.rank() * k;
            double[] mine = new double[4 * k];
            for (int i = 0; i < k; i++) {
                B b = batches.get(first + i);
                StepLosses l = model.forwardBackward(b, gs, rng);
                mine[4 * i] = l.total();
                mine[4 * i + 1] = l.main();
                mine[4 * i + 2] = l.mtp();
                mine[4 * i + 3] = l.balance();
                if (!model.stats(b).isEmpty()) throw new IllegalStateException("data-parallel training does not gather per-batch statistics " + model.stats(b).keySet());
            }
            double[] all = comm.allGather(mine);            // micro-batch order, so the sums below are the 1-rank sums
            for (int i = 0; i < nMicro; i++) {
                total += all[4 * i];
                main += all[4 * i + 1];
                mtp += all[4 * i + 2];
                bal += all[4 * i + 3];
            }
            long[][] local = model.expertLoad();
            if (local.length > 0) {
                int e = local[0].length;
                long[] flat = new long[local.length * e];
                for (int l = 0; l < local.length; l++) System.arraycopy(local[l], 0, flat, l * e, e);
                long[] gathered = comm.allGather(flat);
                long[][] sum = new long[local.length][e];
                for (int r = 0; r < comm.size(); r++)
                    for (int l = 0; l < local.length; l++)
                        for (int j = 0; j < e; j++) sum[l][j] += gathered[r * flat.length + l * e + j];
                model.setExpertLoad(sum);
                int group = model.expertParallelGroup();
                if (group > 1) {                              // load imbalance across the expert-parallel ranks
                    int per = e / group;
                    for (int q = 0; q < group; q++) {
                        long rows = 0;
                        for (long[] l : sum) for (int j = q * per; j < (q + 1) * per; j++) rows += l[j];
                        extra.put("ep_rank" + q + "_rows", (double) rows);
                    }
                }
            }
            zero.reduceGradients(model.grads());
        }
        StepLosses losses = new StepLosses(total / nMicro, main / nMicro, mtp / nMicro, bal / nMicro);
        double norm = zero == null ? GradClip.globalNorm(model.grads(), tensors) : zero.globalNorm();
        boolean finite = losses.isFinite() && Double.isFinite(norm);
        FaultPoint.reach("mid-step", stepNo);
        List<Integer> layers = model.moeLayerIds();
        long[][] load = model.expertLoad();
        double[] vio = new double[load.length];
        for (int i = 0; i < load.length; i++) vio[i] = StepMetrics.maxVio(load[i]);
        if (finite) {
            if (zero == null) adam.step(model.params(), model.grads(), lr, GradClip.coefficient(norm, cfg.maxGradNorm()));
            else zero.step(model.params(), lr, GradClip.coefficient(norm, cfg.maxGradNorm()));
            if (pipeline != null) pipeline.shareParameters();    // the owners' tensors to the ranks holding copies
            model.updateBias((float) gamma);
            if (ema != null) ema.submit(model.params());
            consecutiveSkips = 0;
        } else {
            String what = Double.isFinite(losses.total())
                    ? String.format(Locale.ROOT, "step %d: non-finite gradient norm %s (the loss %s is finite: main %s, mtp %s, balance %s; "
                            + "is the learning rate too high?)", stepNo, norm, losses.total(), losses.main(), losses.mtp(), losses.balance())
                    : String.format(Locale.ROOT, "step %d: non-finite loss %s (main %s, mtp %s, balance %s), gradient norm %s",
                            stepNo, losses.total(), losses.main(), losses.mtp(), losses.balance(), norm);
            if (cfg.onNonFinite() == TrainerConfig.NonFinitePolicy.STOP)
                throw new NonFiniteException(stepNo, what + "; stopping (parameters are those after step " + step + ", not checkpointed by this step)");
            consecutiveSkips++;
            skipped++;
            if (consecutiveSkips > cfg.maxConsecutiveSkips())
                throw new NonFiniteException(stepNo, what + "; " + consecutiveSkips + " consecutive steps skipped, more than the allowed "
                        + cfg.maxConsecutiveSkips() + "; stopping");
            model.resetExpertLoad();
            if (writer()) cfg.warn().accept(what + "; step skipped (no update)");
        }
        step = stepNo;
        tokens = tokensAfter;
        double sec = (System.nanoTime() - t0) / 1e9;
        StepMetrics m = new StepMetrics(stepNo, tokensAfter, nMicro * ramp.granularity(), losses, norm, lr, gamma, lambda, sec,
                sec > 0 ? stepTokens / sec : Double.NaN, !finite, layers, load, vio).withExtra(extra);
        if (validation != null && cfg.evalEvery() > 0 && (stepNo % cfg.evalEvery() == 0 || stepNo == finalStep))
            m = m.withValidation(evaluateNow());
        if (metrics != null) metrics.write(m);
        if (progress != null) progress.update(m);
        for (Consumer<StepMetrics> l : listeners) l.accept(m);
        if (cfg.checkpointEvery() > 0 && step % cfg.checkpointEvery() == 0) checkpoint();
        return m;
    }

    /** Trains until {@link TrainerConfig#totalSteps()} steps (checkpointing at the end when a directory is set). */
    public void train() { train(cfg.totalSteps()); }

    /**
     * Trains until {@code untilStep} steps are done (with validation, also evaluated at that last step); writes a final
     * checkpoint (unless one was just written).
     */
    public void train(long untilStep) {
        if (cfg.progressBar() && progress == null && writer()) progress = new TrainProgress(step, Math.max(untilStep, cfg.totalSteps()));
        finalStep = untilStep;
        try {
            while (step < untilStep) step();
        } finally {
            finalStep = -1;
        }
        if (cfg.checkpointDir() != null && (lastCheckpoint == null || TrainCheckpoint.stepOf(lastCheckpoint) != step)) checkpoint();
    }

    /** Writes a checkpoint of the current state now (waits for the EMA) and prunes old ones. */
    public Path checkpoint() {
        if (cfg.checkpointDir() == null) throw new IllegalStateException("no checkpoint directory configured");
        float[] e = ema == null ? null : ema.values();
        if (zero != null && zero.sharded()) {                           // no rank holds the whole model: one shard per rank
            lastCheckpoint = ShardedCheckpoint.save(comm, cfg.checkpointDir(), new ShardedCheckpoint.Part(state(), model.params(), zero.ownedTensors(),
                    model.aliases(), zero.optimizer(), zero.shardTensors(), e, cfg.configJson()), model.expertParallelGroup());
            if (writer()) TrainCheckpoint.prune(cfg.checkpointDir(), cfg.keepLast());
            comm.barrier();
            return lastCheckpoint;
        }
        AdamW full = zero == null ? adam : zero.gatherOptimizer();       // null on ranks other than 0
        if (writer()) {
            TrainCheckpoint.Contents c = new TrainCheckpoint.Contents(state(), model.params(), tensors, model.aliases(), full, e, cfg.configJson());
            lastCheckpoint = TrainCheckpoint.save(cfg.checkpointDir(), c, cfg.maxShardBytes());
            TrainCheckpoint.prune(cfg.checkpointDir(), cfg.keepLast());
        } else {
            lastCheckpoint = cfg.checkpointDir().resolve(TrainCheckpoint.dirName(step));
        }
        if (comm != null) comm.barrier();                     // the checkpoint exists on return, on every rank
        return lastCheckpoint;
    }

    @Override public void close() {
        if (ema != null) ema.close();
        if (metrics != null) metrics.close();
        if (progress != null) progress.close();
    }
}
