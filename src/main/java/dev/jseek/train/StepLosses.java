package dev.jseek.train;

/**
 * The losses of one forward pass (docs/architecture.md §6.2, §5.4): {@code total} = main + lambda * mtp + balance, the value
 * whose gradient was taken; {@code main} = next-token cross-entropy; {@code mtp} = mean over MTP depths of the
 * unweighted MTP cross-entropy (0 without MTP); {@code balance} = the sequence-wise balance loss with alpha
 * included (0 without MoE).
 */
public record StepLosses(double total, double main, double mtp, double balance) {
    /** A model with a single loss. */
    public static StepLosses of(double loss) { return new StepLosses(loss, loss, 0, 0); }

    public boolean isFinite() { return Double.isFinite(total) && Double.isFinite(main) && Double.isFinite(mtp) && Double.isFinite(balance); }
}
