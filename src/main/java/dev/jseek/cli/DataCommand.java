package dev.jseek.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code jseek data ...}: pre-training data preparation (docs/architecture.md §7.2). */
@Command(name = "data", mixinStandardHelpOptions = true, description = "Prepare and inspect pre-training data (token shards).",
        subcommands = {DataPrepareCommand.class, DataInfoCommand.class})
public final class DataCommand implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override public void run() {
        spec.commandLine().usage(System.out);
    }
}
