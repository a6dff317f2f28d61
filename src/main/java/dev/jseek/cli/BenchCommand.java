package dev.jseek.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code jseek bench ...}: performance measurements against peers, run in the same process. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks jseek kernels against peers in the same run.",
        subcommands = {BenchGemmCommand.class})
public final class BenchCommand implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override public void run() {
        spec.commandLine().usage(System.out);
    }
}
