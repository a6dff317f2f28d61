package dev.jseek.train;

import java.time.Duration;
import java.util.Locale;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * A terminal progress bar for training (me.tongfei:progressbar on standard error): steps done of the total with the
 * library's elapsed time and ETA, and as extra message the last loss, the latest validation loss and bits per byte,
 * tokens/s and learning rate.
 */
public final class TrainProgress implements AutoCloseable {
    private final ProgressBar bar;
    private String lastVal = "";

    /** A bar for steps {@code fromStep..totalSteps} (resumed runs start part-way). */
    public TrainProgress(long fromStep, long totalSteps) {
        bar = new ProgressBarBuilder().setTaskName("train").setInitialMax(totalSteps).setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(200).startsFrom(fromStep, Duration.ZERO).setUnit(" steps", 1).build();
    }

    /** The extra message for one step: loss, tokens/s, lr (and "skipped" when it was). */
    public static String message(StepMetrics m) { return message(m, ""); }

    /** As {@link #message(StepMetrics)} with the latest validation text (" val 2.1234 1.234 bpb", or ""). */
    public static String message(StepMetrics m, String lastVal) {
        return String.format(Locale.ROOT, "loss %.4f%s %s tok/s lr %.2e%s", m.losses().total(), lastVal, human(m.tokensPerSecond()), m.lr(),
                m.skipped() ? " SKIPPED" : "");
    }

    private static String human(double v) {
        if (!Double.isFinite(v)) return "-";
        if (v >= 1e6) return String.format(Locale.ROOT, "%.2fM", v / 1e6);
        if (v >= 1e3) return String.format(Locale.ROOT, "%.1fk", v / 1e3);
        return String.format(Locale.ROOT, "%.0f", v);
    }

    /** The validation part of the message: " val LOSS" and " BPB bpb" when known. */
    public static String validation(StepMetrics m) {
        if (!m.evaluated()) return "";
        return String.format(Locale.ROOT, " val %.4f", m.valLoss()) + (Double.isFinite(m.valBpb()) ? String.format(Locale.ROOT, " %.3f bpb", m.valBpb()) : "");
    }

    public void update(StepMetrics m) {
        if (m.evaluated()) lastVal = validation(m);
        bar.setExtraMessage(message(m, lastVal));
        bar.stepTo(m.step());
    }

    @Override public void close() { bar.close(); }
}
