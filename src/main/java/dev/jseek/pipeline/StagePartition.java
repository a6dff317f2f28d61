package dev.jseek.pipeline;

import dev.jseek.model.ModelConfig;
import dev.jseek.train.ParamLayout;
import dev.jseek.train.TrainModel;
import java.util.Arrays;

/**
 * The model's pipeline units split into contiguous stages (report §3.2.1): unit 0 is the embedding, units 1..L the
 * decoder blocks, unit L+1 the head (model.norm, lm_head, the loss and the MTP modules, which share the embedding
 * and head). Stage s runs units [{@code bounds[s]}, {@code bounds[s+1]}). The embedding is always in the first
 * stage and the head in the last; every stage has at least one unit.
 */
public record StagePartition(int[] bounds) {
    public StagePartition {
        bounds = bounds.clone();
        for (int i = 0; i + 1 < bounds.length; i++)
            if (bounds[i + 1] <= bounds[i]) throw new IllegalArgumentException("empty pipeline stage " + i + " in " + Arrays.toString(bounds));
        if (bounds.length < 2 || bounds[0] != 0) throw new IllegalArgumentException("stage bounds must start at unit 0: " + Arrays.toString(bounds));
    }

    public int stages() { return bounds.length - 1; }
    public int first(int stage) { return bounds[stage]; }
    public int end(int stage) { return bounds[stage + 1]; }
    public int units() { return bounds[bounds.length - 1]; }

    /** Equal numbers of blocks per stage (the first stages get one more), embedding with the first, head with the last. */
    public static StagePartition byLayerCount(int layers, int stages) {
        int units = layers + 2;
        if (stages < 1 || stages > units)
            throw new IllegalArgumentException(stages + " pipeline stages for a model of " + layers + " layers (at most " + units
                    + ": the embedding, each layer and the head)");
        int[] b = new int[stages + 1];
        b[stages] = units;
        // the blocks 1..L split in near-equal runs; the embedding joins the first run, the head the last
        for (int s = 1; s < stages; s++) b[s] = 1 + (int) ((long) layers * s / stages);
        for (int s = 1; s < stages; s++) if (b[s] <= b[s - 1]) b[s] = b[s - 1] + 1;
        return new StagePartition(b);
    }

    /** Contiguous stages minimizing the largest stage's cost ({@code unitCost} per unit; exact, by dynamic programming). */
    public static StagePartition byCost(double[] unitCost, int stages) {
        int n = unitCost.length;
        if (stages < 1 || stages > n) throw new IllegalArgumentException(stages + " pipeline stages for " + n + " units");
        double[] prefix = new double[n + 1];
        for (int i = 0; i < n; i++) prefix[i + 1] = prefix[i] + unitCost[i];
        double[][] best = new double[stages + 1][n + 1];
        int[][] cut = new int[stages + 1][n + 1];
        for (double[] row : best) Arrays.fill(row, Double.POSITIVE_INFINITY);
        best[0][0] = 0;
        for (int k = 1; k <= stages; k++)
            for (int j = k; j <= n; j++)
                for (int i = k - 1; i < j; i++) {
                    double v = Math.max(best[k - 1][i], prefix[j] - prefix[i]);
                    if (v < best[k][j]) { best[k][j] = v; cut[k][j] = i; }
                }
        int[] b = new int[stages + 1];
        b[stages] = n;
        for (int k = stages, j = n; k > 0; k--) { j = cut[k][j]; b[k - 1] = j; }
        return new StagePartition(b);
    }

    /**
     * A cost estimate per unit: the parameters a token's forward multiplies with (routed experts weighted by
     * num_experts_per_tok / n_routed_experts; the embedding's lookup counted as one row), so GEMM time.
     */
    public static double[] unitCosts(TrainModel m) {
        ModelConfig c = m.config();
        double routed = (double) c.numExpertsPerTok() / c.nRoutedExperts();
        double[] cost = new double[c.numHiddenLayers() + 2];
        for (ParamLayout.Entry e : m.layout().entries()) {
            int u = unitOf(e.name(), c.numHiddenLayers());
            cost[u] += u == 0 ? c.hiddenSize() : e.name().contains(".mlp.experts.") ? e.size() * routed : e.size();
        }
        cost[cost.length - 1] += (double) c.vocabSize() * c.hiddenSize() * c.numNextnPredictLayers(); // the shared head, once per MTP depth
        return cost;
    }

    /** Parameters (floats) of each unit; the head's unit holds model.norm, lm_head and the MTP layers. */
    public static long[] unitParams(TrainModel m) {
        long[] n = new long[m.units()];
        for (ParamLayout.Entry e : m.layout().entries()) n[unitOf(e.name(), m.config().numHiddenLayers())] += e.size();
        return n;
    }

    /** The stage running unit u. */
    public int stageOf(int u) {
        for (int s = 0; s < stages(); s++) if (u >= first(s) && u < end(s)) return s;
        throw new IllegalArgumentException("unit " + u + " outside the " + units() + " units");
    }

    /** Parameters of stage s (floats). */
    public long stageParams(long[] unitParams, int s) {
        long v = 0;
        for (int u = first(s); u < end(s); u++) v += unitParams[u];
        return v;
    }

    /** The unit holding parameter {@code name} of a model of {@code layers} layers (MTP layers, final norm and head: the head unit). */
    public static int unitOf(String name, int layers) { return TrainModel.unitOf(name, layers); }

    /** The units of the stages {@code stages} (a pipeline rank's): what its parameter arena holds ({@link TrainModel#forUnits}). */
    public boolean[] unitsOf(java.util.Collection<Integer> stages) {
        boolean[] u = new boolean[units()];
        for (int s : stages) for (int k = first(s); k < end(s); k++) u[k] = true;
        return u;
    }
}
