package dev.jseek.cli;

import dev.jseek.infer.Generator;
import dev.jseek.infer.Sampler;
import dev.jseek.model.AttnMode;
import dev.jseek.model.ConfigEdits;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.ModelConfig;
import dev.jseek.model.Presets;
import dev.jseek.tokenizer.Prompts;
import dev.jseek.source.ModelSource;
import dev.jseek.tokenizer.StreamingDecoder;
import dev.jseek.tokenizer.Tokenizer;
import dev.jseek.train.TrainCheckpoint;
import dev.jseek.train.TrainModel;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code jseek quickstart}: the whole pipeline on a fresh machine, on the JDK's own Java sources. Trains a byte-level
 * BPE tokenizer, tokenizes the corpus into shards (10% of documents rearranged for fill-in-the-middle), pre-trains a
 * small DeepSeek-V3 (MLA, DeepSeekMoE with aux-loss-free balancing, MTP) for a time budget, then completes a line of
 * Java and fills a hole in a method with the trained model. Each stage is one of the ordinary commands
 * ({@code tokenizer train}, {@code data prepare}, {@code train}), run in-process; finished stages are reused when
 * the command is run again on the same {@code --out}, and an interrupted training run resumes from its last
 * checkpoint. It ends with the scorecard of {@code jseek eval} (written to {@code OUT/eval}).
 */
@Command(name = "quickstart", mixinStandardHelpOptions = true,
        description = "Train a tokenizer and a small DeepSeek-V3 on the JDK's Java sources for a time budget, then complete and infill Java code with it.")
public final class QuickstartCommand implements Callable<Integer> {
    @Option(names = "--out", defaultValue = "runs/quickstart", description = "Working directory (default ${DEFAULT-VALUE}).") Path out;
    @Option(names = "--minutes", defaultValue = "10", description = "Training time budget in minutes (default ${DEFAULT-VALUE}).") double minutes;
    @Option(names = "--preset", defaultValue = "small", description = "Model preset (default ${DEFAULT-VALUE}).") String preset;
    @Option(names = "--vocab-size", defaultValue = "8192", description = "Tokenizer vocabulary (default ${DEFAULT-VALUE}).") int vocab;
    @Option(names = "--tokenizer-mb", defaultValue = "40", description = "MB of Java sources the tokenizer learns from (default ${DEFAULT-VALUE}).") int tokenizerMb;
    @Mixin BatchOptions shape = new BatchOptions(256, 4, 8);
    @Option(names = "--lr", defaultValue = "2e-3", description = "Peak learning rate (default ${DEFAULT-VALUE}).") double lr;
    @Option(names = "--seed", defaultValue = "1", description = "Seed of everything (default ${DEFAULT-VALUE}).") long seed;
    @Option(names = "--steps", description = "Train exactly this many steps instead of fitting --minutes.") Long steps;
    @Option(names = "--no-progress", description = "No progress bars.") boolean noProgress;

    private static Path jdkSourceZip() {
        Path z = Path.of(System.getProperty("java.home"), "lib", "src.zip");
        if (!Files.isRegularFile(z))
            throw new UserException("this JDK has no lib/src.zip (" + z + "); install a full JDK (e.g. Temurin 25) or use the individual commands on your own corpus");
        return z;
    }

    /** Prints the stage and the equivalent command line (each stage is an ordinary command the user can run). */
    private static void stage(String stage, String command) { System.err.println("== " + stage + ": jseek " + command); }

    private static String flag(boolean on, String flag) { return on ? " " + flag : ""; }

    @Override public Integer call() throws IOException {
        if (minutes <= 0 && steps == null) throw new UserException("--minutes must be > 0");
        Files.createDirectories(out);
        Path zip = jdkSourceZip();
        long t0 = System.nanoTime();

        Path tokFile = out.resolve("tokenizer.json");
        if (Files.isRegularFile(tokFile)) System.err.println("== tokenizer: reusing " + tokFile);
        else {
            stage("tokenizer", "tokenizer train --corpus " + zip + " --include *.java --max-mb " + tokenizerMb + " --vocab-size " + vocab
                    + " --out " + tokFile + flag(noProgress, "--no-progress"));
            TokenizerCommand.Train.train(zip, "*.java", (double) tokenizerMb, vocab, TokenizerCommand.Train.MIN_FREQUENCY, null, tokFile, noProgress);
        }

        Path data = out.resolve("data");
        stage("data", "data prepare --corpus jdk:" + zip + " --tokenizer " + tokFile + " --out " + data + " --seed " + seed + flag(noProgress, "--no-progress"));
        DataPrepareCommand.prepare("jdk:" + zip, tokFile.toString(), data, DataPrepareCommand.VAL_FRACTION, DataPrepareCommand.FIM_RATE, seed,
                DataPrepareCommand.SHARD_TOKENS, null, noProgress);

        ModelConfig cfg = ConfigEdits.withVocabSize(Presets.get(preset), Tokenizer.load(tokFile).vocabSize());
        Path cfgFile = out.resolve("config.json");
        cfg.save(cfgFile);
        Path run = out.resolve("run");
        Files.createDirectories(run);
        Files.copy(tokFile, run.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
        boolean resume = !TrainCheckpoint.list(run).isEmpty();
        long n = steps != null ? steps : resume ? previousSteps(run) : calibrateSteps(cfg);
        PrintWriter stdout = new PrintWriter(System.out, true), stderr = new PrintWriter(System.err, true);
        TrainCommand train = TrainCommand.withDefaults(stdout, stderr);
        train.data = data;
        train.run.out = run;
        train.config = cfgFile;
        train.steps = n;
        train.shape = shape;
        train.schedules.lrPeak = lr;
        train.schedules.warmup = Math.max(1, Math.min(100, n / 10));
        train.run.seed = seed;
        train.run.checkpoints.every = Math.max(1, n / 5);
        train.run.checkpoints.keep = 2;
        train.run.resume = "auto"; // the newest checkpoint, or a new run (also after a run killed before its first checkpoint)
        train.run.noProgress = noProgress;
        stage("train", "train --data " + data + " --out " + run + " --config " + cfgFile + " --steps " + n + " --seq-len " + shape.seqLen
                + " --micro-batch " + shape.micro + " --batch " + shape.batch + " --lr " + lr + " --warmup-steps " + train.schedules.warmup + " --seed " + seed
                + " --checkpoint-every " + train.run.checkpoints.every + " --keep 2 --resume=auto" + flag(noProgress, "--no-progress"));
        train.call();
        stdout.flush();
        Files.writeString(run.resolve("quickstart-steps.txt"), n + "\n");

        Path ckpt = TrainCheckpoint.latest(run);
        if (ckpt == null) throw new UserException("no checkpoint in " + run);
        System.out.println();
        System.out.println("== the trained model: " + ckpt);
        demo(ckpt, Tokenizer.load(tokFile), System.out);
        EvalCommand.scorecard(ckpt, data, out.resolve("eval"));
        System.out.printf("%nquickstart done in %.1f min. Try: ./jseek generate --model %s --prompt 'public static int ' -n 40%n",
                (System.nanoTime() - t0) / 60e9, ckpt);
        return 0;
    }

    /** Steps that fit the time budget: the fastest of several warm forward/backward passes of the real shape; keeps 90% of the budget. */
    private long calibrateSteps(ModelConfig cfg) {
        TrainModel m = new TrainModel(cfg, shape.micro, shape.seqLen);
        m.initRandom(seed, 0.006f);
        SplittableRandom r = new SplittableRandom(seed);
        int[] tok = new int[shape.micro * shape.seqLen], tgt = new int[shape.micro * shape.seqLen];
        for (int i = 0; i < tok.length; i++) { tok[i] = r.nextInt(cfg.vocabSize()); tgt[i] = r.nextInt(cfg.vocabSize()); }
        long best = Long.MAX_VALUE, start = System.nanoTime();
        // until the JIT has compiled the step: at least 6 passes and 10 s (at most 20 passes)
        for (int i = 0; i < 20 && (i < 6 || System.nanoTime() - start < 10_000_000_000L); i++) {
            long t = System.nanoTime();
            m.zeroGrad();
            m.forwardBackward(tok, tgt, shape.micro, shape.seqLen);
            best = Math.min(best, System.nanoTime() - t);
        }
        double stepSeconds = best / 1e9 * (shape.batch / (double) shape.micro) * 1.05;
        long n = Math.max(10, (long) (minutes * 60 * 0.9 / stepSeconds));
        System.err.printf("== calibration: %.2f s per step of %d x %d tokens -> %d steps in %.1f min%n", stepSeconds, shape.batch, shape.seqLen, n, minutes);
        return n;
    }

    private long previousSteps(Path run) throws IOException {
        Path f = run.resolve("quickstart-steps.txt");
        if (Files.isRegularFile(f)) return Long.parseLong(Files.readString(f).strip());
        return calibrateSteps(ModelConfig.load(out.resolve("config.json")));
    }

    /** A completion and a fill-in-the-middle infill of Java code, greedy, streamed. */
    static void demo(Path ckpt, Tokenizer tok, PrintStream out) {
        try (DeepSeekV3 m = ModelSource.open(ckpt)) {
            Generator g = new Generator(m, AttnMode.ABSORB);
            int[] stop = {tok.eosId()};
            String prompt = "    public static int max(int a, int b) {\n";
            out.println("-- completion (greedy):");
            out.print(prompt);
            int[] ids = Prompts.startingWith(tok.eosId(), tok.encode(prompt));
            stream(g, ids, 60, stop, tok, out);
            String prefix = "    public int size() {\n        return ";
            String suffix = ";\n    }\n";
            out.println();
            out.println("-- fill-in-the-middle (PSM; the model writes what goes in <HOLE>):");
            out.print(prefix + "<HOLE>" + suffix);
            out.print("<HOLE> = ");
            stream(g, GenerateCommand.fimPrompt(tok, prefix, suffix), 24, stop, tok, out);
            out.println();
        }
    }

    private static void stream(Generator g, int[] ids, int n, int[] stop, Tokenizer tok, PrintStream out) {
        StreamingDecoder d = tok.streamingDecoder(true);
        g.generate(ids, n, Sampler.greedy(), stop, id -> out.print(d.next(id)));
        out.print(d.flush());
        out.flush();
    }
}
