package dev.jseek.posttrain;

/**
 * GRPO's group-relative advantages (docs/architecture.md §7.6, outcome supervision): for each group of G completions of one prompt,
 * A_i = (r_i - mean(r)) / (std(r) + eps), the same for every token of completion i. std is the population standard
 * deviation of the G rewards (divide by G; TRL's implementation divides by G - 1). A group whose rewards are all equal
 * gets A = 0 (only the KL term then acts on it).
 */
public final class Advantages {
    private Advantages() {}

    /** Advantages of consecutive groups of {@code group} rewards. */
    public static double[] of(double[] rewards, int group, double eps) {
        if (group < 1 || rewards.length % group != 0)
            throw new IllegalArgumentException(rewards.length + " rewards do not form groups of " + group);
        if (!(eps >= 0)) throw new IllegalArgumentException("eps must be >= 0, got " + eps);
        double[] a = new double[rewards.length];
        for (int g0 = 0; g0 < rewards.length; g0 += group) {
            double mean = 0;
            for (int i = 0; i < group; i++) mean += rewards[g0 + i];
            mean /= group;
            double var = 0;
            for (int i = 0; i < group; i++) var += (rewards[g0 + i] - mean) * (rewards[g0 + i] - mean);
            double std = Math.sqrt(var / group);
            for (int i = 0; i < group; i++) {
                double d = rewards[g0 + i] - mean;
                a[g0 + i] = d == 0 ? 0 : d / (std + eps);
            }
        }
        return a;
    }
}
