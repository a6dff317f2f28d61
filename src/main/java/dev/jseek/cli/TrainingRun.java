package dev.jseek.cli;

import dev.jseek.train.NonFiniteException;
import dev.jseek.train.StepMetrics;
import dev.jseek.train.Trainer;
import java.nio.file.Path;

/**
 * The loop part of the run builder that {@code jseek train}, {@code sft}, {@code grpo}, {@code quickstart} and
 * {@code train balance-experiment} share: trains until a step count and records what happened.
 */
final class TrainingRun {
    private TrainingRun() {}

    /**
     * What a run did: steps firstStep..lastStep, tokens and wall seconds of this call, seconds spent in training steps,
     * the first and last step's metrics, the last evaluated step, the last checkpoint.
     */
    record Outcome(long firstStep, long lastStep, long tokens, double seconds, double trainSeconds, StepMetrics first, StepMetrics last,
                   StepMetrics lastValidation, Path checkpoint) {}

    /** Trains until step {@code steps}; a non-finite loss or gradient under the stop policy is a user error. */
    static <B> Outcome train(Trainer<B> t, long steps) {
        StepMetrics[] seen = new StepMetrics[3];
        double[] trainSec = {0};
        t.addListener(m -> {
            if (seen[0] == null) seen[0] = m;
            seen[1] = m;
            trainSec[0] += m.seconds();
            if (m.evaluated()) seen[2] = m;
        });
        long t0 = System.nanoTime(), s0 = t.stepsDone(), tok0 = t.tokens();
        try {
            t.train(steps);
        } catch (NonFiniteException e) {
            throw new UserException(e.getMessage(), e);
        }
        return new Outcome(s0 + 1, t.stepsDone(), t.tokens() - tok0, (System.nanoTime() - t0) / 1e9, trainSec[0], seen[0], seen[1], seen[2],
                t.lastCheckpoint());
    }
}
