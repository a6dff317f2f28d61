package dev.jseek.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code jseek bench}: performance measurements, one sub-subcommand each (against a peer in the same run). */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks (each against a peer in the same run).",
        subcommands = {BenchTrainCommand.class})
public final class BenchCommand implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override public void run() { spec.commandLine().usage(System.out); }
}
