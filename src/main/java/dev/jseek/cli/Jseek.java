package dev.jseek.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The jseek command line: one subcommand per job. {@code ./jseek --help} lists them. */
@Command(name = "jseek", mixinStandardHelpOptions = true, version = "jseek 0.1.0",
        description = "DeepSeek-V3 (MLA, DeepSeekMoE, MTP) on the JVM: train, run and inspect models.",
        subcommands = {
                QuickstartCommand.class,
                InitCommand.class,
                InspectCommand.class,
                ExportCommand.class,
                GenerateCommand.class,
                ServeCommand.class,
                ChatCommand.class,
                ForwardCommand.class,
                TokenizerCommand.class,
                TokenizeCommand.class,
                DetokenizeCommand.class,
                DataCommand.class,
                TrainCommand.class,
                SftCommand.class,
                GrpoCommand.class,
                EvalCommand.class,
                BenchCommand.class,
        })
public final class Jseek implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Errors caused by what the user gave us: printed as one line, exit code 2. */
    static boolean isUserError(Throwable ex) {
        return ex instanceof UserException || ex instanceof dev.jseek.model.ConfigException
                || ex instanceof dev.jseek.io.FormatException || ex instanceof dev.jseek.io.InsufficientMemoryException
                || ex instanceof dev.jseek.data.DataFormatException
                || ex instanceof dev.jseek.tokenizer.TokenizerFormatException || ex instanceof java.io.UncheckedIOException
                || ex instanceof java.nio.file.NoSuchFileException;
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured picocli command line: user errors ({@link UserException}) print one clear line, no trace. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Jseek());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (isUserError(ex)) {
                cmd.getErr().println("jseek: " + dev.jseek.io.Printable.escape(ex.getMessage()));
                return 2;
            }
            throw ex;
        });
        return cl;
    }
}
