package dev.jseek.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jseek.io.AtomicFiles;
import dev.jseek.train.LossCurves;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Unmatched;

/**
 * {@code jseek train balance-experiment}: the load-balancing ablation of docs/architecture.md §7.7 / report §4.5.2 at toy scale. Trains the
 * same MoE model (same preset, seed, init, data order and schedules) three times with {@code jseek train}:
 * <ol>
 *   <li>{@code aux-free}: aux-loss-free bias update (docs/architecture.md §5.3) with constant gamma, plus the sequence-wise balance loss
 *       at {@code --complement-alpha} (default 0: no auxiliary loss at all; the report's complement is 1e-4, docs/architecture.md §5.4);</li>
 *   <li>{@code aux-loss}: no bias update (gamma 0), an auxiliary balance loss with {@code --aux-alpha} (default 0.01) of
 *       kind {@code --aux-kind} (batch: the classic loss over the micro-batch as one group; seq: docs/architecture.md §5.4's formula);</li>
 *   <li>{@code none}: neither (gamma 0, alpha 0).</li>
 * </ol>
 * and reports per variant: the validation loss at the last step (and bits per byte), MaxVio (max load / mean load - 1
 * of each step's global batch, averaged over the MoE layers) as mean and max over the last 20% of the steps, and
 * training tokens/s. Prints the table and writes it with the settings as {@code OUT/balance-experiment.md}; each
 * variant's run (metrics, checkpoint, loss curves) is in {@code OUT/<variant>/}. Any further {@code jseek train}
 * option (e.g. {@code --seq-len}, {@code --lr}) is passed to all three runs.
 */
@Command(name = "balance-experiment", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train the same small MoE with (a) aux-loss-free bias updates, (b) a classic auxiliary balance loss, (c) neither;",
                "print and write (OUT/balance-experiment.md) final validation loss, MaxVio over the last 20% of steps and tokens/s.",
                "Other jseek train options are passed through to all three runs."})
public final class BalanceExperimentCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Option(names = "--data", required = true, description = "Prepared token directory with a validation split.") Path data;
    @Option(names = "--out", required = true, description = "Experiment directory (one run per variant inside).") Path out;
    @Option(names = "--preset", defaultValue = "tiny", description = "MoE model preset (default ${DEFAULT-VALUE}).") String preset;
    @Option(names = "--steps", required = true, description = "Steps per variant.") long steps;
    @Option(names = "--gamma", defaultValue = "0.001", description = "Bias update speed of the aux-free variant, constant (default ${DEFAULT-VALUE}).") double gamma;
    @Option(names = "--complement-alpha", defaultValue = "0", description = "Sequence-wise balance loss alpha in the aux-free variant (report: 1e-4; default ${DEFAULT-VALUE}).") double complementAlpha;
    @Option(names = "--aux-alpha", defaultValue = "0.01", description = "Auxiliary loss alpha of the aux-loss variant (default ${DEFAULT-VALUE}).") double auxAlpha;
    @Option(names = "--aux-kind", defaultValue = "batch", description = "Auxiliary loss of the aux-loss variant: batch (classic) or seq (default ${DEFAULT-VALUE}).") String auxKind;
    @Option(names = "--seed", defaultValue = "1", description = "Seed of init, data order and trainer (default ${DEFAULT-VALUE}).") long seed;
    @Option(names = "--eval-every", defaultValue = "0", description = "Extra validation every N steps (0: only at the last step; default ${DEFAULT-VALUE}).") long evalEvery;
    @Unmatched List<String> passThrough = new ArrayList<>();

    /** One variant's result. */
    public record Row(String variant, String setting, double valLoss, double valBpb, double vioMean, double vioMax, double tokensPerSecond,
                      double finalTrainCe, Path run) {}

    private List<Row> rows;

    /** The rows of the last {@link #call()}. */
    public List<Row> rows() { return rows; }

    @Override public Integer call() {
        if (steps < 5) throw new UserException("--steps must be >= 5 (MaxVio is averaged over the last 20% of steps), got " + steps);
        if (!(gamma > 0)) throw new UserException("--gamma must be > 0 for the aux-free variant, got " + gamma);
        if (!(auxAlpha > 0)) throw new UserException("--aux-alpha must be > 0 for the aux-loss variant, got " + auxAlpha);
        if (!(complementAlpha >= 0)) throw new UserException("--complement-alpha must be >= 0, got " + complementAlpha);
        String kind = auxKind.toLowerCase(Locale.ROOT);
        if (!kind.equals("batch") && !kind.equals("seq")) throw new UserException("--aux-kind: unknown value '" + auxKind + "' (use batch or seq)");
        for (String a : passThrough)
            if (List.of("--data", "--out", "--preset", "--steps", "--seed", "--gamma-schedule", "--balance-alpha", "--balance-loss", "--resume", "--eval-every").contains(a.split("=")[0]))
                throw new UserException("balance-experiment sets " + a + " itself; give it as a balance-experiment option or not at all");
        PrintWriter o = spec.commandLine().getOut();
        record Variant(String name, String setting, String gamma, String alpha, String balanceLoss) {}
        List<Variant> variants = List.of(
                new Variant("aux-free", "gamma " + gamma + (complementAlpha > 0 ? ", seq-wise alpha " + complementAlpha : ", no balance loss"),
                        Double.toString(gamma), Double.toString(complementAlpha), "seq"),
                new Variant("aux-loss", "gamma 0, " + (kind.equals("batch") ? "classic batch-wise" : "seq-wise") + " aux loss alpha " + auxAlpha,
                        "0", Double.toString(auxAlpha), kind),
                new Variant("none", "gamma 0, no balance loss", "0", "0", "seq"));
        rows = new ArrayList<>();
        long eval = evalEvery > 0 ? evalEvery : steps;
        for (Variant v : variants) {
            TrainCommand tc;
            try {
                tc = TrainCommand.withDefaults(o, spec.commandLine().getErr(), passThrough.toArray(String[]::new));
            } catch (CommandLine.ParameterException e) {
                throw new UserException("balance-experiment: " + e.getMessage(), e);
            }
            tc.data = data;
            tc.run.out = out.resolve(v.name());
            tc.preset = preset;
            tc.steps = steps;
            tc.run.seed = seed;
            tc.validation.every = eval;
            tc.schedules.gamma = v.gamma();
            tc.run.alpha = Float.parseFloat(v.alpha());
            tc.balanceLoss = v.balanceLoss();
            o.printf(Locale.ROOT, "%n== variant %s (%s): jseek train --data %s --out %s --preset %s --steps %d --seed %d --eval-every %d"
                    + " --gamma-schedule %s --balance-alpha %s --balance-loss %s%s%n", v.name(), v.setting(), data, tc.run.out, preset, steps, seed,
                    eval, v.gamma(), v.alpha(), v.balanceLoss(),
                    passThrough.isEmpty() ? "" : " " + String.join(" ", passThrough));
            o.flush();
            tc.call();
            TrainCommand.Outcome r = tc.outcome();
            if (r.lastValidation() == null) throw new UserException(data + ": no validation split to evaluate (prepare the data with --val-fraction > 0)");
            double[] vio = lastFifthMaxVio(LossCurves.readMetrics(r.metrics()), steps);
            rows.add(new Row(v.name(), v.setting(), r.lastValidation().valLoss(), r.lastValidation().valBpb(), vio[0], vio[1],
                    r.trainSeconds() > 0 ? r.tokens() / r.trainSeconds() : Double.NaN, r.last().losses().main(), tc.run.out));
        }
        String table = table(rows);
        o.printf("%n%s", table);
        String md = "# Load-balancing experiment (docs/architecture.md §7.7)\n\n"
                + "Command: `jseek " + String.join(" ", spec.commandLine().getParseResult().originalArgs()) + "`\n\n"
                + String.format(Locale.ROOT, "Preset %s, %d steps per variant, seed %d, data %s; every variant has the same init, data order and"
                        + " schedules. MaxVio = max expert load / mean load - 1 over each step's global batch, averaged over the MoE layers;"
                        + " mean and max over the last 20%% of steps (%d..%d). Validation loss = main next-token CE (nats/token) on the fixed"
                        + " validation batches at the last step. Tokens/s counts training steps only (not validation).%n%n",
                preset, steps, seed, data, firstOfLastFifth(steps), steps)
                + table;
        Path f = out.resolve("balance-experiment.md");
        AtomicFiles.write(f, md.getBytes(StandardCharsets.UTF_8));
        o.printf("wrote %s%n", f);
        o.flush();
        return 0;
    }

    static long firstOfLastFifth(long steps) { return steps - Math.max(1, steps / 5) + 1; }

    /** Mean and max over the steps of the last fifth of the per-step MaxVio (mean over MoE layers). */
    static double[] lastFifthMaxVio(List<JsonNode> metrics, long steps) {
        long from = firstOfLastFifth(steps);
        double sum = 0, max = Double.NEGATIVE_INFINITY;
        int n = 0;
        for (JsonNode m : metrics) {
            if (m.get("step").asLong() < from) continue;
            JsonNode a = m.get("max_vio");
            if (a == null || !a.isArray() || a.isEmpty()) continue;
            double s = 0;
            for (JsonNode v : a) s += v.asDouble();
            double mean = s / a.size();
            sum += mean;
            max = Math.max(max, mean);
            n++;
        }
        if (n == 0) throw new UserException("the model has no MoE layers (no max_vio in metrics.jsonl); use an MoE preset");
        return new double[] {sum / n, max};
    }

    /** The results as a markdown table. */
    static String table(List<Row> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append("| variant | setting | final val loss | val bits/byte | MaxVio mean (last 20%) | MaxVio max (last 20%) | final train CE | tokens/s |\n");
        sb.append("|---|---|---|---|---|---|---|---|\n");
        for (Row r : rows)
            sb.append(String.format(Locale.ROOT, "| %s | %s | %.4f | %s | %.3f | %.3f | %.4f | %,.0f |%n", r.variant(), r.setting(), r.valLoss(),
                    Double.isFinite(r.valBpb()) ? String.format(Locale.ROOT, "%.4f", r.valBpb()) : "-", r.vioMean(), r.vioMax(),
                    r.finalTrainCe(), r.tokensPerSecond()));
        return sb.toString();
    }
}
