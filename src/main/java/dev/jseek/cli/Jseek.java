package dev.jseek.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The jseek command line: one subcommand per job. {@code ./jseek --help} lists them. */
@Command(name = "jseek", mixinStandardHelpOptions = true, version = "jseek 0.1.0",
        description = "DeepSeek-V3 (MLA, DeepSeekMoE, MTP) on the JVM: train, run and inspect models.",
        subcommands = {
                BenchCommand.class,
        })
public final class Jseek implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured picocli command line: user errors ({@link UserException}) print one clear line, no trace. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Jseek());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (ex instanceof UserException || ex instanceof java.io.UncheckedIOException
                    || ex instanceof java.nio.file.NoSuchFileException) {
                cmd.getErr().println("jseek: " + ex.getMessage());
                return 2;
            }
            throw ex;
        });
        return cl;
    }
}
