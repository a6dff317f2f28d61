package dev.jseek.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code jseek bench ...}: benchmarks, one subcommand each; each compares against a peer in the same run. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks (each compares against a peer in the same run).",
        subcommands = {BenchGemmCommand.class, BenchTokenizerCommand.class, BenchFp8GemmCommand.class, BenchFp8TrainCommand.class, BenchTrainCommand.class,
                BenchDecodeCommand.class, BenchInferCommand.class, BenchQuantGemvCommand.class, BenchCommCommand.class, BenchPipelineCommand.class, BenchServeCommand.class, BenchContextCommand.class, BenchRowsCommand.class})
public final class BenchCommand implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override public void run() { spec.commandLine().usage(System.out); }
}
