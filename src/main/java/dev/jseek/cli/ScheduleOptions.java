package dev.jseek.cli;

import dev.jseek.train.LrSchedule;
import picocli.CommandLine.Option;

/**
 * The schedules of a {@code jseek train} run: learning rate, the bias update speed gamma and the MTP weight lambda,
 * either the report's shapes (report §4.2) scaled to the run's tokens or explicit {@link LrSchedule#parse} texts.
 */
final class ScheduleOptions {
    @Option(names = "--total-tokens", description = "Tokens the schedules are scaled to (default steps x batch x seq-len).") Double totalTokens;
    @Option(names = "--lr", defaultValue = "3e-4", description = "Peak learning rate of the report-shaped schedule (default ${DEFAULT-VALUE}).") double lrPeak;
    @Option(names = "--warmup-steps", defaultValue = "100", description = "Linear warmup steps (default ${DEFAULT-VALUE}).") long warmup;
    @Option(names = "--lr-schedule", description = "Explicit schedule, e.g. \"0; linear 2000s 2.2e-4; constant 10e12t; cosine 14.3e12t 2.2e-5\".") String lr;
    @Option(names = "--gamma-schedule", description = "Bias update speed schedule, e.g. \"0.001\" or \"0\" (default 0.001, 0 for the last 500/14800 of tokens).") String gamma;
    @Option(names = "--lambda-schedule", description = "MTP loss weight schedule (default 0.3, 0.1 after 10/14.8 of tokens).") String lambda;

    /** --lr must be a finite number > 0. */
    void check() {
        if (!(lrPeak > 0) || Double.isInfinite(lrPeak)) throw new UserException("--lr must be a finite number > 0, got " + lrPeak);
    }

    /** The tokens the report-shaped schedules are scaled to: --total-tokens, else the run's {@code tokens}. */
    double total(double tokens) { return totalTokens != null ? totalTokens : tokens; }

    LrSchedule lr(double total) { return lr != null ? parse("--lr-schedule", lr) : LrSchedule.deepseekV3Lr(lrPeak, warmup, total); }

    LrSchedule gamma(double total) { return gamma != null ? parse("--gamma-schedule", gamma) : LrSchedule.deepseekV3Gamma(total); }

    LrSchedule lambda(double total) { return lambda != null ? parse("--lambda-schedule", lambda) : LrSchedule.deepseekV3Lambda(total); }

    private static LrSchedule parse(String opt, String text) {
        try {
            return LrSchedule.parse(text);
        } catch (IllegalArgumentException e) {
            throw new UserException(opt + ": " + e.getMessage(), e);
        }
    }
}
