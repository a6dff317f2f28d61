package dev.jseek.cli;

import picocli.CommandLine.Option;

/** How often a training run ({@code train}, {@code sft}) measures its validation loss, and on how many micro-batches. */
final class ValidationOptions {
    @Option(names = "--eval-every", description = "Validation loss (and bits per byte, where the data has them) every N steps and at the last step, 0 = never (default ${DEFAULT-VALUE}).") long every;
    @Option(names = "--eval-batches", description = "Validation micro-batches (the first ones of the validation data, fixed; default ${DEFAULT-VALUE}).") int batches;

    ValidationOptions() { this(100, 8); }

    ValidationOptions(long every, int batches) {
        this.every = every;
        this.batches = batches;
    }

    void check() {
        if (every < 0) throw new UserException("--eval-every must be >= 0, got " + every);
        if (batches < 1) throw new UserException("--eval-batches must be >= 1, got " + batches);
    }
}
