package dev.jseek.posttrain;

import dev.jseek.train.StepLosses;
import dev.jseek.train.ModelTrainable;
import dev.jseek.train.TrainModel;
import dev.jseek.train.TrainRng;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The GRPO policy update (docs/architecture.md §7.6) on the {@link dev.jseek.train.Trainer}: each micro-batch of rollouts is one
 * forward of the training model over prompt + completion and the backward of the {@link GrpoObjective} (one update
 * per batch: pi_old = pi, ratio 1) plus the balance loss. Losses: total = GRPO loss + balance, main = the GRPO loss,
 * mtp = 0 (MTP is not trained here). {@link #stats} adds the rewards (mean, each part, std within groups), the mean KL
 * to the reference, the clipped share, mean completion length and finished share, and the completions' mean
 * cross-entropy under the policy.
 */
public final class GrpoTrainable extends ModelTrainable<RolloutBatch> {
    private final double clipEps, beta;
    private GrpoObjective last;

    public GrpoTrainable(TrainModel model, double clipEps, double beta) {
        super(model);
        this.clipEps = clipEps;
        this.beta = beta;
    }

    /** The objective of a batch. */
    public GrpoObjective objective(RolloutBatch b) {
        return new GrpoObjective(b.completionOfRow(), b.advantages(), b.lengths(), b.refLogp(), null, clipEps, beta);
    }

    @Override public StepLosses forwardBackward(RolloutBatch b, float gradScale, TrainRng rng) {
        GrpoObjective obj = objective(b);
        float total = model.forwardBackward(b.inputs(), b.targets(), b.rows(), b.seqLen(), obj, gradScale);
        last = obj;
        double bal = model.lastBalanceLoss();
        return new StepLosses(total, total - bal, 0, bal);
    }

    @Override public Map<String, Double> stats(RolloutBatch b) {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("reward", b.meanReward());
        for (int j = 0; j < b.partNames().size(); j++) {
            double s = 0;
            for (double[] p : b.rewardParts()) s += p[j];
            m.put("reward_" + b.partNames().get(j).replaceAll("[^A-Za-z0-9_]", "_"), s / b.rows());
        }
        double sd = 0;
        int G = b.group();
        for (int g0 = 0; g0 < b.rows(); g0 += G) {
            double mean = 0, v = 0;
            for (int i = 0; i < G; i++) mean += b.rewards()[g0 + i] / G;
            for (int i = 0; i < G; i++) v += (b.rewards()[g0 + i] - mean) * (b.rewards()[g0 + i] - mean) / G;
            sd += Math.sqrt(v) / (b.rows() / G);
        }
        m.put("reward_group_std", sd);
        if (last != null) {
            m.put("kl", last.lastKl());
            m.put("clip_fraction", last.lastClipFraction());
            m.put("policy_loss", last.lastPolicyLoss());
        }
        double len = 0, fin = 0;
        for (Completion c : b.completions()) {
            len += c.length();
            if (c.finished()) fin++;
        }
        m.put("completion_tokens", len / b.rows());
        m.put("finished", fin / b.rows());
        m.put("completion_ce", model.lastMainLoss());
        return m;
    }
}
