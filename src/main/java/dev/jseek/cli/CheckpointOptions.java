package dev.jseek.cli;

import picocli.CommandLine.Option;

/** How often a training run writes checkpoints into its run directory, and how many it keeps. */
final class CheckpointOptions {
    @Option(names = "--checkpoint-every", defaultValue = "0", description = "Steps between checkpoints, 0 = only at the end.") long every;
    @Option(names = "--keep", defaultValue = "3", description = "Checkpoints kept (default ${DEFAULT-VALUE}).") int keep;

    /** When checkpoints are written, for the settings printout: "every N steps and at the end" or "at the end". */
    String when() { return every > 0 ? "every " + every + " steps and at the end" : "at the end"; }
}
