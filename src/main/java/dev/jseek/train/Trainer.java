package dev.jseek.train;

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

    public Trainer(Trainable<B> model, BatchSource<B> data, TrainerConfig cfg) {
        this.model = model;
        this.data = data;
        this.cfg = cfg;
        this.tensors = List.copyOf(model.tensors());
        float[] p = model.params();
        if (model.grads().length != p.length)
            throw new IllegalArgumentException("grads arena has " + model.grads().length + " floats, params " + p.length);
        this.adam = new AdamW(cfg.adam(), p.length, tensors);
        this.ema = cfg.hasEma() ? new Ema(p, cfg.emaDecay()) : null;
        this.rng = new TrainRng(cfg.seed());
        int micro = data.microBatchRows();
        this.ramp = cfg.batch() != null ? cfg.batch() : BatchRamp.fixed(micro, micro);
        if (ramp.granularity() != micro)
            throw new IllegalArgumentException("batch ramp granularity " + ramp.granularity() + " differs from the data source's micro-batch rows " + micro);
    }

    /** Held-out batches evaluated every {@link TrainerConfig#evalEvery()} steps (null: none). */
    public void setValidation(Validation<B> v) { validation = v; }

    public Validation<B> validation() { return validation; }

    /** Evaluates the current parameters on the validation batches now (between steps). */
    public Validation.Result evaluate() {
        if (validation == null) throw new IllegalStateException("no validation set");
        return validation.evaluate(model);
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
        TrainState s = TrainCheckpoint.load(dir, model.params(), tensors, adam, ema, cfg.warn());
        if (cfg.checkpointDir() != null && dir.getParent() != null
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
        if (metrics == null && cfg.metricsFile() != null) metrics = MetricsLog.open(cfg.metricsFile(), step);
        int nMicro = ramp.microBatches(tokens);
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
        for (B b : batches) {
            StepLosses l = model.forwardBackward(b, gs, rng);
            total += l.total();
            main += l.main();
            mtp += l.mtp();
            bal += l.balance();
            for (var e : model.stats(b).entrySet()) extra.merge(e.getKey(), e.getValue() / nMicro, Double::sum);
        }
        StepLosses losses = new StepLosses(total / nMicro, main / nMicro, mtp / nMicro, bal / nMicro);
        double norm = GradClip.globalNorm(model.grads(), tensors);
        boolean finite = losses.isFinite() && Double.isFinite(norm);
        FaultPoint.reach("mid-step", stepNo);
        List<Integer> layers = model.moeLayerIds();
        long[][] load = model.expertLoad();
        double[] vio = new double[load.length];
        for (int i = 0; i < load.length; i++) vio[i] = StepMetrics.maxVio(load[i]);
        if (finite) {
            adam.step(model.params(), model.grads(), lr, GradClip.coefficient(norm, cfg.maxGradNorm()));
            model.updateBias((float) gamma);
            if (ema != null) ema.submit(model.params());
            consecutiveSkips = 0;
        } else {
            String what = String.format(Locale.ROOT, "step %d: non-finite loss %s (main %s, mtp %s, balance %s) or gradient norm %s",
                    stepNo, losses.total(), losses.main(), losses.mtp(), losses.balance(), norm);
            if (cfg.onNonFinite() == TrainerConfig.NonFinitePolicy.STOP)
                throw new NonFiniteException(stepNo, what + "; stopping (parameters are those after step " + step + ", not checkpointed by this step)");
            consecutiveSkips++;
            skipped++;
            if (consecutiveSkips > cfg.maxConsecutiveSkips())
                throw new NonFiniteException(stepNo, what + "; " + consecutiveSkips + " consecutive steps skipped, more than the allowed "
                        + cfg.maxConsecutiveSkips() + "; stopping");
            model.resetExpertLoad();
            cfg.warn().accept(what + "; step skipped (no update)");
        }
        step = stepNo;
        tokens = tokensAfter;
        double sec = (System.nanoTime() - t0) / 1e9;
        StepMetrics m = new StepMetrics(stepNo, tokensAfter, nMicro * ramp.granularity(), losses, norm, lr, gamma, lambda, sec,
                sec > 0 ? stepTokens / sec : Double.NaN, !finite, layers, load, vio).withExtra(extra);
        if (validation != null && cfg.evalEvery() > 0 && (stepNo % cfg.evalEvery() == 0 || stepNo == finalStep))
            m = m.withValidation(validation.evaluate(model));
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
        if (cfg.progressBar() && progress == null) progress = new TrainProgress(step, Math.max(untilStep, cfg.totalSteps()));
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
        TrainCheckpoint.Contents c = new TrainCheckpoint.Contents(state(), model.params(), tensors, model.aliases(), adam, e, cfg.configJson());
        lastCheckpoint = TrainCheckpoint.save(cfg.checkpointDir(), c, cfg.maxShardBytes());
        TrainCheckpoint.prune(cfg.checkpointDir(), cfg.keepLast());
        return lastCheckpoint;
    }

    @Override public void close() {
        if (ema != null) ema.close();
        if (metrics != null) metrics.close();
        if (progress != null) progress.close();
    }
}
