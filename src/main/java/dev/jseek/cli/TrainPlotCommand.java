package dev.jseek.cli;

import dev.jseek.io.FormatException;
import dev.jseek.train.LossCurves;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code jseek train plot --run DIR}: draws the loss curves of a run directory's {@code metrics.jsonl} (train, MTP and
 * validation cross-entropy, learning rate, MaxVio; {@link LossCurves}) to {@code DIR/loss-curves.png} and a
 * self-contained {@code DIR/loss-curves.html}. Works while a run is in progress (a torn last line is skipped).
 */
@Command(name = "plot", mixinStandardHelpOptions = true,
        description = "Draw the loss curves of a training run (its metrics.jsonl) to loss-curves.png and loss-curves.html.")
public final class TrainPlotCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Option(names = "--run", required = true, description = "Run directory (the --out of jseek train).") Path run;
    @Option(names = "--width", defaultValue = "1200", description = "Image width in pixels (default ${DEFAULT-VALUE}).") int width;
    @Option(names = "--height", defaultValue = "1000", description = "Image height in pixels (default ${DEFAULT-VALUE}).") int height;

    @Override public Integer call() {
        Path metrics = run.resolve("metrics.jsonl");
        if (!Files.isRegularFile(metrics)) throw new UserException(run + ": no metrics.jsonl (not a jseek train run directory)");
        LossCurves.Written w;
        try {
            w = LossCurves.write(metrics, run, "jseek train: " + run.toAbsolutePath().normalize().getFileName(), width, height);
        } catch (IllegalArgumentException | FormatException e) {
            throw new UserException(e.getMessage(), e);
        }
        spec.commandLine().getOut().printf("wrote %s and %s%n", w.png(), w.html());
        spec.commandLine().getOut().flush();
        return 0;
    }
}
