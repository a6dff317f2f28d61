package dev.jseek.cli;

import dev.jseek.eval.Evaluator;
import dev.jseek.eval.Scorecard;
import dev.jseek.eval.TokenScores;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.source.ModelSource;
import dev.jseek.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code jseek eval}: one scorecard of a model (see {@link Evaluator}); printed and written as JSON, markdown and a PNG. */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false, subcommands = PasskeyDataCommand.class,
        description = {"Score a model: held-out bits/byte, Java FIM exact match, passkey retrieval grid, multiple choice, arithmetic.",
                "Writes scorecard.json, scorecard.md and passkey.png into --out."})
public final class EvalCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Option(names = "--model", description = "Model directory or GGUF file (required).") Path model;
    @Mixin ModelTokenizerOption tokenizer;
    @Option(names = "--data", description = "Prepared token directory (jseek data prepare): bits/byte on its val split, FIM on its held-out files.") Path data;
    @Option(names = "--out", description = "Directory for scorecard.json/.md and passkey.png (default: <model>/eval).") Path out;
    @Option(names = "--bpb-tokens", defaultValue = "16384", description = "Validation tokens scored for bits/byte, 0 = off (default ${DEFAULT-VALUE}).") long bpbTokens;
    @Option(names = "--bpb-window", defaultValue = "256", description = "Tokens per bits/byte window (default ${DEFAULT-VALUE}).") int bpbWindow;
    @Option(names = "--fim", defaultValue = "40", description = "Held-out files for FIM exact match, 0 = off (default ${DEFAULT-VALUE}).") int fim;
    @Option(names = "--fim-prefix-chars", defaultValue = "600", description = "FIM prefix context in characters (default ${DEFAULT-VALUE}).") int fimPrefix;
    @Option(names = "--fim-suffix-chars", defaultValue = "200", description = "FIM suffix context in characters (default ${DEFAULT-VALUE}).") int fimSuffix;
    @Option(names = "--passkey-lengths", defaultValue = "256,512,1024", description = "Passkey context lengths in tokens, comma-separated; 0 or empty = off (default ${DEFAULT-VALUE}).") String passkeyLengths;
    @Option(names = "--passkey-depths", split = ",", defaultValue = "0,0.25,0.5,0.75,1", description = "Needle depths in [0, 1] (default ${DEFAULT-VALUE}).") List<Double> passkeyDepths;
    @Option(names = "--passkey-trials", defaultValue = "4", description = "Keys per grid cell (default ${DEFAULT-VALUE}).") int passkeyTrials;
    @Option(names = "--mc", description = "Multiple-choice JSONL: {\"context\": ..., \"choices\": [...], \"answer\": i} per line.") Path mc;
    @Option(names = "--arithmetic", defaultValue = "50", description = "Held-out arithmetic prompts (greedy), 0 = off (default ${DEFAULT-VALUE}).") int arithmetic;
    @Option(names = "--task", defaultValue = "arithmetic", description = "Arithmetic task spec, as jseek grpo --task (default ${DEFAULT-VALUE}).") String task;
    @Option(names = "--seed", defaultValue = "1", description = "Seed of the FIM lines, passkeys and (as jseek grpo --seed) arithmetic prompts (default ${DEFAULT-VALUE}).") long seed;

    /** The default scorecard of a model on a prepared data directory (quickstart's last step): printed and written into {@code dir}. */
    static void scorecard(Path model, Path data, Path dir) {
        System.err.println("== eval: jseek eval --model " + model + " --data " + data + " --out " + dir);
        picocli.CommandLine.populateCommand(new EvalCommand(), "--model", model.toString(), "--data", data.toString(), "--out", dir.toString()).call();
    }

    @Override public Integer call() {
        if (model == null) throw new UserException("jseek eval needs --model (or the subcommand passkey-data; see --help)");
        if (!ModelSource.isModel(model)) throw new UserException("--model " + model + ": not a model directory or GGUF file");
        if (bpbWindow < 2) throw new UserException("--bpb-window must be >= 2, got " + bpbWindow);
        if (passkeyTrials < 0 || fim < 0 || arithmetic < 0 || bpbTokens < 0)
            throw new UserException("--passkey-trials, --fim, --arithmetic and --bpb-tokens must be >= 0");
        for (double d : passkeyDepths) if (!(d >= 0 && d <= 1)) throw new UserException("--passkey-depths: " + d + " is not in [0, 1]");
        List<Integer> lengths = new ArrayList<>();
        for (String x : passkeyLengths.split(",", -1)) {
            if (x.isBlank()) continue;
            try {
                int l = Integer.parseInt(x.strip());
                if (l < 0) throw new NumberFormatException();
                if (l > 0) lengths.add(l);
            } catch (NumberFormatException e) {
                throw new UserException("--passkey-lengths: '" + x + "' is not a length in tokens (a positive integer)");
            }
        }
        if (data != null && !Files.isDirectory(data)) throw new UserException("--data " + data + ": no such directory");
        if (mc != null && !Files.isRegularFile(mc)) throw new UserException("--mc " + mc + ": no such file");
        Tokenizer tok = tokenizer.find(model, true);
        Path dir = out != null ? out : (Files.isDirectory(model) ? model : model.toAbsolutePath().getParent()).resolve("eval");
        PrintWriter o = spec.commandLine().getOut();
        Evaluator.Options opt = new Evaluator.Options(data, bpbWindow, bpbTokens, fim, fimPrefix, fimSuffix, 48, lengths, passkeyDepths,
                passkeyTrials, mc, task, arithmetic, seed, TokenScores.defaultChunk());
        Scorecard sc;
        try (DeepSeekV3 m = ModelSource.open(model)) {
            sc = Evaluator.run(m, tok, model.toString(), opt, System.err);
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage(), e);
        }
        List<Path> files = sc.write(dir);
        o.println();
        o.print(sc.text());
        if (sc.passkey() != null) {
            o.println();
            o.print(dev.jseek.eval.Heatmap.markdown(sc.passkey()));
        }
        o.println("wrote " + String.join(", ", files.stream().map(Path::toString).toList()));
        o.flush();
        return 0;
    }
}
